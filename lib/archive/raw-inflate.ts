/**
 * Inflates a raw deflate stream read from a ByteFeed, for gzip members and zip entries: the
 * output goes to `onOutput` as it comes (its CRC-32 and length counted), and the stream's own
 * end marks where the compressed bytes stop, which is how a zip entry written with a data
 * descriptor (sizes unknown until after the data) is found to end. Bytes the inflater was given
 * past that end are put back into the feed.
 */
import { crc32, createInflateRaw } from 'node:zlib';
import type { ByteFeed } from './byte-feed';

export interface Inflated {
  /** Compressed bytes the deflate stream took. */
  compressedBytes: number;
  outputBytes: number;
  crc: number;
}

/** zlib's own failure: corrupt (Z_DATA_ERROR) or cut short (Z_BUF_ERROR) deflate data. */
export function isZlibError(error: unknown): error is Error & { code: string } {
  const code = error instanceof Error ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' && code.startsWith('Z_');
}

/** Output pieces: larger than zlib's default 16 KiB, a third less CPU per GiB, still a bounded buffer. */
const OUTPUT_CHUNK = 256 * 1024;
const INPUT_PIECE = 1024 * 1024;

function noop(): void {}

/**
 * @param compressedBytes when known (a zip entry's declared size), exactly this many bytes are
 *   given to the inflater; the caller compares `compressedBytes` of the result with it
 */
export async function inflateRaw(feed: ByteFeed, onOutput: (bytes: Buffer) => void, compressedBytes?: number): Promise<Inflated> {
  const inflater = createInflateRaw({ chunkSize: OUTPUT_CHUNK });
  let crc = 0;
  let outputBytes = 0;
  let fed = 0;
  let ended = false;
  let failure: Error | undefined;
  const done = new Promise<void>((resolve, reject) => {
    inflater.on('end', () => {
      ended = true;
      resolve();
    });
    inflater.on('error', (error: Error) => reject(failure ?? error));
  });
  done.catch(noop);
  inflater.on('data', (bytes: Buffer) => {
    if (failure) return;
    crc = crc32(bytes, crc);
    outputBytes += bytes.length;
    try {
      onOutput(bytes);
    } catch (error) {
      failure = error as Error;
      inflater.destroy(failure);
    }
  });
  try {
    while (!ended) {
      const left = compressedBytes === undefined ? INPUT_PIECE : Math.min(INPUT_PIECE, compressedBytes - fed);
      if (left === 0) break;
      const piece = await feed.next(left);
      if (piece === undefined) break;
      fed += piece.length;
      const written = new Promise<void>((resolve, reject) => inflater.write(piece, (error) => (error ? reject(error) : resolve())));
      written.catch(noop);
      await Promise.race([written, done]);
      if (failure) throw failure;
      const unused = fed - inflater.bytesWritten;
      if (unused > 0) {
        // The deflate stream ended inside this piece.
        feed.unshift(piece.subarray(piece.length - unused));
        fed -= unused;
        break;
      }
    }
    if (!ended) inflater.end();
    await done;
    if (failure) throw failure;
    return { compressedBytes: fed, outputBytes, crc };
  } finally {
    inflater.destroy();
  }
}
