/**
 * Re-submits the fetch worker's failed asynchronous events: `npm run redrive -- --stage S
 * [--region R] [--max 100] [--dry-run]`. On AWS it uses the SDK's usual credentials in the region
 * a deploy of the stage takes (--region, else AWS_REGION from the shell or `.env.<stage>`); with
 * `--stage local` it drains the local stack's queue (SQS_PORT, LAMBDA_PORT, DYNAMODB_PORT).
 * The queue is `bkpaas-source-package-link-<stage>-fetch-failures` (FETCH_FAILURES_QUEUE_URL overrides).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { optionsOrExit } from './command-line';
import { createLogger } from '../lib/core/logger';
import { redrive } from '../lib/use-cases/redrive';
import { explainFailure, nameFailures, type CallTarget } from './aws-failure';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from './local-emulators';
import { regionFor } from './deploy/settings';
import { SERVICE } from './local-aws/packaging';

const USAGE = `usage: npm run redrive -- --stage STAGE [--region REGION] [--max N] [--dry-run]

Re-submits the asynchronous worker events waiting in the stage's on-failure queue
(${SERVICE}-STAGE-fetch-failures): each job is reopened unless it succeeded meanwhile, and its
event invoked again. --stage local drains the local stack's queue (SQS_PORT, LAMBDA_PORT,
DYNAMODB_PORT); other stages use the AWS SDK's credentials.
  --region R   the stage's region, as deploy takes it (else AWS_REGION from the shell or
               .env.STAGE, else us-east-1)
  --max N      handle at most N messages (100)
  --dry-run    list what would be re-submitted (wouldResubmit); change nothing: every
               message it read is made visible in the queue again`;

/** What the tool works on, for a failure's one line: the queue, unless the failed call's client names its own. */
let target: CallTarget | undefined;

function localPort(name: string, fallback: number): string {
  return `http://127.0.0.1:${process.env[name] || fallback}`;
}

async function main(): Promise<void> {
  const values = optionsOrExit(
    { stage: { type: 'string' }, region: { type: 'string' }, max: { type: 'string' }, 'dry-run': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    USAGE,
  );
  if (!values) return;
  const stage = values.stage ?? process.env.STAGE;
  if (!stage) {
    console.error(USAGE);
    process.exit(2);
  }
  const max = Number(values.max ?? 100);
  if (!Number.isInteger(max) || max < 1) {
    console.error('--max must be a positive whole number.');
    process.exit(2);
  }
  const dryRun = values['dry-run'] === true;
  const local = stage === 'local';
  const region = local ? LOCAL_REGION : regionFor(stage, values.region);
  const base = local ? { region, credentials: LOCAL_CREDENTIALS } : { region };
  const endpoints = local
    ? { sqs: localPort('SQS_PORT', 4569), lambda: localPort('LAMBDA_PORT', 3002), dynamodb: localPort('DYNAMODB_PORT', 4567) }
    : { sqs: undefined, lambda: undefined, dynamodb: undefined };
  const targetOf = (service: string, resource: string, endpoint: string | undefined): CallTarget => ({ service, resource, stage, region, ...(endpoint ? { endpoint } : {}) });
  const table = `${SERVICE}-${stage}-jobs`;
  const functionName = `${SERVICE}-${stage}-fetch`;
  target = targetOf('SQS', `The queue ${SERVICE}-${stage}-fetch-failures`, endpoints.sqs);
  const sqs = new SQSClient({ ...base, ...(endpoints.sqs ? { endpoint: endpoints.sqs } : {}) });
  const lambda = new LambdaClient({ ...base, maxAttempts: 3, ...(endpoints.lambda ? { endpoint: endpoints.lambda } : {}) });
  const dynamodb = new DynamoDBClient({ ...base, ...(endpoints.dynamodb ? { endpoint: endpoints.dynamodb } : {}) });
  nameFailures(sqs.middlewareStack, target);
  nameFailures(lambda.middlewareStack, targetOf('Lambda', `The function ${functionName}`, endpoints.lambda));
  nameFailures(dynamodb.middlewareStack, targetOf('DynamoDB', `The table ${table}`, endpoints.dynamodb));
  const queueUrl =
    process.env.FETCH_FAILURES_QUEUE_URL ??
    (await sqs.send(new GetQueueUrlCommand({ QueueName: `${SERVICE}-${stage}-fetch-failures` }))).QueueUrl ??
    '';
  const report = await redrive(
    {
      sqs,
      lambda,
      jobs: {
        dynamodb,
        table,
        ttlSeconds: 7 * 24 * 3600,
        now: () => new Date(),
      },
      queueUrl,
      functionName,
      log: createLogger({ tool: 'redrive', stage }),
    },
    { max, dryRun },
  );
  // Each run shows only its own list: a dry run re-submits nothing, a real run has nothing "would".
  const { resubmitted, wouldResubmit, ...rest } = report;
  console.log(JSON.stringify(dryRun ? { wouldResubmit, ...rest } : { resubmitted, ...rest }, null, 2));
  if (dryRun) console.error('Dry run: nothing was re-submitted; every message is visible in the queue again.');
}

main().catch((error: unknown) => {
  const explained = target && explainFailure(error, target);
  console.error('redrive:', explained ?? (error instanceof Error ? error.message : error));
  process.exit(1);
});
