/**
 * One worker invocation in a process of its own, so its peak RSS and CPU time are the
 * worker's alone. Bundled like the Lambda (bench/harness/bundle.ts): a tiny entry calling
 * createFetchHandler with the clients the handler module builds at cold start. Reads the
 * event from argv, the configuration from the environment.
 */
import { isMainThread } from 'node:worker_threads';
import { createFetchHandler } from '../handlers/fetch';
import { createDynamoDbClient, createS3Client } from '../lib/core/aws-clients';
import { loadConfig } from '../lib/core/config';
import { measureJob, runMain } from './streaming/measure-job';

if (isMainThread) {
  runMain(async () => {
    const config = loadConfig();
    const handler = createFetchHandler({
      config,
      s3: createS3Client(config),
      dynamodb: createDynamoDbClient(config),
      now: () => new Date(),
    });
    const event: unknown = JSON.parse(process.argv[2] ?? '{}');
    await measureJob(async () => ({
      result: await handler(event, { awsRequestId: 'bench', getRemainingTimeInMillis: () => 900_000 }),
    }));
  });
}
