/**
 * Re-submits the fetch worker's failed asynchronous events: `npm run redrive -- --stage stag
 * [--max 100] [--dry-run]`. Uses the AWS SDK's usual credentials and AWS_REGION; the queue is
 * `bkpaas-source-package-link-<stage>-fetch-failures` (FETCH_FAILURES_QUEUE_URL overrides).
 * The local stack has no SQS: serverless-offline does not emulate on-failure destinations.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { parseArgs } from 'node:util';
import { createLogger } from '../lib/logger';
import { redrive } from '../lib/redrive';

const SERVICE = 'bkpaas-source-package-link';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { stage: { type: 'string' }, max: { type: 'string' }, 'dry-run': { type: 'boolean' } },
  });
  const stage = values.stage ?? process.env.STAGE;
  if (!stage || stage === 'local') {
    console.error('usage: npm run redrive -- --stage STAGE [--max N] [--dry-run]   (not for the local stack: it has no SQS)');
    process.exit(2);
  }
  const max = Number(values.max ?? 100);
  if (!Number.isInteger(max) || max < 1) {
    console.error('--max must be a positive whole number.');
    process.exit(2);
  }
  const region = process.env.AWS_REGION ?? 'us-east-1';
  const sqs = new SQSClient({ region });
  const queueUrl =
    process.env.FETCH_FAILURES_QUEUE_URL ??
    (await sqs.send(new GetQueueUrlCommand({ QueueName: `${SERVICE}-${stage}-fetch-failures` }))).QueueUrl ??
    '';
  const report = await redrive(
    {
      sqs,
      lambda: new LambdaClient({ region, maxAttempts: 3 }),
      jobs: { dynamodb: new DynamoDBClient({ region }), table: `${SERVICE}-${stage}-jobs`, ttlSeconds: 7 * 24 * 3600, now: () => new Date() },
      queueUrl,
      functionName: `${SERVICE}-${stage}-fetch`,
      log: createLogger({ tool: 'redrive', stage }),
    },
    { max, dryRun: values['dry-run'] === true },
  );
  console.log(JSON.stringify(report, null, 2));
}

main().catch((error: unknown) => {
  console.error('redrive:', error instanceof Error ? error.message : error);
  process.exit(1);
});
