/**
 * Reads a gzip file (RFC 1952) from a ByteFeed: its header, whose optional fields are checked
 * for a hidden archive, its one deflate stream, and its trailer (CRC-32 and length). Nothing may
 * follow: not data appended to it, and not a second gzip member either. gzip, Python
 * and Node read on into further members while most archive checks would stop at the first, so a
 * package is one member, as `gzip`, `tar -z` and every packaging tool write it.
 */
import { crc32 } from 'node:zlib';
import { EndOfBytes, type ByteFeed } from './byte-feed';
import { InvalidPackageFormatError } from '../core/errors';
import { zipSignatureIn } from './polyglot-checks';
import { inflateRaw, isZlibError } from './raw-inflate';

const FHCRC = 0x02;
const FEXTRA = 0x04;
const FNAME = 0x08;
const FCOMMENT = 0x10;
const RESERVED_FLAGS = 0xe0;
/** The file name and comment end at a NUL and have no length limit of their own: gzip writes a file name. */
const MAX_TEXT_FIELD_BYTES = 64 * 1024;

function corrupt(reason: string): InvalidPackageFormatError {
  return new InvalidPackageFormatError(`The gzip stream is corrupt (${reason}).`);
}

const truncated = (): InvalidPackageFormatError => new InvalidPackageFormatError('The gzip stream is truncated.');

function checkField(what: string, bytes: Buffer): void {
  if (zipSignatureIn(bytes)) {
    throw new InvalidPackageFormatError(
      `The gzip header's ${what} holds a zip signature: zip tools would find a different archive in this file.`,
    );
  }
}

async function readHeader(feed: ByteFeed): Promise<void> {
  const parts: Buffer[] = [];
  const read = async (n: number): Promise<Buffer> => {
    const bytes = await feed.read(n);
    parts.push(bytes);
    return bytes;
  };
  const fixed = await read(10);
  if (fixed[2] !== 8) throw corrupt(`compression method ${fixed[2] ?? 0}; gzip only defines deflate`);
  const flags = fixed[3] ?? 0;
  if (flags & RESERVED_FLAGS) throw corrupt('reserved header flags are set');
  if (flags & FEXTRA) {
    const length = (await read(2)).readUInt16LE(0);
    checkField('extra field', await read(length));
  }
  for (const [flag, what] of [
    [FNAME, 'file name'],
    [FCOMMENT, 'comment'],
  ] as const) {
    if (!(flags & flag)) continue;
    const text = await feed.readUntil(0, MAX_TEXT_FIELD_BYTES);
    if (text === undefined) throw corrupt(`its ${what} is longer than ${MAX_TEXT_FIELD_BYTES} bytes`);
    parts.push(text, Buffer.alloc(1));
    checkField(what, text);
  }
  if (flags & FHCRC) {
    const expected = crc32(Buffer.concat(parts)) & 0xffff;
    if ((await feed.read(2)).readUInt16LE(0) !== expected) throw corrupt('the header checksum does not match');
  }
}

/** Reads the whole gzip file, handing the decompressed bytes to `onOutput`; throws the first refusal. */
export async function readGzip(feed: ByteFeed, onOutput: (bytes: Buffer) => void): Promise<void> {
  try {
    await readHeader(feed);
    const inflated = await inflateRaw(feed, onOutput);
    const trailer = await feed.read(8);
    if (trailer.readUInt32LE(0) !== inflated.crc >>> 0) throw corrupt('the CRC-32 of its content does not match');
    if (trailer.readUInt32LE(4) !== inflated.outputBytes % 2 ** 32) throw corrupt('the length of its content does not match');
  } catch (error) {
    if (error instanceof EndOfBytes || (isZlibError(error) && error.code === 'Z_BUF_ERROR')) throw truncated();
    if (isZlibError(error)) throw corrupt(error.message);
    throw error;
  }
  if (await feed.atEnd()) return;
  const next = await feed.peek(2);
  throw new InvalidPackageFormatError(
    next[0] === 0x1f && next[1] === 0x8b
      ? 'The file holds a second gzip stream after the first: tools disagree on whether to read it, so only one is accepted.'
      : 'The file goes on after the end of its gzip stream: tools disagree on whether to read such data, so none is accepted.',
  );
}
