/**
 * Part 2: `link`'s own work per request against busboy parsing the same body alone, measured
 * in a child process (overhead-process.ts) with the environment the handler module expects.
 */
import path from 'node:path';
import { runJsonJob } from '../harness/child-process';
import { HANDLER_ENV } from '../harness/handler-env';
import type { OverheadOutput } from './overhead-process';

const root = path.resolve(__dirname, '../..');

export function runOverheadBench(settings: { requests: number; warmupRequests: number; runs: number }): Promise<OverheadOutput> {
  return runJsonJob<OverheadOutput>(['--import', 'tsx', path.join(__dirname, 'overhead-process.ts')], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      ...HANDLER_ENV,
      // Info lines would be 20,000 writes to the terminal; warn keeps the loop on link's own work.
      LOG_LEVEL: 'warn',
      BENCH_REQUESTS: String(settings.requests),
      BENCH_WARMUP_REQUESTS: String(settings.warmupRequests),
      BENCH_RUNS: String(settings.runs),
    },
  });
}
