/**
 * The random archive's CPU target split into what a fresh process pays once and what every job
 * pays (bench/TUNING.md): in turns with the order flipped, the honest floor's pieces (summed as
 * bench/harness/floor.ts sums them) and two workers — a fresh process's job (bench/worker-process.ts,
 * what the benchmark's target measures) and a warm container's second job (the same with
 * BENCH_WARM_FIRST_JOB=1) — each as Lambda starts fetch. Prints each worker's CPU per GiB
 * and the median and range of its per-turn ratio to the floor.
 *
 *   npx tsx bench/floor-ratio.ts [--size 256] [--runs 5] [--archive random|source]
 */
import { floorCpuOf } from './harness/floor';
import { option } from './harness/options';
import { median } from './harness/stats';
import { archiveFor, type ArchiveKind, type BenchArchive } from './streaming/bench-archives';
import { runMain } from './streaming/measure-job';
import { archiveUrl, runVariant, runWorker, withStage, type Stage } from './streaming/streaming-bench';

const MiB = 1024 * 1024;

/** One turn's floor, in CPU ms: each piece run once, summed as bench/harness/floor.ts sums a turn. */
async function floorCpuMs(stage: Stage, archive: BenchArchive): Promise<number> {
  const cpu = async (piece: 'read' | 'download' | 'sha256' | 'list' | 'upload'): Promise<number> => (await runVariant(stage, piece, archive, undefined)).cpu_ms;
  return floorCpuOf({ read: await cpu('read'), download: await cpu('download'), sha256: await cpu('sha256'), list: await cpu('list'), upload: await cpu('upload') });
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const sizeBytes = Number(option(args, '--size') ?? 256) * MiB;
  const runs = Number(option(args, '--runs') ?? 5);
  const kind = (option(args, '--archive') ?? 'random') as ArchiveKind;
  await withStage('floor-ratio', sizeBytes, async ({ stage, archiveDir }) => {
    const archive = await archiveFor(archiveDir, kind, sizeBytes, console.log);
    const url = archiveUrl(stage, archive, undefined);
    const workers = [
      { name: "a fresh process's job", env: {}, cpuMs: [] as number[], ratios: [] as number[] },
      { name: "a warm container's second job", env: { BENCH_WARM_FIRST_JOB: '1' }, cpuMs: [] as number[], ratios: [] as number[] },
    ];
    const floors: number[] = [];
    for (let run = -1; run < runs; run++) {
      const runWorkers = async (): Promise<number[]> => {
        const cpuMs: number[] = [];
        for (const index of run % 2 === 0 ? [0, 1] : [1, 0]) {
          cpuMs[index] = (await runWorker(stage, archive, url, 'sink', 'worker', stage.bundles.worker, workers[index]?.env)).cpu_ms;
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
  });
}

runMain(main);
