/**
 * Child process: one baseline run, bundled and measured exactly like the worker.
 *   s3      <file> <key>   upload a local file into the S3 emulator
 *   classic <url>  <key>   the fair classic: download to a temporary file, hash it,
 *                          list it from the file (the worker's own listing, every safety rule),
 *                          then upload it — what a worker does that does not stream
 * Uploads go through lib/storage/package-store.ts's uploadStream with lib/core/config.ts's settings, the
 * same code and part/queue sizes the worker uses.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, rmSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { S3Client } from '@aws-sdk/client-s3';
import { createS3Client } from '../../lib/core/aws-clients';
import { loadConfig, type Config } from '../../lib/core/config';
import { uploadStream } from '../../lib/storage/package-store';
import { TarListing } from '../../lib/archive/tar-listing';
import { measureJob, runMain } from './measure-job';

function get(url: string): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false }, (res) => {
      if (res.statusCode !== 200) reject(new Error(`GET ${url} answered ${res.statusCode}`));
      else resolve(res);
    });
    req.once('error', reject);
  });
}

async function hashFile(file: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    bytes += chunk.length;
  }
  return { sha256: hash.digest('hex'), bytes };
}

async function listFile(file: string, config: Config): Promise<number> {
  let listing: TarListing | undefined;
  try {
    for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
      listing ??= new TarListing(chunk[0] === 0x1f && chunk[1] === 0x8b ? 'tar.gz' : 'tar', {
        maxEntries: config.maxArchiveEntries,
        maxUncompressedBytes: config.maxUncompressedBytes,
      });
      await listing.write(chunk);
    }
    if (!listing) throw new Error(`${file} is empty`);
    return (await listing.end()).entryCount;
  } finally {
    listing?.destroy();
  }
}

interface Storage {
  config: Config;
  s3: S3Client;
}

function upload({ config, s3 }: Storage, file: string, key: string): Promise<void> {
  const settings = { partBytes: config.uploadPartBytes, queueSize: config.uploadQueueSize };
  return uploadStream(s3, config.packagesBucket, key, createReadStream(file), settings);
}

const jobs: Record<string, (args: string[], storage: Storage) => Promise<object>> = {
  async s3([file = '', key = ''], storage) {
    await upload(storage, file, key);
    return { key };
  },
  async classic([url = '', key = ''], storage) {
    const file = path.join(process.env.BENCH_SCRATCH_DIR ?? '', `classic-${process.pid}.tar.gz`);
    try {
      await pipeline(await get(url), createWriteStream(file));
      const hashed = await hashFile(file);
      const entries = await listFile(file, storage.config);
      await upload(storage, file, key);
      return { ...hashed, entries, key };
    } finally {
      rmSync(file, { force: true });
    }
  },
};

runMain(async () => {
  const [mode = '', ...args] = process.argv.slice(2);
  const job = jobs[mode];
  if (!job) throw new Error(`unknown baseline "${mode}"; use s3 or classic`);
  // Configuration and client construction are start-up, as for the worker: not measured.
  const config = loadConfig();
  const storage = { config, s3: createS3Client(config) };
  await measureJob(() => job(args, storage));
});
