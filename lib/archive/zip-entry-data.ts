/**
 * The data of one zip entry, read from the stream that carries it: stored bytes copied, deflated
 * bytes inflated (in one synchronous call when small, else streamed), and the data descriptor
 * that follows an entry whose sizes were not known when its header was written. Each returns the
 * CRC-32 and sizes the data actually has, for `zip-listing.ts` to compare with the headers.
 */
import { crc32, inflateRawSync } from 'node:zlib';
import { quote } from './archive-safety';
import type { ByteFeed } from './byte-feed';
import { InvalidPackageFormatError } from '../core/errors';
import { inflateRaw, isZlibError, type Inflated } from './raw-inflate';
import { SIGNATURE, uint64 } from './zip-records';

/** Where an entry's uncompressed bytes go; it throws to stop a bomb. */
export interface EntrySink {
  take(bytes: Buffer): void;
}

/** Entries inflated in one synchronous call: small enough not to hold up the event loop. */
const SYNC_COMPRESSED_BYTES = 256 * 1024;
const SYNC_OUTPUT_BYTES = 4 * 1024 * 1024;
const STORED_SCAN_WINDOW = 64 * 1024;
const DESCRIPTOR_SIGNATURE = Buffer.from([0x50, 0x4b, 0x07, 0x08]);

function refuse(detail: string): InvalidPackageFormatError {
  return new InvalidPackageFormatError(detail);
}

/** A stored entry of known size: its bytes as they are. */
export async function readStored(feed: ByteFeed, bytes: number, sink: EntrySink): Promise<Inflated> {
  let crc = 0;
  await feed.skip(bytes, (piece) => {
    crc = crc32(piece, crc);
    sink.take(piece);
  });
  return { compressedBytes: bytes, outputBytes: bytes, crc };
}

/**
 * A stored entry whose sizes follow its data (Python's zipfile and Node's archiver write these
 * to a pipe): it ends at its descriptor, which must be the first descriptor signature in its data
 * and be followed by the CRC-32 and sizes of the bytes before it — streaming readers that check
 * those go on past a signature that does not match, those that do not stop at it. Java's
 * ZipInputStream refuses such entries; a central-directory reader takes the directory's size,
 * which must then agree. The descriptor itself is read by `readDescriptor` afterwards.
 */
export async function readStoredToDescriptor(feed: ByteFeed, name: string, wide: boolean, sink: EntrySink): Promise<Inflated> {
  const descriptorBytes = 4 + 4 + (wide ? 16 : 8);
  let crc = 0;
  let size = 0;
  for (;;) {
    const window = await feed.peek(STORED_SCAN_WINDOW);
    if (window.length < descriptorBytes) {
      throw refuse(`Entry ${quote(name)} is stored with its sizes after the data, but no data descriptor matches it.`);
    }
    let folded = 0;
    const fold = (end: number): void => {
      crc = crc32(window.subarray(folded, end), crc);
      size += end - folded;
      folded = end;
    };
    for (let at = window.indexOf(DESCRIPTOR_SIGNATURE); at !== -1 && at + descriptorBytes <= window.length; at = window.indexOf(DESCRIPTOR_SIGNATURE, at + 1)) {
      fold(at);
      const sizeAt = (offset: number): number | undefined => (wide ? uint64(window, offset) : window.readUInt32LE(offset));
      if (window.readUInt32LE(at + 4) === crc >>> 0 && sizeAt(at + 8) === size && sizeAt(at + (wide ? 16 : 12)) === size) {
        if (at > 0) sink.take(await feed.read(at));
        return { compressedBytes: size, outputBytes: size, crc };
      }
      // Streaming readers that do not check the CRC-32 stop at the first signature, the others go on.
      throw refuse(
        `Entry ${quote(name)} is stored with its sizes after the data, and its data holds a data descriptor signature before its end: ` +
          'streaming extractors would end it there. Store it with its sizes in the header, or compress it.',
      );
    }
    // No descriptor here: take all but the bytes a signature straddling the window's end could start in.
    const taken = window.length - descriptorBytes + 1;
    fold(taken);
    sink.take(await feed.read(taken));
  }
}

/** A deflated entry of known sizes: exactly `compressedSize` bytes, which must hold the whole stream. */
export async function inflateDeclared(feed: ByteFeed, name: string, compressedSize: number, size: number, sink: EntrySink): Promise<Inflated> {
  if (compressedSize <= SYNC_COMPRESSED_BYTES && size <= SYNC_OUTPUT_BYTES) {
    const compressed = await feed.read(compressedSize);
    const inflated = inflateNow(compressed, Math.max(1, size + 1));
    if (inflated === 'needs more input') {
      throw refuse(`Entry ${quote(name)} has compressed data that goes on past the ${compressedSize} bytes its header says.`);
    }
    if (inflated === 'too large') throw refuse(`Entry ${quote(name)} inflates to more than the ${size} bytes its header says (a zip bomb).`);
    sink.take(inflated.output);
    return inflated.result;
  }
  try {
    return await inflateRaw(feed, (bytes) => sink.take(bytes), compressedSize);
  } catch (error) {
    if (isZlibError(error) && error.code === 'Z_BUF_ERROR') {
      throw refuse(`Entry ${quote(name)} has compressed data that goes on past the ${compressedSize} bytes its header says.`);
    }
    throw error;
  }
}

/**
 * A deflated entry with a data descriptor: inflated until its deflate stream ends, in one call
 * when it is already buffered and inflates to at most `room` bytes (else streamed).
 */
export async function inflateToStreamEnd(feed: ByteFeed, sink: EntrySink, room: number): Promise<Inflated> {
  const here = feed.buffered(SYNC_COMPRESSED_BYTES);
  if (here.length > 0) {
    const inflated = inflateNow(here, Math.max(1, Math.min(SYNC_OUTPUT_BYTES, room)));
    if (typeof inflated !== 'string') {
      await feed.read(inflated.result.compressedBytes);
      sink.take(inflated.output);
      return inflated.result;
    }
  }
  return inflateRaw(feed, (bytes) => sink.take(bytes));
}

function inflateNow(compressed: Buffer, maxOutput: number): { output: Buffer; result: Inflated } | 'needs more input' | 'too large' {
  try {
    const { buffer, engine } = inflateRawSync(compressed, { info: true, maxOutputLength: maxOutput }) as unknown as {
      buffer: Buffer;
      engine: { bytesWritten: number };
    };
    return { output: buffer, result: { compressedBytes: engine.bytesWritten, outputBytes: buffer.length, crc: crc32(buffer) } };
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') return 'too large';
    if (isZlibError(error) && error.code === 'Z_BUF_ERROR') return 'needs more input';
    throw error;
  }
}

/**
 * The data descriptor after a streamed entry: CRC-32 and sizes, 8-byte sizes when the local
 * header has a zip64 field, with or without its own signature. The bytes must match the data.
 */
export async function readDescriptor(feed: ByteFeed, name: string, actual: Inflated, wide: boolean): Promise<void> {
  const sizeBytes = wide ? 8 : 4;
  const length = 4 + 2 * sizeBytes;
  const bytes = await feed.peek(4 + length);
  const readSize = (at: number): number | undefined => (wide ? uint64(bytes, at) : bytes.readUInt32LE(at));
  const matches = (at: number): boolean =>
    bytes.length >= at + length &&
    bytes.readUInt32LE(at) === actual.crc >>> 0 &&
    readSize(at + 4) === actual.compressedBytes &&
    readSize(at + 4 + sizeBytes) === actual.outputBytes;
  if (bytes.length >= 4 && bytes.readUInt32LE(0) === SIGNATURE.descriptor && matches(4)) {
    await feed.read(4 + length);
  } else if (matches(0)) {
    await feed.read(length);
  } else {
    throw refuse(`Entry ${quote(name)} has a data descriptor that does not match its data.`);
  }
}
