/**
 * Part 1: the worker streaming archives from a local HTTP server into the S3 emulator, against
 * three baselines in the same harness (floor, S3 alone, classic). Every variant runs in its own
 * process from a minified bundle; the server and the emulators run in processes of their own.
 * Variants take turns within each run, so drift on the machine touches all of them alike.
 */
import { DeleteObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { objectKeyFor } from '../../lib/storage/package-store';
import { localClients } from '../../scripts/local-emulators';
import { bundle } from '../harness/bundle';
import { runJsonJob, startJsonService, type ServiceChild } from '../harness/child-process';
import { median } from '../harness/stats';
import { writeArchiveFile, type ArchiveFile } from './archive-file';
import type { JobCost } from './measure-job';
import { BENCH_BUCKET, streamChildEnv, type EmulatorInfo } from './stream-env';

export const VARIANTS = ['floor', 's3', 'classic', 'worker'] as const;
export type Variant = (typeof VARIANTS)[number];

export interface VariantFigures {
  wallS: number;
  cpuS: number;
  peakRssMiB: number;
  runs: number;
}

export interface SizeFigures {
  /** The size asked for; the .tar.gz is a few bytes more (archiveBytes). */
  sizeBytes: number;
  archiveBytes: number;
  /** Every variant the run was asked for (all four in the harness). */
  variants: Partial<Record<Variant, VariantFigures>>;
}

export interface StreamingSettings {
  sizesBytes: number[];
  warmups: number;
  runs: (sizeBytes: number) => number;
  variants?: readonly Variant[];
  log: (line: string) => void;
}

type Sample = JobCost;

interface Stage {
  scratch: string;
  bundles: { worker: string; baseline: string };
  emulators: ServiceChild<EmulatorInfo>;
  server: ServiceChild<{ url: string }>;
  s3: S3Client;
  env: NodeJS.ProcessEnv;
}

const benchDir = path.resolve(__dirname, '..');
const root = path.resolve(benchDir, '..');
const MiB = 1024 * 1024;

function checkDisk(dir: string, largest: number): void {
  const { bavail, bsize } = statfsSync(dir);
  // The local copy for "S3 alone", the classic baseline's temporary file, the stored object.
  const needed = 3.5 * largest;
  if (bavail * bsize < needed) {
    throw new Error(`${dir} has ${Math.floor((bavail * bsize) / MiB)} MiB free; the streaming runs need ${Math.ceil(needed / MiB)} MiB`);
  }
}

async function setUp(largest: number): Promise<Stage> {
  const scratch = mkdtempSync(path.join(tmpdir(), 'bkpaas-bench-stream-'));
  checkDisk(scratch, largest);
  const bundles = {
    worker: (await bundle(path.join(benchDir, 'worker-process.ts'), path.join(scratch, 'bundles', 'worker.js'))).file,
    baseline: (await bundle(path.join(__dirname, 'baseline-process.ts'), path.join(scratch, 'bundles', 'baseline.js'))).file,
  };
  const tsx = { cwd: root, env: { ...process.env, BENCH_EMULATOR_DIR: path.join(scratch, 'emulators'), BENCH_ARCHIVE_DIR: scratch } };
  const emulators = await startJsonService<EmulatorInfo>(['--import', 'tsx', path.join(__dirname, 'emulator-process.ts')], tsx);
  const server = await startJsonService<{ url: string }>(['--import', 'tsx', path.join(__dirname, 'archive-server-process.ts')], tsx);
  const work = path.join(scratch, 'work');
  mkdirSync(work);
  return {
    scratch,
    bundles,
    emulators,
    server,
    s3: localClients(emulators.info).s3,
    env: streamChildEnv(emulators.info, work),
  };
}

async function tearDown(stage: Stage | undefined): Promise<void> {
  if (!stage) return;
  stage.s3.destroy();
  await Promise.all([stage.emulators.stop(), stage.server.stop()]);
  rmSync(stage.scratch, { recursive: true, force: true });
}

function fail(variant: Variant, size: number, what: string): never {
  throw new Error(`${variant} at ${size / MiB} MiB: ${what}`);
}

async function storedSize(s3: S3Client, key: string): Promise<number | undefined> {
  const head = await s3.send(new HeadObjectCommand({ Bucket: BENCH_BUCKET, Key: key }));
  return head.ContentLength;
}

/** One run of one variant: measured, checked (bytes and SHA-256), and its object deleted. */
async function runVariant(stage: Stage, variant: Variant, archive: ArchiveFile): Promise<Sample> {
  const { file, sha256, bytes: size } = archive;
  const url = `${stage.server.info.url}/${path.basename(file)}`;
  const options = { cwd: root, env: stage.env };
  let key: string;
  let sample: Sample;
  if (variant === 'worker') {
    const event = {
      request_id: randomUUID(),
      code: 'bench',
      module: 'default',
      version: `v${size}-${randomUUID().slice(0, 8)}`,
      allow_overwrite: false,
      package_url: url,
    };
    type WorkerOut = Sample & { result: { state: string; package?: { sha256_signature: string; package_size: string } } };
    const out = await runJsonJob<WorkerOut>([stage.bundles.worker, JSON.stringify(event)], options);
    if (out.result.state !== 'succeeded') fail(variant, size, `not stored: ${JSON.stringify(out.result)}`);
    if (out.result.package?.sha256_signature !== sha256) fail(variant, size, 'wrong SHA-256');
    if (out.result.package.package_size !== String(size)) fail(variant, size, 'wrong size');
    key = objectKeyFor(event.code, event.module, event.request_id);
    sample = out;
  } else {
    key = `bench/${variant}/${randomUUID()}`;
    const args = variant === 'floor' ? [url] : variant === 's3' ? [file, key] : [url, key];
    const out = await runJsonJob<Sample & { sha256?: string; bytes?: number }>([stage.bundles.baseline, variant, ...args], options);
    if (variant !== 's3' && (out.sha256 !== sha256 || out.bytes !== size)) fail(variant, size, 'wrong bytes or SHA-256');
    sample = out;
  }
  if (variant !== 'floor') {
    if ((await storedSize(stage.s3, key)) !== size) fail(variant, size, 'stored object has the wrong size');
    // 1 GiB per run: the emulator's copy goes before the next run.
    await stage.s3.send(new DeleteObjectCommand({ Bucket: BENCH_BUCKET, Key: key }));
  }
  return { wall_ms: sample.wall_ms, cpu_ms: sample.cpu_ms, max_rss_kib: sample.max_rss_kib };
}

function figures(samples: Sample[]): VariantFigures {
  return {
    wallS: median(samples.map((s) => s.wall_ms)) / 1000,
    cpuS: median(samples.map((s) => s.cpu_ms)) / 1000,
    peakRssMiB: median(samples.map((s) => s.max_rss_kib)) / 1024,
    runs: samples.length,
  };
}

async function measureSize(stage: Stage, size: number, settings: StreamingSettings): Promise<SizeFigures> {
  const archive = await writeArchiveFile(path.join(stage.scratch, `archive-${size}.tar.gz`), size);
  const variants = settings.variants ?? VARIANTS;
  const samples = new Map<Variant, Sample[]>(variants.map((v) => [v, []]));
  const runs = settings.runs(size);
  try {
    for (let run = 0; run < settings.warmups + runs; run++) {
      const warm = run < settings.warmups;
      for (const variant of variants) {
        const sample = await runVariant(stage, variant, archive);
        if (!warm) samples.get(variant)?.push(sample);
        settings.log(
          `  ${size / MiB} MiB ${warm ? 'warm-up' : `run ${run - settings.warmups + 1}/${runs}`} ${variant}: ` +
            `${(sample.wall_ms / 1000).toFixed(2)} s, cpu ${(sample.cpu_ms / 1000).toFixed(2)} s, rss ${(sample.max_rss_kib / 1024).toFixed(0)} MiB`,
        );
      }
    }
  } finally {
    rmSync(archive.file, { force: true });
  }
  return { sizeBytes: size, archiveBytes: archive.bytes, variants: Object.fromEntries([...samples].map(([v, list]) => [v, figures(list)])) };
}

export async function runStreamingBench(settings: StreamingSettings): Promise<SizeFigures[]> {
  let stage: Stage | undefined;
  try {
    stage = await setUp(Math.max(...settings.sizesBytes));
    const results: SizeFigures[] = [];
    for (const size of settings.sizesBytes) results.push(await measureSize(stage, size, settings));
    return results;
  } finally {
    await tearDown(stage);
  }
}
