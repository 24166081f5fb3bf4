/**
 * Part 5: CPU time to judge the archive shapes that stalled the old checks, in a
 * child process of its own (judge-process.ts) with the worker's default limits.
 */
import path from 'node:path';
import { runJsonJob } from '../harness/child-process';
import { HANDLER_ENV } from '../harness/handler-env';
import type { HostileOutput } from './judge-process';

const root = path.resolve(__dirname, '../..');

export function runHostileBench(settings: { runs: number }): Promise<HostileOutput> {
  return runJsonJob<HostileOutput>(['--import', 'tsx', path.join(__dirname, 'judge-process.ts')], {
    cwd: root,
    env: { PATH: process.env.PATH, ...HANDLER_ENV, BENCH_RUNS: String(settings.runs) },
  });
}
