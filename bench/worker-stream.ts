/**
 * Streams one generated archive of SIZE_MIB (default 512) from a local HTTP server through the
 * fetch worker (its own process) into the local S3 emulator, and prints the worker's wall
 * time, CPU time and peak RSS. `npm run bench:stream -- 512`
 */
import { execFile } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { ensureResources, LOCAL_CREDENTIALS, startEmulators } from '../scripts/local-emulators';
import { jobsTableSpec, versionsTableSpec } from '../scripts/local-tables';

const MiB = 1024 * 1024;

/** Deterministic bytes that start like a gzip stream, generated as they are sent. */
function archiveChunks(totalBytes: number): { chunk(index: number): Buffer; count: number } {
  const block = Buffer.alloc(MiB);
  for (let i = 0; i < block.length; i++) block[i] = (i * 2654435761) >>> 24;
  block[0] = 0x1f;
  block[1] = 0x8b;
  return { chunk: () => block, count: Math.ceil(totalBytes / MiB) };
}

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

async function main(): Promise<void> {
  const sizeMiB = Number(process.argv[2] ?? 512);
  const dataDir = mkdtempSync(path.join(tmpdir(), 'bkpaas-bench-'));
  // The worker runs as Lambda runs it: one minified bundle, no TypeScript loader in the process.
  const bundle = path.join(dataDir, 'worker.js');
  await build({
    entryPoints: [path.join(__dirname, 'worker-process.ts')],
    bundle: true,
    minify: true,
    platform: 'node',
    target: 'node20',
    outfile: bundle,
    logLevel: 'error',
  });
  const emulators = await startEmulators({ dataDir, dynamodbPort: 0, s3Port: 0 });
  const table = 'bench-versions';
  const bucket = 'bench-packages';
  await ensureResources({ ...emulators, tables: [versionsTableSpec(table), jobsTableSpec('bench-jobs')], bucket });

  const { chunk, count } = archiveChunks(sizeMiB * MiB);
  const expected = createHash('sha256');
  for (let i = 0; i < count; i++) expected.update(chunk(i));
  const server = http.createServer(async (_req, res) => {
    res.writeHead(200, { 'content-length': count * MiB });
    for (let i = 0; i < count; i++) {
      if (!res.write(chunk(i))) await new Promise((resolve) => res.once('drain', resolve));
    }
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const event = {
    request_id: randomUUID(),
    code: 'bench',
    module: 'default',
    version: `v${Date.now()}`,
    allow_overwrite: false,
    package_url: `http://127.0.0.1:${port}/bench.tar.gz`,
  };
  try {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [bundle, JSON.stringify(event)],
      {
        env: {
          ...process.env,
          STAGE: 'local',
          ALLOW_PRIVATE_URLS: 'true',
          VERSIONS_TABLE: table,
          TOKENS_TABLE: 'unused',
          JOBS_TABLE: 'bench-jobs',
          PACKAGES_BUCKET: bucket,
          FETCH_FUNCTION_NAME: 'unused',
          DYNAMODB_ENDPOINT: emulators.dynamodbEndpoint,
          S3_ENDPOINT: emulators.s3Endpoint,
          MAX_PACKAGE_BYTES: String(8 * 1024 * MiB),
          AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
          AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
          AWS_REGION: 'us-east-1',
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
          LOG_LEVEL: 'warn',
        },
        maxBuffer: 16 * MiB,
      },
    );
    const line = stdout.trim().split('\n').pop() ?? '{}';
    const measured = JSON.parse(line) as { result: { ok: boolean; package?: { sha256_signature: string } }; wall_ms: number; cpu_ms: number; max_rss_kib: number };
    const hashOk = measured.result.package?.sha256_signature === expected.digest('hex');
    console.log(
      JSON.stringify(
        {
          size_mib: sizeMiB,
          ok: measured.result.ok && hashOk,
          wall_s: +(measured.wall_ms / 1000).toFixed(2),
          cpu_s: +(measured.cpu_ms / 1000).toFixed(2),
          throughput_mib_s: +(sizeMiB / (measured.wall_ms / 1000)).toFixed(1),
          peak_rss_mib: +(measured.max_rss_kib / 1024).toFixed(1),
        },
        null,
        2,
      ),
    );
  } finally {
    server.close();
    await emulators.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
