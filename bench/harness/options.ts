/**
 * What one run of the harness measures: the full sizes and counts, or the smoke sizes CI runs
 * (BENCH_SMOKE=1 or --smoke) so the harness keeps working without taking minutes.
 */
import { tmpdir } from 'node:os';
import path from 'node:path';

const MiB = 1024 * 1024;

export interface BenchOptions {
  smoke: boolean;
  streaming: { sizesBytes: number[]; warmups: number; runs: (sizeBytes: number) => number };
  requestOverhead: { requests: number; warmupRequests: number; runs: number };
  coldStart: { warmups: number; runs: number };
  /** `concurrency: 0` skips the local stack (BENCH_SKIP_STACK=1). */
  race: { concurrency: number; runs: number };
  hostileArchives: { runs: number };
  /** Where results.json and BENCHMARKS.md go; smoke output never overwrites the committed figures. */
  out: { resultsJson: string; markdown: string };
}

const root = path.resolve(__dirname, '../..');

function isSet(value: string | undefined): boolean {
  return value !== undefined && value !== '' && value !== '0' && value.toLowerCase() !== 'false';
}

export function benchOptions(argv: string[], env: NodeJS.ProcessEnv): BenchOptions {
  const smoke = argv.includes('--smoke') || isSet(env.BENCH_SMOKE);
  const skipStack = argv.includes('--skip-stack') || isSet(env.BENCH_SKIP_STACK);
  if (smoke) {
    const outDir = env.BENCH_OUT_DIR ?? path.join(tmpdir(), 'bkpaas-bench-smoke');
    return {
      smoke,
      streaming: { sizesBytes: [4 * MiB, 16 * MiB], warmups: 1, runs: () => 2 },
      requestOverhead: { requests: 1_000, warmupRequests: 200, runs: 2 },
      coldStart: { warmups: 1, runs: 2 },
      race: { concurrency: skipStack ? 0 : 4, runs: 1 },
      hostileArchives: { runs: 2 },
      out: { resultsJson: path.join(outDir, 'results.json'), markdown: path.join(outDir, 'BENCHMARKS.md') },
    };
  }
  const outDir = env.BENCH_OUT_DIR;
  return {
    smoke,
    // Three sizes; the 1 GiB runs take ~15 s each, so they get fewer repetitions.
    streaming: { sizesBytes: [64 * MiB, 256 * MiB, 1024 * MiB], warmups: 1, runs: (size) => (size >= 1024 * MiB ? 3 : 5) },
    requestOverhead: { requests: 10_000, warmupRequests: 2_000, runs: 5 },
    coldStart: { warmups: 2, runs: 15 },
    race: { concurrency: skipStack ? 0 : 64, runs: 3 },
    hostileArchives: { runs: 5 },
    out: {
      resultsJson: path.join(outDir ?? path.join(root, 'bench'), 'results.json'),
      markdown: path.join(outDir ?? root, 'BENCHMARKS.md'),
    },
  };
}
