/**
 * The records of a tar stream (POSIX ustar and pax, GNU): 512-byte header blocks, numbers in
 * octal or base-256, pax extended-header records. Pure functions over bytes; the walk that uses
 * them is `tar-parser.ts`.
 */

export const BLOCK = 512;

/** POSIX ustar (and pax), GNU tar's own, or the old V7 header without a magic (automake's `make dist`). */
export type TarFormat = 'posix' | 'gnu' | 'v7';

/** Why a block is not a header every reader takes alike; `checksum` means it is no tar header at all. */
export type HeaderFault = { fault: 'checksum' } | { fault: 'field'; field: string; why: string };

export interface TarHeader {
  format: TarFormat;
  /** Name bytes: ustar prefix + '/' + name when the prefix is set. */
  name: Buffer;
  /** Whether the 100-byte name field itself ends in '/': Python's tarfile decides an old directory by it. */
  nameFieldEndsWithSlash: boolean;
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

/**
 * A number field as every reader takes it alike: optional leading spaces, octal digits, then only
 * spaces and NULs; all NULs for zero; or GNU's positive base-256 (0x80, then big-endian bytes).
 * Python's tarfile stops at the first NUL and GNU tar skips one leading NUL, so `\0777` is 0 to one
 * and 511 to the other; a sign, an underscore or a tab is a number to Python only. Undefined for
 * anything else.
 */
export function tarNumber(block: Buffer, offset: number, length: number): number | undefined {
  const end = offset + length;
  const first = block[offset] ?? 0;
  if (first & 0x80) {
    if (first !== 0x80) return undefined; // 0xff: negative
    let value = 0;
    for (let i = offset + 1; i < end; i += 1) value = value * 256 + (block[i] ?? 0);
    return Number.isSafeInteger(value) ? value : undefined;
  }
  // A loop over the bytes, not a regex over a string: every header has eight of these fields.
  let at = offset;
  if (first === 0) {
    for (; at < end; at += 1) if (block[at] !== 0) return undefined;
    return 0;
  }
  while (at < end && block[at] === 0x20) at += 1;
  let value = 0;
  let digits = 0;
  for (; at < end; at += 1) {
    const byte = block[at] ?? 0;
    if (byte < 0x30 || byte > 0x37) break;
    value = value * 8 + (byte - 0x30);
    digits += 1;
  }
  if (digits === 0) return undefined;
  for (; at < end; at += 1) {
    const byte = block[at];
    if (byte !== 0x20 && byte !== 0) return undefined;
  }
  return Number.isSafeInteger(value) ? value : undefined;
}

/**
 * The header checksum: the sum of the block's bytes with the checksum field as spaces, unsigned —
 * or signed, as some old tars (Sun, NeXT) summed them; GNU tar, libarchive and Python accept both.
 */
function checksumMatches(block: Buffer): boolean {
  const recorded = tarNumber(block, 148, 8);
  if (recorded === undefined) return false;
  let unsigned = 8 * 0x20;
  for (let i = 0; i < 148; i += 1) unsigned += block[i] ?? 0;
  for (let i = 156; i < BLOCK; i += 1) unsigned += block[i] ?? 0;
  if (recorded === unsigned) return true;
  // Signed, each byte from 0x80 up counts 256 less.
  let high = 0;
  for (let i = 0; i < BLOCK; i += 1) if ((i < 148 || i >= 156) && (block[i] ?? 0) >= 0x80) high += 1;
  return recorded === unsigned - 256 * high;
}

/** The magic of POSIX ustar ("ustar\0" then version "00"), of GNU tar ("ustar  \0"), or none (V7). */
function formatOf(block: Buffer): TarFormat | 'other' {
  const magic = block.toString('latin1', 257, 265);
  if (magic === 'ustar  \u0000') return 'gnu';
  if (magic === 'ustar\u000000') return 'posix';
  // Another version, or a magic one reader takes for ustar and another for V7.
  if (magic.startsWith('ustar')) return 'other';
  return 'v7';
}

/** The number fields Python's tarfile parses in every header (an invalid one ends its listing there, silently). */
const NUMBER_FIELDS: readonly (readonly [string, number, number])[] = [
  ['mode', 100, 8],
  ['uid', 108, 8],
  ['gid', 116, 8],
  ['mtime', 136, 12],
  ['devmajor', 329, 8],
  ['devminor', 337, 8],
];

/** Types an old V7 header may have: no extended headers or vendor types, which came with ustar. */
const V7_TYPES = new Set(['\0', '0', '1', '2', '5']);

/** Whether the bytes parse as a tar header block (checksum right), whatever else they are. */
export function isTarHeader(block: Buffer): boolean {
  return block.length >= BLOCK && !isZeros(block.subarray(0, BLOCK)) && checksumMatches(block.subarray(0, BLOCK));
}

export function parseHeader(block: Buffer): TarHeader | HeaderFault {
  if (!checksumMatches(block)) return { fault: 'checksum' };
  const format = formatOf(block);
  if (format === 'other') return { fault: 'field', field: 'magic', why: 'a ustar magic or version that readers take differently' };
  const size = tarNumber(block, 124, 12);
  if (size === undefined) return { fault: 'field', field: 'size', why: 'a size that is not an octal or base-256 number' };
  for (const [field, offset, length] of NUMBER_FIELDS) {
    if (tarNumber(block, offset, length) === undefined) return { fault: 'field', field, why: `a ${field} that is not an octal or base-256 number` };
  }
  const type = String.fromCharCode(block[156] ?? 0);
  if (format === 'v7') {
    // GNU tar writes its volume label without a magic: let the walk refuse it by what it is.
    if (!V7_TYPES.has(type) && type !== 'V') return { fault: 'field', field: 'type', why: `type ${JSON.stringify(type)} in an old (V7) header without the ustar magic` };
    // Python's tarfile reads the ustar prefix whatever the magic; GNU tar and libarchive do not.
    if (block[345] !== 0) return { fault: 'field', field: 'prefix', why: 'bytes in the name-prefix field of an old (V7) header, which Python puts before the name and tar ignores' };
  }
  const ownName = field(block, 0, 100);
  let name = ownName;
  // GNU tar keeps access and change times where POSIX keeps the prefix.
  const prefix = format === 'posix' ? field(block, 345, 155) : Buffer.alloc(0);
  if (prefix.length > 0) name = Buffer.concat([prefix, Buffer.from('/'), name]);
  return {
    format,
    name,
    nameFieldEndsWithSlash: ownName[ownName.length - 1] === 0x2f,
    linkName: field(block, 157, 100),
    size,
    type,
    gnuPrefixSet: format === 'gnu' && block[345] !== 0,
  };
}

