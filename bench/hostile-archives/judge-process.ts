/**
 * Child process: the CPU time PackageInspector (the worker's one pass: hash, sniff, list, every
 * archive check) takes to judge each hostile archive shape, and an ordinary .tar.gz of
 * 2,000 files as the baseline measured in the same process; the hostile app_desc.yaml
 * shapes against an ordinary description at the 1 MiB cap. Prints one JSON line.
 */
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { loadConfig } from '../../lib/core/config';
import { PackageInspector } from '../../lib/archive/package-inspector';
import { HANDLER_ENV } from '../harness/handler-env';
import { median } from '../harness/stats';
import { hostileShapes, hostileYamlShapes, ordinaryDescription } from './shapes';

export interface JudgedShape {
  name: string;
  archiveBytes: number;
  /** "accepted", or the refusal's code and the start of its detail. */
  verdict: string;
  cpuMs: number;
  runs: number;
}

export interface HostileOutput {
  baseline: JudgedShape;
  shapes: JudgedShape[];
  /** An ordinary 1 MiB app_desc.yaml, and the YAML shapes judged against it. */
  yamlBaseline?: JudgedShape;
  yamlShapes?: JudgedShape[];
}

const CHUNK = 64 * 1024;

async function ordinaryArchive(): Promise<Buffer> {
  const tar = pack();
  const chunks: Buffer[] = [];
  tar.on('data', (chunk) => {
    chunks.push(chunk as Buffer);
  });
  const ended = new Promise<void>((resolve) => tar.on('end', () => resolve()));
  for (let i = 0; i < 2_000; i += 1) {
    tar.entry({ name: `app/src/pkg${i % 20}/module_${i}.py`, mtime: new Date(0) }, `def f${i}():\n    return ${i}\n`.repeat(10));
  }
  tar.finalize();
  await ended;
  return gzipSync(Buffer.concat(chunks));
}

async function judgeOnce(bytes: Buffer): Promise<{ cpuMs: number; verdict: string }> {
  // The worker's defaults, from lib/core/config.ts.
  const config = loadConfig(HANDLER_ENV);
  const inspector = new PackageInspector(config.maxPackageBytes, bytes.length, {
    maxEntries: config.maxArchiveEntries,
    maxUncompressedBytes: config.maxUncompressedBytes,
  });
  const chunks = Array.from({ length: Math.ceil(bytes.length / CHUNK) }, (_, i) => bytes.subarray(i * CHUNK, (i + 1) * CHUNK));
  const before = process.cpuUsage();
  let verdict = 'accepted';
  try {
    await pipeline(Readable.from(chunks), inspector, new Writable({ write: (_chunk, _encoding, callback) => callback() }));
  } catch (error) {
    const { code, detail } = error as { code?: string; detail?: string };
    verdict = `${code ?? 'ERROR'}: ${(detail ?? String(error)).replace(/"[^"]{40,}…?"/g, '"…"').slice(0, 80)}`;
  }
  const cpu = process.cpuUsage(before);
  return { cpuMs: (cpu.user + cpu.system) / 1000, verdict };
}

async function judge(name: string, bytes: Buffer, runs: number): Promise<JudgedShape> {
  await judgeOnce(bytes); // warm-up
  const samples: number[] = [];
  let verdict = '';
  for (let run = 0; run < runs; run += 1) {
    const judged = await judgeOnce(bytes);
    samples.push(judged.cpuMs);
    verdict = judged.verdict;
  }
  return { name, archiveBytes: bytes.length, verdict, cpuMs: median(samples), runs };
}

async function main(): Promise<void> {
  const runs = Number(process.env.BENCH_RUNS ?? '5');
  const baseline = await judge('ordinary .tar.gz: 2,000 files in 20 directories', await ordinaryArchive(), runs);
  const shapes: JudgedShape[] = [];
  for (const shape of await hostileShapes()) shapes.push(await judge(shape.name, shape.bytes, runs));
  const yamlBaseline = await judge('ordinary .tar.gz with a 1 MiB app_desc.yaml', await ordinaryDescription(), runs);
  const yamlShapes: JudgedShape[] = [];
  for (const shape of await hostileYamlShapes()) yamlShapes.push(await judge(shape.name, shape.bytes, runs));
  const output: HostileOutput = { baseline, shapes, yamlBaseline, yamlShapes };
  console.log(JSON.stringify(output));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
