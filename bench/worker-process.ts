/**
 * One worker invocation in a process of its own, so its peak RSS and CPU time are the
 * worker's alone. Bundled like the Lambda (bench/harness/bundle.ts): a tiny entry calling
 * createFetchHandler with the clients the handler module builds at cold start. Reads the
 * event from argv, the configuration from the environment.
 *
 * With BENCH_WARM_FIRST_JOB=1 it is a warm container instead: the handler's first job in this
 * process, the same archive under its own request id and version, runs unmeasured, then the
 * event's job is measured. The difference is what a fresh process pays once (bench/TUNING.md:
 * compiling the code paths a job takes, first touches of memory). With BENCH_JOB_WINDOWS set, the
 * jobs' CLOCK_MONOTONIC windows (seconds, start and end of each) are written to that file, for
 * bench/profile.ts --first-job to split a perf recording by job.
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
    const windows: number[] = [];
    if (process.env.BENCH_WARM_FIRST_JOB === '1') {
      windows.push(seconds());
      const first = await handler({ ...event, request_id: `${event.request_id}-first`, version: `${event.version}-first` }, context);
      windows.push(seconds());
      if ((first as { state?: string }).state !== 'succeeded') throw new Error(`the first job did not succeed: ${JSON.stringify(first)}`);
    }
    await measureJob(async () => {
      windows.push(seconds());
      return { result: await handler(event, context) };
    });
    const file = process.env.BENCH_JOB_WINDOWS;
    if (file) writeFileSync(file, JSON.stringify([...windows, seconds()]));
  });
}
