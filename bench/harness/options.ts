/**
 * What one run of the harness measures: the full sizes and counts, or the smoke sizes CI runs
 * (BENCH_SMOKE=1 or --smoke) so the harness keeps working without taking minutes.
 */
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ArchiveKind, Scenario, Variant } from '../streaming/streaming-bench';

const MiB = 1024 * 1024;

export interface BenchOptions {
  smoke: boolean;
  streaming: { scenarios: Scenario[]; archiveCache?: string; instructionCounts?: { smallBytes: number; largeBytes: number } };
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

/**
 * The floor's primitives and the worker into the sink, taking turns: the CPU target's ratio is
 * taken per turn. (s3rver and the classic are timed where a target reads them, so the full run
 * keeps within 25 minutes.)
 */
const CPU_VARIANTS: Variant[] = ['read', 'download', 'sha256', 'gunzip', 'list', 'upload', 'worker'];
/** At a throttled rate: the worker, and in the same turns the three its wall bound is the largest of. */
const RATE_VARIANTS: Variant[] = ['download', 'list', 'upload', 'worker'];
/** Where the fair classic is held against the worker (both into s3rver). */
const CLASSIC_AT: { archive: ArchiveKind; rateMiBs: number } = { archive: 'source', rateMiBs: 50 };
/** The memory targets compare the worker's peak at the smallest and largest sizes, into s3rver. */
const SIZE_VARIANTS: Variant[] = ['worker-s3rver'];
const ARCHIVES: ArchiveKind[] = ['random', 'source'];

interface Turns {
  cpu: number;
  rate: number;
  smallest: number;
  largest: number;
}

/**
 * The streaming scenarios: per archive, the CPU scenario at `middle` (floor and worker), the
 * same at each rate, then the worker alone at the smallest and largest sizes (peak RSS).
 */
function streamingScenarios(sizes: { smallest: number; middle: number; largest: number }, rates: number[], turns: Turns): Scenario[] {
  const scenarios: Scenario[] = [];
  for (const archive of ARCHIVES) {
    scenarios.push({ archive, sizeBytes: sizes.middle, variants: CPU_VARIANTS, runs: turns.cpu, warmups: 1 });
    for (const rateMiBs of rates) {
      const classic = archive === CLASSIC_AT.archive && rateMiBs === CLASSIC_AT.rateMiBs;
      const variants: Variant[] = classic ? [...RATE_VARIANTS, 'worker-s3rver', 'classic-s3rver'] : RATE_VARIANTS;
      scenarios.push({ archive, sizeBytes: sizes.middle, rateMiBs, variants, runs: turns.rate, warmups: 1 });
    }
    scenarios.push({ archive, sizeBytes: sizes.smallest, variants: SIZE_VARIANTS, runs: turns.smallest, warmups: 1 });
    // At the largest size the runs take half a minute each: the smaller sizes have warmed the caches.
    scenarios.push({ archive, sizeBytes: sizes.largest, variants: SIZE_VARIANTS, runs: turns.largest, warmups: 0 });
  }
  return scenarios;
}

/** The value after `name` in a script's arguments (`--size 256`); none when `name` is not given. */
export function option(args: string[], name: string): string | undefined {
  const at = args.indexOf(name);
  return at === -1 ? undefined : args[at + 1];
}

/** A smoke run: `--smoke` or BENCH_SMOKE set. */
export function isSmoke(argv: string[], env: NodeJS.ProcessEnv): boolean {
  return argv.includes('--smoke') || isSet(env.BENCH_SMOKE);
}

export function benchOptions(argv: string[], env: NodeJS.ProcessEnv): BenchOptions {
  const smoke = isSmoke(argv, env);
  const skipStack = argv.includes('--skip-stack') || isSet(env.BENCH_SKIP_STACK);
  if (smoke) {
    // bench/run.ts hands smoke runs a temporary BENCH_OUT_DIR; the fallback is for other callers.
    const outDir = env.BENCH_OUT_DIR ?? path.join(tmpdir(), 'bkpaas-bench-smoke');
    return {
      smoke,
      streaming: {
        scenarios: streamingScenarios({ smallest: 2 * MiB, middle: 4 * MiB, largest: 16 * MiB }, [50], { cpu: 2, rate: 2, smallest: 2, largest: 2 }),
        archiveCache: env.BENCH_ARCHIVE_CACHE || undefined,
      },
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
    // The 1 GiB runs take 25–40 s each, so they get fewer repetitions; the CPU scenario, whose
    // ratio judges the main target, the most.
    streaming: {
      scenarios: streamingScenarios({ smallest: 64 * MiB, middle: 256 * MiB, largest: 1024 * MiB }, [50, 200], { cpu: 7, rate: 6, smallest: 5, largest: 3 }),
      instructionCounts: { smallBytes: 2 * MiB, largeBytes: 4 * MiB },
      archiveCache: env.BENCH_ARCHIVE_CACHE || undefined,
    },
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
