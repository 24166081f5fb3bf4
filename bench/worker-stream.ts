/**
 * The worker alone streaming one archive of SIZE_MIB (default 512) from a local HTTP server
 * into the S3 emulator, each in its own process, and its wall time, CPU time and peak RSS.
 * `npm run bench:stream -- 512 [random|source]`. The full comparison against the floor and the
 * baselines is bench/run.ts.
 */
import { runStreamingBench, type ArchiveKind } from './streaming/streaming-bench';

const USAGE = `usage: npm run bench:stream -- [SIZE_MIB] [random|source]

The worker (the fetch bundle) streams one archive of SIZE_MIB (default 512) from a local HTTP server
into the S3 emulator, each in its own process, and prints its wall time, CPU time and peak RSS as
JSON. BENCH_ARCHIVE_CACHE=DIR keeps the generated archive for the next run. npm run bench is the
full comparison against the floor and the baselines.`;

async function main(): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    console.log(USAGE);
    return;
  }
  const sizeMiB = Number(process.argv[2] ?? 512);
  const archive = (process.argv[3] ?? 'random') as ArchiveKind;
  if (!Number.isInteger(sizeMiB) || sizeMiB < 1) throw new Error(`size in MiB must be a whole number, got "${process.argv[2]}"\n\n${USAGE}`);
  if (archive !== 'random' && archive !== 'source') throw new Error(`archive must be random or source, got "${archive}"`);
  const {
    scenarios: [figures],
  } = await runStreamingBench({
    scenarios: [{ archive, sizeBytes: sizeMiB * 1024 * 1024, variants: ['worker-s3rver'], runs: 1, warmups: 0 }],
    log: () => undefined,
    archiveCache: process.env.BENCH_ARCHIVE_CACHE || undefined,
  });
  const worker = figures?.variants['worker-s3rver'];
  if (!worker) throw new Error('the worker did not run');
  console.log(
    JSON.stringify(
      {
        size_mib: sizeMiB,
        archive,
        // runStreamingBench checks the stored size and SHA-256 and throws when they differ.
        ok: true,
        wall_s: +worker.wallS.toFixed(2),
        cpu_s: +worker.cpuS.toFixed(2),
        throughput_mib_s: +(sizeMiB / worker.wallS).toFixed(1),
        peak_rss_mib: +worker.peakRssMiB.toFixed(1),
      },
      null,
      2,
    ),
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
