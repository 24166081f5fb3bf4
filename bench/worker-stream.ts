/**
 * The worker alone streaming one archive of SIZE_MIB (default 512) from a local HTTP server
 * into the S3 emulator, each in its own process, and its wall time, CPU time and peak RSS.
 * `npm run bench:stream -- 512`. The full comparison against baselines is bench/run.ts.
 */
import { runStreamingBench } from './streaming/streaming-bench';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

async function main(): Promise<void> {
  const sizeMiB = Number(process.argv[2] ?? 512);
  if (!Number.isInteger(sizeMiB) || sizeMiB < 1) throw new Error(`size in MiB must be a whole number, got "${process.argv[2]}"`);
  const [figures] = await runStreamingBench({
    sizesBytes: [sizeMiB * 1024 * 1024],
    warmups: 0,
    runs: () => 1,
    variants: ['worker'],
    log: () => undefined,
  });
  const worker = figures?.variants.worker;
  if (!worker) throw new Error('the worker did not run');
  console.log(
    JSON.stringify(
      {
        size_mib: sizeMiB,
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
