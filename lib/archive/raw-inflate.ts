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
/** Output inflated and not yet read, before the inflater pauses. */
const OUTPUT_QUEUE = 4 * OUTPUT_CHUNK;
/** At most this many compressed bytes go to the inflater at a time. */
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
  // Output is handed on in a microtask, not inside zlib's callback: Node schedules the next piece's
  // inflating (on the thread pool) only after that callback returns, so the pool inflates piece
  // k + 1 while this thread reads piece k, instead of each waiting for the other.
  let queued: Buffer[] = [];
  let queuedBytes = 0;
  const handOn = (): void => {
    const pieces = queued;
    queued = [];
    queuedBytes = 0;
    for (const bytes of pieces) {
      if (failure) return;
      crc = crc32(bytes, crc);
      outputBytes += bytes.length;
      try {
        onOutput(bytes);
      } catch (error) {
        failure = error as Error;
        inflater.destroy(failure);
        return;
      }
    }
    if (inflater.isPaused() && !inflater.destroyed) inflater.resume();
  };
  inflater.on('data', (bytes: Buffer) => {
    if (failure) return;
    if (queued.length === 0) queueMicrotask(handOn);
    queued.push(bytes);
    queuedBytes += bytes.length;
    // At most OUTPUT_QUEUE bytes of output wait for the reader.
    if (queuedBytes >= OUTPUT_QUEUE) inflater.pause();
  });
  try {
    while (!ended) {
      const left = compressedBytes === undefined ? INPUT_PIECE : Math.min(INPUT_PIECE, compressedBytes - fed);
      if (left === 0) break;
      // Every chunk waiting in the feed goes to the inflater at once: one wait per batch, not per chunk.
      const pieces = await feed.nextAll(left);
      if (pieces === undefined) break;
      const lastPiece = pieces.pop() ?? Buffer.alloc(0);
      for (const piece of pieces) {
        fed += piece.length;
        inflater.write(piece);
      }
      pieces.push(lastPiece);
      fed += lastPiece.length;
      // zlib takes writes in order: once the last is done, so are the others (an error ends `done`).
      const written = new Promise<void>((resolve, reject) => inflater.write(lastPiece, (error) => (error ? reject(error) : resolve())));
      written.catch(noop);
      await Promise.race([written, done]);
      if (failure) throw failure;
      const unused = fed - inflater.bytesWritten;
      if (unused > 0) {
        // The deflate stream ended inside this batch.
        feed.unshiftTail(pieces, unused);
        fed -= unused;
        break;
      }
    }
    if (!ended) inflater.end();
    await done;
    handOn();
    if (failure) throw failure;
    return { compressedBytes: fed, outputBytes, crc };
  } finally {
    inflater.destroy();
  }
}
