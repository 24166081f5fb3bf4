/**
 * The records of a tar stream (POSIX ustar and pax, GNU): 512-byte header blocks, numbers in
 * octal or base-256, pax extended-header records. Pure functions over bytes; the walk that uses
 * them is `tar-parser.ts`.
 */

export const BLOCK = 512;

export type HeaderProblem = 'checksum' | 'magic' | 'number';

export interface TarHeader {
  /** Name bytes: ustar prefix + '/' + name when the prefix is set. */
  name: Buffer;
  linkName: Buffer;
  size: number;
  /** The type flag as a character ('0', '5', 'x', …); '\0' is an old regular file. */
  type: string;
  /**
   * A GNU-format header with bytes where POSIX keeps the name prefix (GNU keeps access and change
   * times there): GNU tar ignores them, Python's tarfile puts them before the name.
   */
  gnuPrefixSet: boolean;
}

const ZEROS = Buffer.alloc(64 * 1024);

/** Whether every byte is zero: the end-of-archive block, and the only padding allowed after it. */
export function isZeros(bytes: Buffer): boolean {
  for (let offset = 0; offset < bytes.length; offset += ZEROS.length) {
    const piece = bytes.subarray(offset, offset + ZEROS.length);
    if (!piece.equals(ZEROS.subarray(0, piece.length))) return false;
  }
  return true;
}

/** Bytes up to the first NUL of a fixed-width field. */
function field(block: Buffer, offset: number, length: number): Buffer {
  const bytes = block.subarray(offset, offset + length);
  const end = bytes.indexOf(0);
  return end === -1 ? bytes : bytes.subarray(0, end);
}

/** An octal number padded with spaces or NULs, or GNU's base-256 (high bit of the first byte set). */
export function tarNumber(block: Buffer, offset: number, length: number): number | undefined {
  const first = block[offset] ?? 0;
  if (first & 0x80) {
    if (first !== 0x80) return undefined; // 0xff: negative
    let value = 0;
    for (let i = offset + 1; i < offset + length; i += 1) value = value * 256 + (block[i] ?? 0);
    return Number.isSafeInteger(value) ? value : undefined;
  }
  const text = block.toString('latin1', offset, offset + length).replace(/[\0 ]+$/, '').replace(/^ +/, '');
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) return undefined;
  const value = parseInt(text, 8);
  return Number.isSafeInteger(value) ? value : undefined;
}

function checksumMatches(block: Buffer): boolean {
  const recorded = tarNumber(block, 148, 8);
  let sum = 8 * 0x20;
  for (let i = 0; i < BLOCK; i += 1) if (i < 148 || i >= 156) sum += block[i] ?? 0;
  return recorded === sum;
}

/** The magic of POSIX ustar ("ustar\0", then a version) or of GNU tar ("ustar  \0"). */
function formatOf(block: Buffer): 'posix' | 'gnu' | undefined {
  const magic = block.toString('latin1', 257, 265);
  if (magic === 'ustar  \u0000') return 'gnu';
  if (magic.startsWith('ustar\u0000')) return 'posix';
  return undefined;
}

/** Whether the bytes parse as a tar header block (checksum right), whatever else they are. */
export function isTarHeader(block: Buffer): boolean {
  return block.length >= BLOCK && !isZeros(block.subarray(0, BLOCK)) && checksumMatches(block.subarray(0, BLOCK));
}

export function parseHeader(block: Buffer): TarHeader | HeaderProblem {
  if (!checksumMatches(block)) return 'checksum';
  const format = formatOf(block);
  if (format === undefined) return 'magic';
  const size = tarNumber(block, 124, 12);
  if (size === undefined) return 'number';
  let name = field(block, 0, 100);
  // GNU tar keeps access and change times where POSIX keeps the prefix.
  const prefix = format === 'posix' ? field(block, 345, 155) : Buffer.alloc(0);
  if (prefix.length > 0) name = Buffer.concat([prefix, Buffer.from('/'), name]);
  return {
    name,
    linkName: field(block, 157, 100),
    size,
    type: String.fromCharCode(block[156] ?? 0),
    gnuPrefixSet: format === 'gnu' && block[345] !== 0,
  };
}

/**
 * The records of a pax extended header ("<length> <key>=<value>\n", the length counting the
 * whole record), or undefined when one is malformed. A key given twice is malformed too:
 * readers disagree on which one wins.
 */
export function parsePax(bytes: Buffer): Map<string, Buffer> | undefined {
  const records = new Map<string, Buffer>();
  for (let offset = 0; offset < bytes.length; ) {
    // Some writers pad the header's data with NULs after the last record.
    if (bytes[offset] === 0 && isZeros(bytes.subarray(offset))) break;
    const space = bytes.indexOf(0x20, offset);
    if (space === -1 || space - offset > 20) return undefined;
    const lengthText = bytes.toString('latin1', offset, space);
    if (!/^[1-9][0-9]*$/.test(lengthText)) return undefined;
    const end = offset + Number(lengthText);
    if (end > bytes.length || bytes[end - 1] !== 0x0a) return undefined;
    const record = bytes.subarray(space + 1, end - 1);
    const equals = record.indexOf(0x3d);
    if (equals <= 0) return undefined;
    const key = record.toString('utf8', 0, equals);
    if (records.has(key)) return undefined;
    records.set(key, record.subarray(equals + 1));
    offset = end;
  }
  return records;
}
