/**
 * `npm run bench` (tsx bench/run.ts; `--help` for the flags): the benchmarks — streaming, request overhead,
 * cold start, race and load — and the hostile archives, then a table on the console, bench/results.json and
 * BENCHMARKS.md. `--smoke` (or BENCH_SMOKE=1) runs small sizes and few runs, writes to a
 * temporary directory (BENCH_OUT_DIR to choose) and leaves the committed figures alone.
 * `--skip-stack` (or BENCH_SKIP_STACK=1) leaves out the local-stack race.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../lib/core/config';
import { runColdStartBench } from './cold-start/cold-start-bench';
import { runHostileBench } from './hostile-archives/hostile-bench';
import { consoleReport } from './harness/console-report';
import { evaluateTargets } from './harness/evaluate-targets';
import { HANDLER_ENV } from './harness/handler-env';
import { describeMachine } from './harness/machine';
import { markdownReport } from './harness/markdown-report';
import { benchOptions, isSmoke } from './harness/options';
import type { BenchResults } from './harness/results';
import { runRaceBench } from './race/race-bench';
import { runOverheadBench } from './request-overhead/overhead-bench';
import { runStreamingBench } from './streaming/streaming-bench';

const log = (line: string): void => console.log(line);

const USAGE = `Usage: npm run bench [-- --smoke] [-- --skip-stack] [-- --report <results.json>]

  (no flag)     the full run (about 15 minutes on 2 cores; the instruction counts need valgrind): rewrites BENCHMARKS.md and bench/results.json
  --smoke       small sizes, two runs each (what CI runs, about 2 minutes); writes to BENCH_OUT_DIR,
                or to a temporary directory it removes after printing the report
  --skip-stack  leave out the race against the local stack
  --report <results.json>
                measure nothing: write BENCHMARKS.md again from a run's results (after bench/TUNING.md changed)
  --help        this text

Environment: BENCH_SMOKE=1, BENCH_SKIP_STACK=1, BENCH_OUT_DIR, BENCH_ARCHIVE_CACHE (reuse generated
archives), UPLOAD_PART_BYTES / UPLOAD_QUEUE_SIZE (the worker's upload settings).
See bench/TUNING.md for the paired before/after runs (bench/compare.ts).`;

/** The part and queue sizes the worker and the baselines will read from lib/core/config.ts. */
function uploadSettings(): BenchResults['uploadSettings'] {
  const config = loadConfig({
    ...HANDLER_ENV,
    UPLOAD_PART_BYTES: process.env.UPLOAD_PART_BYTES,
    UPLOAD_QUEUE_SIZE: process.env.UPLOAD_QUEUE_SIZE,
  });
  return { partBytes: config.uploadPartBytes, queueSize: config.uploadQueueSize };
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(USAGE);
    return;
  }
  const report = argv.indexOf('--report');
  if (report !== -1) {
    const resultsFile = argv[report + 1] ?? path.join(__dirname, 'results.json');
    const stored = JSON.parse(readFileSync(resultsFile, 'utf8')) as BenchResults;
    // The targets are judged again from the stored figures, so a changed bound shows without a new run.
    const results: BenchResults = { ...stored, targets: evaluateTargets(stored) };
    const markdown = benchOptions([], process.env).out.markdown;
    writeFileSync(resultsFile, JSON.stringify(results, null, 2) + '\n');
    mkdirSync(path.dirname(markdown), { recursive: true });
    writeFileSync(markdown, markdownReport(results));
    log(`wrote ${markdown} and ${resultsFile}'s targets from its figures`);
    return;
  }
  const unknown = argv.filter((arg) => !['--smoke', '--skip-stack'].includes(arg));
  if (unknown.length > 0) {
    console.error(`bench: unknown argument ${unknown.join(' ')}\n\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  // Smoke output nobody asked to keep goes to a temporary directory removed at the end.
  const scratchOut = isSmoke(argv, process.env) && !process.env.BENCH_OUT_DIR
    ? mkdtempSync(path.join(tmpdir(), 'bkpaas-bench-smoke-'))
    : undefined;
  try {
    await runBench(argv, scratchOut);
  } finally {
    if (scratchOut) rmSync(scratchOut, { recursive: true, force: true });
  }
}


async function runBench(argv: string[], scratchOut: string | undefined): Promise<void> {
  const options = benchOptions(argv, scratchOut ? { ...process.env, BENCH_OUT_DIR: scratchOut } : process.env);
  const started = Date.now();
  const flags = `${options.smoke ? ' --smoke' : ''}${options.race.concurrency === 0 ? ' --skip-stack' : ''}`;
  log(`bench: ${options.smoke ? 'smoke' : 'full'} mode`);

  log('1/5 streaming');
  const { scenarios: streaming, instructions } = await runStreamingBench({ ...options.streaming, log });
  log('2/5 request overhead');
  const requestOverhead = await runOverheadBench(options.requestOverhead);
  log('3/5 cold start');
  const coldStart = await runColdStartBench(options.coldStart);
  log(options.race.concurrency > 0 ? '4/5 race and load' : '4/5 race and load: skipped');
  const race = options.race.concurrency > 0 ? await runRaceBench({ ...options.race, log }) : undefined;
  log('5/5 hostile archives');
  const hostileArchives = await runHostileBench(options.hostileArchives);

  const results: BenchResults = {
    generatedAt: new Date().toISOString(),
    mode: options.smoke ? 'smoke' : 'full',
    durationS: (Date.now() - started) / 1000,
    machine: describeMachine(),
    commands: ['npm ci', `npx tsx bench/run.ts${flags}    # npm run bench`, 'npx tsx bench/run.ts --smoke   # what CI runs'],
    uploadSettings: uploadSettings(),
    streaming,
    ...(instructions ? { instructions } : {}),
    requestOverhead,
    coldStart,
    race,
    hostileArchives,
    targets: evaluateTargets({ streaming, coldStart, race, hostileArchives }),
  };

  for (const file of [options.out.resultsJson, options.out.markdown]) mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(options.out.resultsJson, JSON.stringify(results, null, 2) + '\n');
  writeFileSync(options.out.markdown, markdownReport(results));
  log(consoleReport(results));
  log(scratchOut
    ? `\nsmoke run done in ${results.durationS.toFixed(0)} s (its files were temporary: set BENCH_OUT_DIR to keep them)`
    : `\nwrote ${options.out.resultsJson} and ${options.out.markdown} (${results.durationS.toFixed(0)} s)`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
