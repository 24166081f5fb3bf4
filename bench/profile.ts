/**
 * Where the worker's CPU goes, against the honest floor's pieces (bench/TUNING.md keeps the
 * write-up):
 *
 *   npx tsx bench/profile.ts [--size 256] [--archives random,source]
 *
 * The worker (into the sink) and each floor piece run once, from unminified bundles (so a JIT
 * frame's line names its module), under `perf record -e cpu-clock -c 1000000` with Node's
 * `--perf-basic-prof`: one sample per millisecond of CPU on any thread — the main thread's
 * JavaScript by module, zlib and SHA-256 natively, V8's garbage collection and compilers on their
 * own threads, the kernel. The floor's groups are summed as its CPU is (bench/harness/floor.ts),
 * so each group's worker − floor is its share of the gap. A last worker run preloads
 * streaming/copy-counter.ts to count the bytes JavaScript copies per byte downloaded.
 *
 *   npx tsx bench/profile.ts --first-job [--size 256] [--archives random] [--runs 3]
 *
 * instead records a warm container (bench/worker-process.ts with BENCH_WARM_FIRST_JOB=1: two jobs
 * in one process) and splits its samples by job, so each group's first − second job is what a fresh process pays once.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import { bundle, SERVERLESS_ESBUILD_OPTIONS } from './harness/bundle';
import { option } from './harness/options';
import { archiveFor, type ArchiveKind, type BenchArchive } from './streaming/bench-archives';
import { runMain } from './streaming/measure-job';
import { runVariant, withStage, type Stage } from './streaming/streaming-bench';

const root = path.resolve(__dirname, '..');
const MiB = 1024 * 1024;

const GROUPED_PIECES = ['worker', 'download', 'sha256', 'list', 'upload', 'read'] as const;
type Piece = (typeof GROUPED_PIECES)[number];

interface PlainBundle {
  file: string;
  /** Where each module starts: esbuild writes a `// path` line before it when not minifying. */
  modules: { line: number; name: string }[];
}

/** The bundle unminified, so every function keeps its line and its module. */
async function plainBundle(entry: string, out: string): Promise<PlainBundle> {
  await build({ ...SERVERLESS_ESBUILD_OPTIONS, minify: false, entryPoints: [path.join(root, entry)], outfile: out, logLevel: 'error' });
  const modules = readFileSync(out, 'utf8')
    .split('\n')
    .flatMap((text, line) => {
      const match = /^\/\/ (\S+\.[cm]?[jt]s)$/.exec(text);
      return match?.[1] ? [{ line: line + 1, name: match[1] }] : [];
    });
  return { file: out, modules };
}

/** A module's group: a lib/ or bench/ file by name, an npm package by family. */
function moduleGroup(module: string): string {
  if (/^(lib|handlers|bench)\//.test(module)) return `JS: ${module}`;
  const npm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(module)?.[1] ?? module;
  if (/^@(aws-sdk|smithy|aws-crypto)\//.test(npm)) return 'JS: AWS SDK (@aws-sdk, @smithy)';
  if (/powertools|xray|cls-hooked|async-hook/.test(npm)) return 'JS: Powertools, X-Ray SDK';
  return `JS: ${npm}`;
}

function nodeGroup(url: string): string {
  const name = url.replace(/^node:/, '');
  if (/stream/.test(name)) return 'JS: node streams';
  if (/http|net|dns|tls|undici|url/.test(name)) return 'JS: node http, net';
  if (/zlib/.test(name)) return 'JS: node zlib glue';
  if (/crypto/.test(name)) return 'JS: node crypto glue';
  if (/async_hooks|async_context|promise|task_queues|timers/.test(name)) return 'JS: node async hooks, promises, timers';
  return 'JS: node, other';
}

/** One perf sample's group: what the time was spent on, whatever thread spent it. */
function sampleGroup(sym: string, dso: string, bundles: PlainBundle[]): string {
  if (dso.includes('kernel')) return 'kernel (syscalls, page faults)';
  if (/^(inflate|crc32|adler32|zmem|deflate)/.test(sym) || /chromium_zlib|Cr_z_/.test(sym)) return /crc32/.test(sym) ? 'zlib: CRC-32' : 'zlib: inflate';
  if (/sha256/i.test(sym)) return 'SHA-256';
  if (/mem(move|cpy|set)/.test(sym)) return 'memmove, memset (copies)';
  if (/malloc|_int_free|^free$|cfree|calloc/.test(sym)) return 'malloc, free';
  const js = /^JS:\S*?'?\S* (\S+):(\d+):\d+/.exec(sym) ?? /^JS:.* (\S+):(\d+):\d+/.exec(sym);
  if (js?.[1]) {
    const bundle = bundles.find((b) => js[1] === b.file);
    if (bundle) {
      const line = Number(js[2]);
      let name = '(bundle prelude)';
      for (const m of bundle.modules) {
        if (m.line > line) break;
        name = m.name;
      }
      return moduleGroup(name);
    }
    if (js[1].startsWith('node:')) return nodeGroup(js[1]);
    return 'JS: other';
  }
  if (/Heap|Mark|Scaveng|Sweep|Evacuat|GC|Collector|Remembered|Slot|Minor|Major|Page::|Space::|Allocat/.test(sym)) return 'V8: garbage collection';
  if (/compiler::|turboshaft|maglev|Maglev|Compile|Parser|Scanner|Deserializ|Bytecode|Interpreter/.test(sym)) return 'V8: parse, compile, deserialise';
  if (/^Builtins_/.test(sym)) return 'V8: builtins';
  if (/^JS:/.test(sym)) return 'JS: other';
  return 'native: V8, Node, libuv, other';
}

function script(dir: string, name: string, body: string): string {
  const file = path.join(dir, `${name}.sh`);
  writeFileSync(file, `#!/bin/sh\n${body}\n`);
  chmodSync(file, 0o755);
  return file;
}

interface Sampled {
  /** Milliseconds of CPU per group, every thread (perf samples every 1 ms of CPU). */
  groups: Map<string, number>;
  /** Milliseconds per thread kind (MainThread, libuv-worker, V8Worker, …). */
  threads: Map<string, number>;
  /** The worker's top symbols. */
  symbols: Map<string, number>;
  jobCpuMs: number;
}

async function sample(stage: Stage, piece: Piece, archive: BenchArchive, dir: string, bundles: PlainBundle[]): Promise<Sampled> {
  const data = path.join(dir, `${archive.kind}-${piece}.perf`);
  // The worker starts as Lambda starts it (handlers/fetch-runtime.sh); perf follows the exec.
  const runtime = piece === 'worker' ? `'${path.join(root, 'handlers/fetch-runtime.sh')}' ` : '';
  const node = script(
    dir,
    `perf-${archive.kind}-${piece}`,
    `exec perf record -q -e cpu-clock -c 1000000 -o '${data}' -- ${runtime}'${process.execPath}' --perf-basic-prof --no-logfile-per-isolate --logfile='${path.join(dir, `${archive.kind}-${piece}-v8.log`)}' "$@"`,
  );
  const cost = await runVariant(stage, piece, archive, undefined, node);
  const lines = execFileSync('perf', ['script', '-i', data, '-F', 'comm,ip,sym,dso'], { encoding: 'utf8', maxBuffer: 512 * MiB, stdio: ['ignore', 'pipe', 'ignore'] }).split('\n');
  rmSync(data, { force: true });
  const groups = new Map<string, number>();
  const threads = new Map<string, number>();
  const symbols = new Map<string, number>();
  const add = (map: Map<string, number>, key: string): void => void map.set(key, (map.get(key) ?? 0) + 1);
  for (const line of lines) {
    const match = /^\s*(\S+)\s+[0-9a-f]+ (.*) \(([^)]*)\)\s*$/.exec(line);
    if (!match) continue;
    const [, comm = '', sym = '', dso = ''] = match;
    add(threads, comm);
    add(groups, sampleGroup(sym.trim(), dso, bundles));
    add(symbols, `${comm}: ${sym.trim().replace(/ \/\S+\/(worker|floor)-plain\.js/, ' $1.js')}`);
  }
  return { groups, threads, symbols, jobCpuMs: cost.cpu_ms };
}

/** Per group: the floor's pieces summed as bench/harness/floor.ts sums their CPU (each file-fed piece less the read). */
function floorGroups(byPiece: Map<Piece, Sampled>): Map<string, number> {
  const floor = new Map<string, number>();
  const add = (piece: Piece, sign: number): void => {
    for (const [group, ms] of byPiece.get(piece)?.groups ?? []) floor.set(group, (floor.get(group) ?? 0) + sign * ms);
  };
  add('download', 1);
  for (const piece of ['sha256', 'list', 'upload'] as const) {
    add(piece, 1);
    add('read', -1);
  }
  return floor;
}

function printGap(kind: ArchiveKind, archiveBytes: number, byPiece: Map<Piece, Sampled>, copies: Record<string, number>): void {
  const gib = archiveBytes / 1024 ** 3;
  const worker = byPiece.get('worker');
  if (!worker) return;
  const floor = floorGroups(byPiece);
  const total = (map: Map<string, number>): number => [...map.values()].reduce((sum, ms) => sum + ms, 0);
  const gap = total(worker.groups) - total(floor);
  const perGiB = (ms: number): string => (ms / 1000 / gib).toFixed(2);
  console.log(`\n## ${kind}, ${(archiveBytes / MiB).toFixed(0)} MiB: CPU s per GiB of archive, every thread (perf, 1 sample per ms of CPU, start-up included)`);
  console.log(`\nworker ${perGiB(total(worker.groups))} (its job alone: ${perGiB(worker.jobCpuMs)}), floor ${perGiB(total(floor))}, gap ${perGiB(gap)}`);
  console.log(`worker threads: ${[...worker.threads].sort((a, b) => b[1] - a[1]).map(([t, ms]) => `${t} ${perGiB(ms)}`).join(', ')}`);
  const copied = Object.values(copies).reduce((sum, n) => sum + n, 0);
  console.log(`worker's JavaScript copies: ${(copied / archiveBytes).toFixed(4)} bytes per byte downloaded (${Object.entries(copies).map(([k, v]) => `${k} ${(v / archiveBytes).toFixed(4)}`).join(', ')})`);
  console.log('\n| group | worker | floor | worker − floor | share of the gap |');
  console.log('| --- | --- | --- | --- | --- |');
  const names = new Set([...worker.groups.keys(), ...floor.keys()]);
  const rows = [...names].map((name) => ({ name, w: worker.groups.get(name) ?? 0, f: floor.get(name) ?? 0 })).sort((a, b) => b.w - b.f - (a.w - a.f));
  for (const row of rows) {
    if (Math.abs(row.w - row.f) / gib < 10 && row.w / gib < 50) continue;
    console.log(`| ${row.name} | ${perGiB(row.w)} | ${perGiB(row.f)} | ${perGiB(row.w - row.f)} | ${((100 * (row.w - row.f)) / gap).toFixed(0)} % |`);
  }
  console.log(`\ntop symbols of the worker (CPU s per GiB):\n`);
  for (const [name, ms] of [...worker.symbols].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`  ${perGiB(ms)}  ${name.slice(0, 150)}`);
}

/** The worker once more, with the copy counter preloaded (its patched builtins would colour the profile). */
async function countCopies(stage: Stage, archive: BenchArchive, dir: string, counter: string): Promise<Record<string, number>> {
  const file = path.join(dir, `${archive.kind}-copies.json`);
  const node = script(dir, `copies-${archive.kind}`, `BENCH_COPY_FILE='${file}' exec '${process.execPath}' --require '${counter}' "$@"`);
  await runVariant(stage, 'worker', archive, undefined, node);
  return JSON.parse(readFileSync(file, 'utf8')) as Record<string, number>;
}

/** Perf samples of a warm container's two jobs, each group's milliseconds averaged over `runs`. */
async function firstJob(stage: Stage, archive: BenchArchive, dir: string, runs: number): Promise<void> {
  const plain = await plainBundle('bench/worker-process.ts', path.join(dir, 'worker-plain.js'));
  stage.bundles.worker = plain.file;
  const jobs = [new Map<string, number>(), new Map<string, number>()] as const;
  let startUpMs = 0;
  const add = (map: Map<string, number>, key: string): void => void map.set(key, (map.get(key) ?? 0) + 1 / runs);
  for (let run = 0; run < runs; run++) {
    const data = path.join(dir, `${archive.kind}-warm.perf`);
    const windows = path.join(dir, `${archive.kind}-windows.json`);
    // perf's clock is CLOCK_MONOTONIC, the clock of process.hrtime, so a job's window selects its samples.
    const node = script(
      dir,
      `perf-${archive.kind}-warm`,
      `BENCH_WARM_FIRST_JOB=1 BENCH_JOB_WINDOWS='${windows}' exec perf record -q -k CLOCK_MONOTONIC -e cpu-clock -c 1000000 -o '${data}' -- '${path.join(root, 'handlers/fetch-runtime.sh')}' '${process.execPath}' --perf-basic-prof "$@"`,
    );
    await runVariant(stage, 'worker', archive, undefined, node);
    const [firstStarted = 0, firstEnded = 0, secondStarted = 0, secondEnded = 0] = JSON.parse(readFileSync(windows, 'utf8')) as number[];
    const lines = execFileSync('perf', ['script', '-i', data, '-F', 'comm,time,ip,sym,dso'], { encoding: 'utf8', maxBuffer: 512 * MiB, stdio: ['ignore', 'pipe', 'ignore'] }).split('\n');
    rmSync(data, { force: true });
    for (const line of lines) {
      const match = /^\s*\S+\s+([0-9.]+):\s+[0-9a-f]+ (.*) \(([^)]*)\)\s*$/.exec(line);
      if (!match) continue;
      const [, time = '', sym = '', dso = ''] = match;
      const at = Number(time);
      if (at < firstStarted) startUpMs += 1 / runs;
      const job = at >= firstStarted && at <= firstEnded ? jobs[0] : at >= secondStarted && at <= secondEnded ? jobs[1] : undefined;
      if (job) add(job, sampleGroup(sym.trim(), dso, [plain]));
    }
  }
  const [first, second] = jobs;
  const total = (map: Map<string, number>): number => [...map.values()].reduce((sum, ms) => sum + ms, 0);
  console.log(`\n## ${archive.kind}, ${(archive.bytes / MiB).toFixed(0)} MiB: a warm container's two jobs, CPU ms (perf, every thread; mean of ${runs} runs)`);
  console.log(`\nstart-up ${startUpMs.toFixed(0)}, first job ${total(first).toFixed(0)}, second job ${total(second).toFixed(0)}`);
  console.log('\n| group | first job | second job | first − second |');
  console.log('| --- | --- | --- | --- |');
  const names = [...new Set([...first.keys(), ...second.keys()])];
  const extra = (name: string): number => (first.get(name) ?? 0) - (second.get(name) ?? 0);
  for (const name of names.sort((a, b) => extra(b) - extra(a))) {
    if (Math.abs(extra(name)) < 2 && (first.get(name) ?? 0) < 20) continue;
    console.log(`| ${name} | ${(first.get(name) ?? 0).toFixed(0)} | ${(second.get(name) ?? 0).toFixed(0)} | ${extra(name).toFixed(0)} |`);
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const sizeBytes = Number(option(args, '--size') ?? 256) * MiB;
  const archives = (option(args, '--archives') ?? 'random,source').split(',') as ArchiveKind[];
  await withStage('profile', sizeBytes, async ({ stage, scratch, archiveDir }) => {
    if (args.includes('--first-job')) {
      for (const kind of archives) await firstJob(stage, await archiveFor(archiveDir, kind, sizeBytes, console.log), scratch, Number(option(args, '--runs') ?? 3));
      return;
    }
    const worker = await plainBundle('bench/worker-process.ts', path.join(scratch, 'worker-plain.js'));
    const floor = await plainBundle('bench/streaming/floor-process.ts', path.join(scratch, 'floor-plain.js'));
    stage.bundles.worker = worker.file;
    stage.bundles.floor = floor.file;
    const counter = (await bundle(path.join(__dirname, 'streaming/copy-counter.ts'), path.join(scratch, 'copy-counter.js'))).file;
    for (const kind of archives) {
      const archive = await archiveFor(archiveDir, kind, sizeBytes, console.log);
      const byPiece = new Map<Piece, Sampled>();
      for (const piece of GROUPED_PIECES) byPiece.set(piece, await sample(stage, piece, archive, scratch, [worker, floor]));
      printGap(kind, archive.bytes, byPiece, await countCopies(stage, archive, scratch, counter));
    }
  });
}

runMain(main);
