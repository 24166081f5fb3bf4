/**
 * A warm container: the handler's first job in this process runs unmeasured, then a second job,
 * the event given, is measured as bench/worker-process.ts measures its one. The difference is what
 * a fresh process pays once (bench/TUNING.md: compiling the code paths a job takes, first touches
 * of memory). With BENCH_JOB_WINDOWS set, both jobs' CLOCK_MONOTONIC windows (seconds) are written
 * to that file, for bench/profile.ts --first-job to split a perf recording by job.
 */
import { writeFileSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';
import { createFetchHandler } from '../handlers/fetch';
import { createDynamoDbClient, createS3Client } from '../lib/core/aws-clients';
import { loadConfig } from '../lib/core/config';
import { measureJob, runMain } from './streaming/measure-job';

const seconds = (): number => Number(process.hrtime.bigint()) / 1e9;

if (isMainThread) {
  runMain(async () => {
    const config = loadConfig();
    const handler = createFetchHandler({
      config,
      s3: createS3Client(config),
      dynamodb: createDynamoDbClient(config),
      now: () => new Date(),
    });
    const event = JSON.parse(process.argv[2] ?? '{}') as { request_id: string; version: string };
    const context = { awsRequestId: 'bench', getRemainingTimeInMillis: () => 900_000 };
    // The first job: the same archive under its own request id and version, so the second is new.
    const firstStarted = seconds();
    const first = await handler({ ...event, request_id: `${event.request_id}-first`, version: `${event.version}-first` }, context);
    const firstEnded = seconds();
    if ((first as { state?: string }).state !== 'succeeded') throw new Error(`the first job did not succeed: ${JSON.stringify(first)}`);
    let secondStarted = 0;
    await measureJob(async () => {
      secondStarted = seconds();
      return { result: await handler(event, context) };
    });
    const windows = process.env.BENCH_JOB_WINDOWS;
    if (windows) writeFileSync(windows, JSON.stringify([firstStarted, firstEnded, secondStarted, seconds()]));
  });
}
