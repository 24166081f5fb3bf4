/**
 * The random archive's CPU target split into what a fresh process pays once and what every job
 * pays (bench/TUNING.md): in turns with the order flipped, the honest floor's pieces (summed as
 * bench/harness/floor.ts sums them) and two workers — a fresh process's job (bench/worker-process.ts,
 * what the benchmark's target measures) and a warm container's second job
 * (bench/warm-worker-process.ts) — each as Lambda starts fetch. Prints each worker's CPU per GiB
 * and the median and range of its per-turn ratio to the floor.
 *
 *   npx tsx bench/floor-ratio.ts [--size 256] [--runs 5] [--archive random|source]
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { bundle } from './harness/bundle';
import { median } from './harness/stats';
import { archiveFor, type ArchiveKind } from './streaming/bench-archives';
import { archiveUrl, runVariant, runWorker, setUpStage, tearDownStage, type Stage } from './streaming/streaming-bench';
import type { BenchArchive } from './streaming/bench-archives';

const MiB = 1024 * 1024;

function option(args: string[], name: string): string | undefined {
  const at = args.indexOf(name);
  return at === -1 ? undefined : args[at + 1];
}

/** One turn's floor, in CPU ms: the download, and each file-fed piece less the read that feeds it. */
async function floorCpuMs(stage: Stage, archive: BenchArchive): Promise<number> {
  const cpu = async (piece: 'read' | 'download' | 'sha256' | 'list' | 'upload'): Promise<number> => (await runVariant(stage, piece, archive, undefined)).cpu_ms;
  const read = await cpu('read');
  const alone = (ms: number): number => Math.max(0, ms - read);
  return (await cpu('download')) + alone(await cpu('sha256')) + alone(await cpu('list')) + alone(await cpu('upload'));
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const sizeBytes = Number(option(args, '--size') ?? 256) * MiB;
  const runs = Number(option(args, '--runs') ?? 5);
  const kind = (option(args, '--archive') ?? 'random') as ArchiveKind;
  const scratch = mkdtempSync(path.join(tmpdir(), 'bkpaas-bench-floor-ratio-'));
  const archiveDir = process.env.BENCH_ARCHIVE_CACHE || path.join(scratch, 'archives');
  mkdirSync(archiveDir, { recursive: true });
  const stage = await setUpStage(sizeBytes, archiveDir);
  try {
    const warm = (await bundle(path.join(__dirname, 'warm-worker-process.ts'), path.join(stage.scratch, 'warm-worker.js'))).file;
    const archive = await archiveFor(archiveDir, kind, sizeBytes, console.log);
    const url = archiveUrl(stage, archive, undefined);
    const workers = [
      { name: "a fresh process's job", bundle: stage.bundles.worker, cpuMs: [] as number[], ratios: [] as number[] },
      { name: "a warm container's second job", bundle: warm, cpuMs: [] as number[], ratios: [] as number[] },
    ];
    const floors: number[] = [];
    for (let run = -1; run < runs; run++) {
      const runWorkers = async (): Promise<number[]> => {
        const cpuMs: number[] = [];
        for (const index of run % 2 === 0 ? [0, 1] : [1, 0]) {
          cpuMs[index] = (await runWorker(stage, archive, url, 'sink', 'worker', workers[index]?.bundle)).cpu_ms;
        }
        return cpuMs;
      };
      let floor: number;
      let cpuMs: number[];
      if (run % 2 === 0) {
        floor = await floorCpuMs(stage, archive);
        cpuMs = await runWorkers();
      } else {
        cpuMs = await runWorkers();
        floor = await floorCpuMs(stage, archive);
      }
      if (run < 0) continue; // the warm-up turn
      floors.push(floor);
      workers.forEach((worker, index) => {
        worker.cpuMs.push(cpuMs[index] ?? NaN);
        worker.ratios.push((cpuMs[index] ?? NaN) / floor);
      });
    }
    const gib = archive.bytes / 1024 ** 3;
    console.log(`\n${kind} ${sizeBytes / MiB} MiB, ${runs} turns: floor ${(median(floors) / 1000 / gib).toFixed(2)} CPU s per GiB`);
    console.log('| worker | CPU s per GiB | CPU ÷ floor (median of turns; range) |');
    console.log('| --- | --- | --- |');
    for (const worker of workers) {
      const ratios = [...worker.ratios].sort((a, b) => a - b);
      console.log(`| ${worker.name} | ${(median(worker.cpuMs) / 1000 / gib).toFixed(2)} | ${median(ratios).toFixed(2)} (${ratios[0]?.toFixed(2)}–${ratios[ratios.length - 1]?.toFixed(2)}) |`);
    }
  } finally {
    await tearDownStage(stage);
    rmSync(scratch, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
