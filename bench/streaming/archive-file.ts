/**
 * The archive every streaming run moves: a real .tar.gz (the worker lists its entries) holding
 * one file of pseudo-random bytes, so it barely compresses and its size on the wire is close to
 * the size asked for. Written once per size; the server and "S3 alone" read the same file.
 * Note: random bytes gzip to stored blocks, which inflate almost for free; a real source
 * archive costs the worker more CPU to list than this one.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, statSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { pack } from 'tar-stream';

const BLOCK_BYTES = 1024 * 1024;

function randomBlock(): Buffer {
  const block = Buffer.alloc(BLOCK_BYTES);
  let state = 0x9e3779b9;
  for (let i = 0; i < block.length; i += 4) {
    // xorshift32: deterministic and incompressible.
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    block.writeUInt32LE(state >>> 0, i);
  }
  return block;
}

export interface ArchiveFile {
  file: string;
  bytes: number;
  sha256: string;
  /** Bytes of the tar stream inside the gzip, and its entries (one). */
  tarBytes: number;
  entries: number;
}

export async function writeArchiveFile(file: string, approxBytes: number): Promise<ArchiveFile> {
  const block = randomBlock();
  const tar = pack();
  const entry = tar.entry({ name: 'bench/blob.bin', size: approxBytes });
  let tarBytes = 0;
  tar.on('data', (chunk: unknown) => {
    tarBytes += (chunk as Buffer).length;
  });
  const done = pipeline(tar, createGzip({ level: 1 }), createWriteStream(file));
  await pipeline(
    Readable.from(
      (function* () {
        for (let written = 0; written < approxBytes; written += BLOCK_BYTES) yield block.subarray(0, Math.min(BLOCK_BYTES, approxBytes - written));
      })(),
    ),
    entry,
  );
  tar.finalize();
  await done;
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hash);
  return { file, bytes: statSync(file).size, sha256: hash.digest('hex'), tarBytes, entries: 1 };
}
