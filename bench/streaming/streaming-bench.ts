/**
 * Part 1: the worker streaming archives from a local HTTP server, against the honest floor and
 * the baselines, in the same harness. Every variant runs in its own process from a
 * minified bundle; the archive server, the S3-shaped sink and the emulators run in processes of
 * their own. Variants take turns within each run, the order flipped every turn, so drift on the
 * machine touches all alike and a ratio can be taken per turn, between runs moments apart.
 *
 * Two archives (archive-file.ts: one random blob, gzip level 1; source-archive.ts: a tree of real
 * source files, ~5×) and, per scenario, an archive server at full loopback speed or paced at a
 * rate. The worker uploads either to the sink (its own cost) or to s3rver (the integration
 * figure, which also pays the emulator's CPU on the same cores).
 */
import { DeleteObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { randomUUID } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { objectKeyFor } from '../../lib/storage/package-store';
import { localClients, LOCAL_CREDENTIALS, LOCAL_REGION } from '../../scripts/local-emulators';
import { bundle } from '../harness/bundle';
import { runJsonJob, startJsonService, type ServiceChild } from '../harness/child-process';
import { median, sizeLabel } from '../harness/stats';
import { archiveFor, type ArchiveKind, type BenchArchive } from './bench-archives';
import { countInstructions, valgrindFound, type InstructionFigures } from './instruction-counts';
import type { JobCost } from './measure-job';
import { BENCH_BUCKET, streamChildEnv, type EmulatorInfo } from './stream-env';

/** The floor's primitives (floor-process.ts), then the worker and the baselines. */
export const VARIANTS = [
  'read',
  'download',
  'sha256',
  'gunzip',
  'list',
  'upload',
  'worker',
  'worker-s3rver',
  'classic-s3rver',
  's3-alone',
] as const;
export type Variant = (typeof VARIANTS)[number];
export type { ArchiveKind };

export interface VariantFigures {
  wallS: number;
  cpuS: number;
  peakRssMiB: number;
  runs: number;
  /** Every measured run, in turn order: turn i of each variant ran moments from turn i of the others. */
  turns: JobCost[];
}

export interface Scenario {
  archive: ArchiveKind;
  sizeBytes: number;
  /** The archive server's pace in MiB/s; absent: as fast as loopback goes. */
  rateMiBs?: number;
  variants: readonly Variant[];
  runs: number;
  warmups: number;
}

export interface ScenarioFigures {
  archive: ArchiveKind;
  /** The size asked for; the archive is a little larger (archiveBytes). */
  sizeBytes: number;
  archiveBytes: number;
  rateMiBs?: number;
  /** The tar inside the gzip: its bytes and entries (the compression ratio is tarBytes / archiveBytes). */
  tarBytes: number;
  entries: number;
  variants: Partial<Record<Variant, VariantFigures>>;
}

export interface StreamingSettings {
  scenarios: Scenario[];
  /** The two archive sizes the instruction counts take (instruction-counts.ts); none: not counted. */
  instructionCounts?: { smallBytes: number; largeBytes: number };
  log: (line: string) => void;
  /** Keep generated archives in this directory and reuse them (BENCH_ARCHIVE_CACHE); else they go with the run. */
  archiveCache?: string;
}

type Sample = JobCost;

export interface Stage {
  scratch: string;
  bundles: { worker: string; baseline: string; floor: string };
  /** Starts Node for the worker the way Lambda starts fetch: through handlers/fetch-runtime.sh. */
  workerNode: string;
  emulators: ServiceChild<EmulatorInfo>;
  server: ServiceChild<{ url: string }>;
  sink: ServiceChild<{ url: string }>;
  s3rver: S3Client;
  sinkClient: S3Client;
  env: { s3rver: NodeJS.ProcessEnv; sink: NodeJS.ProcessEnv };
}

const benchDir = path.resolve(__dirname, '..');
const root = path.resolve(benchDir, '..');
const MiB = 1024 * 1024;

function checkDisk(dir: string, largestBytes: number): void {
  const { bavail, bsize } = statfsSync(dir);
  // Both archives at the largest size, the classic baseline's temporary file, the stored object.
  const needed = 4.5 * largestBytes;
  if (bavail * bsize < needed) {
    throw new Error(`${dir} has ${Math.floor((bavail * bsize) / MiB)} MiB free; the streaming runs need ${Math.ceil(needed / MiB)} MiB`);
  }
}

/** The bundles, the archive server, the sink and the emulators, each in a process of its own. */
export async function setUpStage(largestBytes: number, archiveDir: string): Promise<Stage> {
  const scratch = mkdtempSync(path.join(tmpdir(), 'bkpaas-bench-stream-'));
  checkDisk(scratch, largestBytes);
  const out = (name: string): string => path.join(scratch, 'bundles', name);
  const bundles = {
    worker: (await bundle(path.join(benchDir, 'worker-process.ts'), out('worker.js'))).file,
    baseline: (await bundle(path.join(__dirname, 'baseline-process.ts'), out('baseline.js'))).file,
    floor: (await bundle(path.join(__dirname, 'floor-process.ts'), out('floor.js'))).file,
  };
  const tsx = { cwd: root, env: { ...process.env, BENCH_EMULATOR_DIR: path.join(scratch, 'emulators'), BENCH_ARCHIVE_DIR: archiveDir } };
  const service = <T>(file: string): Promise<ServiceChild<T>> => startJsonService<T>(['--import', 'tsx', path.join(__dirname, file)], tsx);
  const [emulators, server, sink] = await Promise.all([
    service<EmulatorInfo>('emulator-process.ts'),
    service<{ url: string }>('archive-server-process.ts'),
    service<{ url: string }>('s3-sink-process.ts'),
  ]);
  const work = path.join(scratch, 'work');
  mkdirSync(work);
  const workerNode = path.join(scratch, 'worker-node.sh');
  writeFileSync(workerNode, `#!/bin/sh\nexec '${path.join(root, 'handlers/fetch-runtime.sh')}' '${process.execPath}' "$@"\n`);
  chmodSync(workerNode, 0o755);
  const env = streamChildEnv(emulators.info, work);
  return {
    scratch,
    bundles,
    workerNode,
    emulators,
    server,
    sink,
    s3rver: localClients(emulators.info).s3,
    sinkClient: new S3Client({ region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, endpoint: sink.info.url, forcePathStyle: true }),
    env: { s3rver: env, sink: { ...env, S3_ENDPOINT: sink.info.url } },
  };
}

export async function tearDownStage(stage: Stage | undefined): Promise<void> {
  if (!stage) return;
  stage.s3rver.destroy();
  stage.sinkClient.destroy();
  await Promise.all([stage.emulators.stop(), stage.server.stop(), stage.sink.stop()]);
  rmSync(stage.scratch, { recursive: true, force: true });
}

/** A script's temporary folder and the folder its archives go in. */
export interface Scratch {
  scratch: string;
  archiveDir: string;
}

/**
 * A temporary folder for `use`, and the folder archives go in: BENCH_ARCHIVE_CACHE (kept) or one
 * inside the temporary folder; the temporary folder goes when `use` ends, however it ends.
 */
export async function withScratch<T>(name: string, use: (folders: Scratch) => Promise<T>): Promise<T> {
  const scratch = mkdtempSync(path.join(tmpdir(), `bkpaas-bench-${name}-`));
  try {
    const archiveDir = process.env.BENCH_ARCHIVE_CACHE || path.join(scratch, 'archives');
    mkdirSync(archiveDir, { recursive: true });
    return await use({ scratch, archiveDir });
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** withScratch with a stage (setUpStage) for archives up to `largestBytes`, torn down however `use` ends. */
export function withStage<T>(name: string, largestBytes: number, use: (staged: Scratch & { stage: Stage }) => Promise<T>): Promise<T> {
  return withScratch(name, async (folders) => {
    let stage: Stage | undefined;
    try {
      stage = await setUpStage(largestBytes, folders.archiveDir);
      return await use({ ...folders, stage });
    } finally {
      await tearDownStage(stage);
    }
  });
}

function fail(variant: Variant, archive: BenchArchive, what: string): never {
  throw new Error(`${variant}, ${archive.kind} archive of ${archive.sizeBytes / MiB} MiB: ${what}`);
}

async function checkStored(s3: S3Client, key: string, variant: Variant, archive: BenchArchive): Promise<void> {
  const head = await s3.send(new HeadObjectCommand({ Bucket: BENCH_BUCKET, Key: key }));
  if (head.ContentLength !== archive.bytes) fail(variant, archive, `stored ${head.ContentLength} bytes, not ${archive.bytes}`);
  // Up to 1 GiB per run: the emulator's copy goes before the next run.
  await s3.send(new DeleteObjectCommand({ Bucket: BENCH_BUCKET, Key: key }));
}

type WorkerOut = Sample & { result: { state: string; package?: { sha256_signature: string; package_size: string } } };
type BaselineOut = Sample & { bytes?: number; sha256?: string; entries?: number; tarBytes?: number };

export function archiveUrl(stage: Stage, archive: BenchArchive, rateMiBs: number | undefined): string {
  return `${stage.server.info.url}/${path.basename(archive.file)}${rateMiBs ? `?rate=${rateMiBs * MiB}` : ''}`;
}

/**
 * One worker run from `bundleFile` (the stage's worker bundle unless given), checked, its object
 * deleted; started as Lambda starts fetch unless `node` names another binary.
 */
export async function runWorker(
  stage: Stage,
  archive: BenchArchive,
  url: string,
  target: 'sink' | 's3rver',
  variant: Variant,
  bundleFile = stage.bundles.worker,
  extraEnv: NodeJS.ProcessEnv = {},
  node?: string,
): Promise<Sample> {
  const event = {
    request_id: randomUUID(),
    code: 'bench',
    module: 'default',
    version: `v${archive.bytes}-${randomUUID().slice(0, 8)}`,
    allow_overwrite: false,
    package_url: url,
  };
  const out = await runJsonJob<WorkerOut>([bundleFile, JSON.stringify(event)], { cwd: root, env: { ...stage.env[target], ...extraEnv }, node: node ?? stage.workerNode });
  if (out.result.state !== 'succeeded') fail(variant, archive, `not stored: ${JSON.stringify(out.result)}`);
  if (out.result.package?.sha256_signature !== archive.sha256) fail(variant, archive, 'wrong SHA-256');
  if (out.result.package.package_size !== String(archive.bytes)) fail(variant, archive, 'wrong size');
  await checkStored(target === 'sink' ? stage.sinkClient : stage.s3rver, objectKeyFor(event.code, event.module, event.request_id), variant, archive);
  return out;
}

/**
 * One run of one variant: measured, checked (bytes, SHA-256, entries where it applies), its object
 * deleted. `node` runs it under another binary (instruction-counts.ts: a script starting valgrind).
 */
export async function runVariant(stage: Stage, variant: Variant, archive: BenchArchive, rateMiBs: number | undefined, node?: string): Promise<Sample> {
  const url = archiveUrl(stage, archive, rateMiBs);
  const options = { cwd: root, env: stage.env.s3rver, node };
  const key = `bench/${variant}/${randomUUID()}`;
  const expect = (out: BaselineOut): BaselineOut => {
    if (out.bytes !== undefined && out.bytes !== archive.bytes) fail(variant, archive, `${out.bytes} bytes, not ${archive.bytes}`);
    if (out.sha256 !== undefined && out.sha256 !== archive.sha256) fail(variant, archive, 'wrong SHA-256');
    if (out.entries !== undefined && out.entries !== archive.entries) fail(variant, archive, `${out.entries} entries, not ${archive.entries}`);
    if (out.tarBytes !== undefined && out.tarBytes !== archive.tarBytes) fail(variant, archive, `${out.tarBytes} tar bytes, not ${archive.tarBytes}`);
    return out;
  };
  const floor = (args: string[]): Promise<BaselineOut> => runJsonJob<BaselineOut>([stage.bundles.floor, ...args], options).then(expect);
  const baseline = (args: string[]): Promise<BaselineOut> => runJsonJob<BaselineOut>([stage.bundles.baseline, ...args], options).then(expect);
  switch (variant) {
    case 'read':
    case 'sha256':
    case 'gunzip':
    case 'list':
      return floor([variant, archive.file]);
    case 'download':
      return floor([variant, url]);
    case 'upload': {
      const out = await floor([variant, archive.file, stage.sink.info.url, key]);
      await checkStored(stage.sinkClient, key, variant, archive);
      return out;
    }
    case 'worker':
      return runWorker(stage, archive, url, 'sink', variant, stage.bundles.worker, {}, node);
    case 'worker-s3rver':
      return runWorker(stage, archive, url, 's3rver', variant, stage.bundles.worker, {}, node);
    case 'classic-s3rver': {
      const out = await baseline(['classic', url, key]);
      await checkStored(stage.s3rver, key, variant, archive);
      return out;
    }
    case 's3-alone': {
      const out = await baseline(['s3', archive.file, key]);
      await checkStored(stage.s3rver, key, variant, archive);
      return out;
    }
  }
}

function figures(samples: Sample[]): VariantFigures {
  return {
    wallS: median(samples.map((s) => s.wall_ms)) / 1000,
    cpuS: median(samples.map((s) => s.cpu_ms)) / 1000,
    peakRssMiB: median(samples.map((s) => s.max_rss_kib)) / 1024,
    runs: samples.length,
    turns: samples.map(({ wall_ms, cpu_ms, max_rss_kib }) => ({ wall_ms, cpu_ms, max_rss_kib })),
  };
}

export function scenarioLabel(scenario: { archive: ArchiveKind; sizeBytes: number; rateMiBs?: number }): string {
  return `${scenario.archive} ${sizeLabel(scenario.sizeBytes)}${scenario.rateMiBs ? ` at ${scenario.rateMiBs} MiB/s` : ''}`;
}

async function measureScenario(stage: Stage, scenario: Scenario, archive: BenchArchive, log: (line: string) => void): Promise<ScenarioFigures> {
  const samples = new Map<Variant, Sample[]>(scenario.variants.map((v) => [v, []]));
  for (let run = 0; run < scenario.warmups + scenario.runs; run++) {
    const warm = run < scenario.warmups;
    // The order flips every turn, so no variant always runs first (warm caches) or last (the machine's drift).
    const order = run % 2 === 0 ? scenario.variants : [...scenario.variants].reverse();
    for (const variant of order) {
      const sample = await runVariant(stage, variant, archive, scenario.rateMiBs);
      if (!warm) samples.get(variant)?.push(sample);
      log(
        `  ${scenarioLabel(scenario)} ${warm ? 'warm-up' : `run ${run - scenario.warmups + 1}/${scenario.runs}`} ${variant}: ` +
          `${(sample.wall_ms / 1000).toFixed(2)} s, cpu ${(sample.cpu_ms / 1000).toFixed(2)} s, rss ${(sample.max_rss_kib / 1024).toFixed(0)} MiB`,
      );
    }
  }
  return {
    archive: scenario.archive,
    sizeBytes: scenario.sizeBytes,
    archiveBytes: archive.bytes,
    ...(scenario.rateMiBs ? { rateMiBs: scenario.rateMiBs } : {}),
    tarBytes: archive.tarBytes,
    entries: archive.entries,
    variants: Object.fromEntries([...samples].map(([v, list]) => [v, figures(list)])),
  };
}

export interface StreamingFigures {
  scenarios: ScenarioFigures[];
  /** Absent when not asked for or valgrind is missing. */
  instructions?: InstructionFigures[];
}

async function measureInstructions(stage: Stage, archiveDir: string, sizes: { smallBytes: number; largeBytes: number }, log: (line: string) => void): Promise<InstructionFigures[] | undefined> {
  if (!valgrindFound()) {
    log('  instruction counts: skipped (valgrind is not installed)');
    return undefined;
  }
  const figures: InstructionFigures[] = [];
  for (const kind of ['random', 'source'] as const) {
    const small = await archiveFor(archiveDir, kind, sizes.smallBytes, log);
    const large = await archiveFor(archiveDir, kind, sizes.largeBytes, log);
    const started = Date.now();
    figures.push(await countInstructions({ small, large }, stage.scratch, (variant, archive, node) => runVariant(stage, variant, archive, undefined, node)));
    log(`  instruction counts, ${kind}: ${((Date.now() - started) / 1000).toFixed(0)} s`);
  }
  return figures;
}

export async function runStreamingBench(settings: StreamingSettings): Promise<StreamingFigures> {
  const { scenarios, log } = settings;
  let stage: Stage | undefined;
  const archiveDir = settings.archiveCache ?? mkdtempSync(path.join(tmpdir(), 'bkpaas-bench-archives-'));
  try {
    mkdirSync(archiveDir, { recursive: true });
    stage = await setUpStage(Math.max(...scenarios.map((s) => s.sizeBytes)), archiveDir);
    const results: ScenarioFigures[] = [];
    for (const [index, scenario] of scenarios.entries()) {
      const archive = await archiveFor(archiveDir, scenario.archive, scenario.sizeBytes, log);
      results.push(await measureScenario(stage, scenario, archive, log));
      const later = scenarios.slice(index + 1).some((s) => s.archive === scenario.archive && s.sizeBytes === scenario.sizeBytes);
      if (!later && !settings.archiveCache) rmSync(archive.file, { force: true });
    }
    const instructions = settings.instructionCounts && (await measureInstructions(stage, archiveDir, settings.instructionCounts, log));
    return { scenarios: results, ...(instructions ? { instructions } : {}) };
  } finally {
    await tearDownStage(stage);
    if (!settings.archiveCache) rmSync(archiveDir, { recursive: true, force: true });
  }
}
