/**
 * Paired before/after of the worker: two builds of the fetch bundle, or one build under two
 * environments or two Node binaries, taking turns on the same archives in the same harness (the
 * order flips every run, so drift and warm caches touch both alike). Prints the medians of each
 * side and the median of the per-run ratios after ÷ before, as Markdown rows for bench/TUNING.md.
 *
 *   npx tsx bench/compare.ts --before <git ref> [--after <git ref>] [options]
 *   npx tsx bench/compare.ts --before-env UPLOAD_QUEUE_SIZE=4 --after-env UPLOAD_QUEUE_SIZE=8 [options]
 *   npx tsx bench/compare.ts --before-node /usr/bin/node [--after-node <binary>] [options]
 *
 * Without --after the working tree is "after". A side runs on the Node running this script, started
 * as Lambda starts fetch (handlers/fetch-runtime.sh), unless --before-node / --after-node names
 * another binary, run as it is (the same bundle under Node 20 and under the project's Node 24, or a
 * script adding a V8 option); the version is in the side's name. Options: --size <MiB> (256),
 * --runs <n> (5), --archives random,source, --target sink|s3rver (sink), --rate <MiB/s> (none:
 * loopback). `--piece list` compares the tar walk alone instead of the worker: each side's floor
 * primitive `list` over the archive's tar, gunzipped beforehand, less a `read` of it in the same
 * turn. A ref is checked out in a temporary git worktree sharing this node_modules; its
 * bench/worker-process.ts and bench/streaming/measure-job.ts are replaced by this tree's, so
 * both sides are measured the same way.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, createReadStream, createWriteStream, rmSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { bundle } from './harness/bundle';
import { runJsonJob } from './harness/child-process';
import { option } from './harness/options';
import { median } from './harness/stats';
import { archiveFor } from './streaming/bench-archives';
import { streamChildEnv } from './streaming/stream-env';
import { runMain, type JobCost } from './streaming/measure-job';
import { archiveUrl, runWorker, withScratch, withStage, type ArchiveKind } from './streaming/streaming-bench';

const root = path.resolve(__dirname, '..');
const MiB = 1024 * 1024;

interface Side {
  name: string;
  bundle: string;
  env: NodeJS.ProcessEnv;
  /** The Node binary, run as it is; none: as Lambda starts fetch (handlers/fetch-runtime.sh). */
  node: string | undefined;
}

function envOf(text: string | undefined): NodeJS.ProcessEnv {
  if (!text) return {};
  // Each pair splits at its first '=': a value may hold more (NODE_OPTIONS=--max-semi-space-size=16).
  return Object.fromEntries(text.split(',').map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]));
}

/** `binary` (this process's Node unless given) and its version, for a side's name. */
function nodeOf(binary: string | undefined): { node: string; version: string } {
  const node = binary ?? process.execPath;
  return { node, version: execFileSync(node, ['--version'], { encoding: 'utf8' }).trim() };
}

/** Bundles `entry` (bench/worker-process.ts by default) of `ref` (a temporary worktree) or of this tree. */
async function workerBundle(ref: string | undefined, out: string, scratch: string, entry = 'bench/worker-process.ts'): Promise<string> {
  if (!ref) return (await bundle(path.join(root, entry), out)).file;
  const tree = path.join(scratch, `tree-${path.basename(out, '.js')}`);
  execFileSync('git', ['worktree', 'add', '--detach', tree, ref], { cwd: root, stdio: 'ignore' });
  try {
    symlinkSync(path.join(root, 'node_modules'), path.join(tree, 'node_modules'));
    for (const file of ['bench/worker-process.ts', 'bench/streaming/measure-job.ts']) copyFileSync(path.join(root, file), path.join(tree, file));
    return (await bundle(path.join(tree, entry), out)).file;
  } finally {
    execFileSync('git', ['worktree', 'remove', '--force', tree], { cwd: root, stdio: 'ignore' });
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const before = option(args, '--before');
  const after = option(args, '--after');
  const sizeBytes = Number(option(args, '--size') ?? 256) * MiB;
  const runs = Number(option(args, '--runs') ?? 5);
  const archives = (option(args, '--archives') ?? 'random,source').split(',') as ArchiveKind[];
  const target = (option(args, '--target') ?? 'sink') as 'sink' | 's3rver';
  const rate = option(args, '--rate');
  const rateMiBs = rate ? Number(rate) : undefined;
  const log = (line: string): void => console.log(line);
  if (option(args, '--piece') === 'list') {
    await withScratch('compare', ({ scratch, archiveDir }) => compareListing({ before, after, sizeBytes, runs, archives, archiveDir, scratch, log }));
    return;
  }
  await withStage('compare', sizeBytes, async ({ stage, scratch, archiveDir }) => {
    const beforeNode = nodeOf(option(args, '--before-node'));
    const afterNode = nodeOf(option(args, '--after-node'));
    const sides: Side[] = [
      {
        name: `before (${before ?? 'working tree'}, Node ${beforeNode.version})`,
        bundle: await workerBundle(before, path.join(scratch, 'before.js'), scratch),
        env: envOf(option(args, '--before-env')),
        node: option(args, '--before-node') ? beforeNode.node : undefined,
      },
      {
        name: `after (${after ?? 'working tree'}, Node ${afterNode.version})`,
        bundle: await workerBundle(after, path.join(scratch, 'after.js'), scratch),
        env: envOf(option(args, '--after-env')),
        node: option(args, '--after-node') ? afterNode.node : undefined,
      },
    ];
    for (const kind of archives) {
      const archive = await archiveFor(archiveDir, kind, sizeBytes, log);
      const url = archiveUrl(stage, archive, rateMiBs);
      const samples: JobCost[][] = [[], []];
      for (let run = -1; run < runs; run++) {
        const order = run % 2 === 0 ? [0, 1] : [1, 0];
        for (const index of order) {
          const side = sides[index] as Side;
          const sample = await runWorker(stage, archive, url, target, 'worker', side.bundle, side.env, side.node);
          if (run >= 0) samples[index]?.push(sample);
          log(`  ${kind} ${run < 0 ? 'warm-up' : `run ${run + 1}/${runs}`} ${side.name}: ${(sample.wall_ms / 1000).toFixed(2)} s, cpu ${(sample.cpu_ms / 1000).toFixed(2)} s, rss ${(sample.max_rss_kib / 1024).toFixed(0)} MiB`);
        }
      }
      report(kind, archive.bytes, sides, samples as [JobCost[], JobCost[]], { target, rateMiBs, sizeBytes });
    }
  });
}

function report(kind: string, bytes: number, sides: Side[], [a, b]: [JobCost[], JobCost[]], how: { target: string; rateMiBs?: number; sizeBytes: number }): void {
  const pick = (samples: JobCost[], field: keyof JobCost, scale: number): number => median(samples.map((s) => s[field])) / scale;
  const paired = (field: keyof JobCost): number => median(a.map((s, i) => (b[i]?.[field] ?? NaN) / s[field]));
  const gib = bytes / 1024 ** 3;
  const where = `${kind} ${how.sizeBytes / MiB} MiB into the ${how.target}${how.rateMiBs ? ` at ${how.rateMiBs} MiB/s` : ''}, ${a.length} pairs`;
  console.log(`\n${where}`);
  console.log('| side | wall s | CPU s | CPU s/GiB | peak RSS MiB |');
  console.log('| --- | --- | --- | --- | --- |');
  for (const [index, samples] of [a, b].entries()) {
    const cpu = pick(samples, 'cpu_ms', 1000);
    console.log(`| ${sides[index]?.name} | ${pick(samples, 'wall_ms', 1000).toFixed(2)} | ${cpu.toFixed(2)} | ${(cpu / gib).toFixed(2)} | ${pick(samples, 'max_rss_kib', 1024).toFixed(1)} |`);
  }
  console.log(`| after ÷ before (median of pairs) | ${paired('wall_ms').toFixed(2)} | ${paired('cpu_ms').toFixed(2)} | | ${paired('max_rss_kib').toFixed(2)} |`);
}

interface ListingComparison {
  before: string | undefined;
  after: string | undefined;
  sizeBytes: number;
  runs: number;
  archives: ArchiveKind[];
  archiveDir: string;
  scratch: string;
  log: (line: string) => void;
}

/**
 * The tar walk's own CPU on each side, in turns with the order flipped: `list` of the archive's tar
 * (gunzipped once beforehand, so inflate's cost and noise stay out) less a `read` of the same file
 * taken in the same turn.
 */
async function compareListing(how: ListingComparison): Promise<void> {
  const floor = 'bench/streaming/floor-process.ts';
  const bundles = [
    await workerBundle(how.before, path.join(how.scratch, 'before-floor.js'), how.scratch, floor),
    await workerBundle(how.after, path.join(how.scratch, 'after-floor.js'), how.scratch, floor),
  ];
  const names = [`before (${how.before ?? 'working tree'})`, `after (${how.after ?? 'working tree'})`];
  // No emulator is needed: the endpoints are never called, only the configuration is read.
  const env = streamChildEnv({ dynamodbEndpoint: 'http://127.0.0.1:9', s3Endpoint: 'http://127.0.0.1:9', s3DataDir: how.scratch }, how.scratch);
  for (const kind of how.archives) {
    const archive = await archiveFor(how.archiveDir, kind, how.sizeBytes, how.log);
    const tarFile = path.join(how.scratch, `${kind}.tar`);
    await pipeline(createReadStream(archive.file), createGunzip(), createWriteStream(tarFile));
    const listing: number[][] = [[], []];
    for (let run = -1; run < how.runs; run++) {
      const read = await runJsonJob<JobCost>([bundles[1] as string, 'read', tarFile], { cwd: root, env });
      for (const index of run % 2 === 0 ? [0, 1] : [1, 0]) {
        const list = await runJsonJob<JobCost>([bundles[index] as string, 'list', tarFile], { cwd: root, env });
        if (run >= 0) listing[index]?.push(list.cpu_ms - read.cpu_ms);
        how.log(`  ${kind} ${run < 0 ? 'warm-up' : `run ${run + 1}/${how.runs}`} ${names[index]}: list ${(list.cpu_ms / 1000).toFixed(2)} s, read ${(read.cpu_ms / 1000).toFixed(2)} s CPU`);
      }
    }
    rmSync(tarFile, { force: true });
    const gib = archive.bytes / 1024 ** 3;
    const [a = [], b = []] = listing;
    const ratios = a.map((value, i) => (b[i] ?? NaN) / value).sort((x, y) => x - y);
    console.log(`\nthe tar walk's own CPU (list − read of the gunzipped tar), ${kind} ${how.sizeBytes / MiB} MiB, ${a.length} pairs`);
    console.log('| side | tar walk CPU s | CPU s/GiB of archive |');
    console.log('| --- | --- | --- |');
    for (const [index, samples] of [a, b].entries()) console.log(`| ${names[index]} | ${(median(samples) / 1000).toFixed(2)} | ${(median(samples) / 1000 / gib).toFixed(2)} |`);
    console.log(`| after ÷ before (median of pairs; range) | ${median(ratios).toFixed(3)} (${ratios[0]?.toFixed(3)}–${ratios[ratios.length - 1]?.toFixed(3)}) | |`);
  }
}

runMain(main);
