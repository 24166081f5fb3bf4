/**
 * One worker invocation in a process of its own, so its peak RSS and CPU time are the
 * worker's alone. Reads the event from argv, the configuration from the environment.
 */
import { createFetchHandler } from '../handlers/fetch';
import { createDynamoDbClient, createS3Client } from '../lib/aws-clients';
import { loadConfig } from '../lib/config';

async function main(): Promise<void> {
  const config = loadConfig();
  const handler = createFetchHandler({
    config,
    s3: createS3Client(config),
    dynamodb: createDynamoDbClient(config),
    now: () => new Date(),
  });
  const started = process.hrtime.bigint();
  const result = await handler(JSON.parse(process.argv[2] ?? '{}'), {
    awsRequestId: 'bench',
    getRemainingTimeInMillis: () => 900_000,
  });
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  const usage = process.resourceUsage();
  process.stdout.write(
    JSON.stringify({
      result,
      wall_ms: wallMs,
      cpu_ms: (usage.userCPUTime + usage.systemCPUTime) / 1000,
      max_rss_kib: usage.maxRSS,
    }) + '\n',
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
