/**
 * Child process: the DynamoDB and S3 emulators (scripts/local-emulators.ts) with the bench's
 * table and bucket, data under BENCH_EMULATOR_DIR. Prints their endpoints when ready;
 * SIGTERM stops them. A process of its own, so its CPU is not counted as the worker's.
 */
import { ensureResources, startEmulators } from '../../scripts/local-emulators';
import { jobsTableSpec, tokensTableSpec, versionsTableSpec } from '../../scripts/local-tables';
import { BENCH_BUCKET, BENCH_JOBS_TABLE, BENCH_TABLE, BENCH_TOKENS_TABLE, type EmulatorInfo } from './stream-env';
import { exitWithParent } from '../harness/child-process';

async function main(): Promise<void> {
  exitWithParent();
  const dataDir = process.env.BENCH_EMULATOR_DIR;
  if (!dataDir) throw new Error('BENCH_EMULATOR_DIR is required');
  const emulators = await startEmulators({ dataDir, dynamodbPort: 0, s3Port: 0 });
  await ensureResources({
    ...emulators,
    tables: [versionsTableSpec(BENCH_TABLE), tokensTableSpec(BENCH_TOKENS_TABLE), jobsTableSpec(BENCH_JOBS_TABLE)],
    buckets: [BENCH_BUCKET],
  });
  const info: EmulatorInfo = {
    dynamodbEndpoint: emulators.dynamodbEndpoint,
    s3Endpoint: emulators.s3Endpoint,
    s3DataDir: emulators.s3DataDir,
  };
  process.stdout.write(JSON.stringify(info) + '\n');
  process.once('SIGTERM', () => void emulators.close().then(() => process.exit(0)));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
