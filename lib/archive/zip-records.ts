/**
 * The records of a zip file (PKWARE APPNOTE 6.3): local file headers, data descriptors, central
 * directory headers, the end records (zip64 and classic), and the extra fields that matter —
 * zip64 sizes and offsets, and Info-ZIP's Unicode path, which some extractors prefer to the
 * header's name. Pure functions over bytes; the walk that uses them is `zip-listing.ts`.
 */
import { crc32 } from 'node:zlib';

export const SIGNATURE = {
  local: 0x04034b50,
  central: 0x02014b50,
  end: 0x06054b50,
  zip64End: 0x06064b50,
  zip64Locator: 0x07064b50,
  descriptor: 0x08074b50,
} as const;

export const FLAG = {
  encrypted: 0x0001,
  descriptor: 0x0008,
  strongEncryption: 0x0040,
  utf8: 0x0800,
  maskedHeaders: 0x2000,
} as const;

/** Flags whose disagreement between a local header and its central entry changes how it is read. */
export const FLAGS_THAT_MATTER = FLAG.encrypted | FLAG.descriptor | FLAG.strongEncryption | FLAG.utf8 | FLAG.maskedHeaders;

export const METHOD = { stored: 0, deflated: 8 } as const;

const ZIP64_EXTRA = 0x0001;
const UNICODE_PATH_EXTRA = 0x7075;
export const MAX32 = 0xffffffff;
export const MAX16 = 0xffff;

/** After the 4-byte signature. */
export const LOCAL_FIXED_BYTES = 26;
export const CENTRAL_FIXED_BYTES = 42;
export const END_FIXED_BYTES = 18;
export const ZIP64_END_FIXED_BYTES = 52;
export const ZIP64_LOCATOR_BYTES = 16;

export interface LocalFixed {
  flags: number;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  nameLength: number;
  extraLength: number;
}

export function parseLocalFixed(bytes: Buffer): LocalFixed {
  return {
    flags: bytes.readUInt16LE(2),
    method: bytes.readUInt16LE(4),
    crc: bytes.readUInt32LE(10),
    compressedSize: bytes.readUInt32LE(14),
    size: bytes.readUInt32LE(18),
    nameLength: bytes.readUInt16LE(22),
    extraLength: bytes.readUInt16LE(24),
  };
}

export interface CentralFixed extends LocalFixed {
  /** "Version made by": its high byte is the host system, which says how extractors read `externalAttributes`. */
  madeBy: number;
  commentLength: number;
  diskStart: number;
  externalAttributes: number;
  localOffset: number;
}

export function parseCentralFixed(bytes: Buffer): CentralFixed {
  return {
    madeBy: bytes.readUInt16LE(0),
    flags: bytes.readUInt16LE(4),
    method: bytes.readUInt16LE(6),
    crc: bytes.readUInt32LE(12),
    compressedSize: bytes.readUInt32LE(16),
    size: bytes.readUInt32LE(20),
    nameLength: bytes.readUInt16LE(24),
    extraLength: bytes.readUInt16LE(26),
    commentLength: bytes.readUInt16LE(28),
    diskStart: bytes.readUInt16LE(30),
    externalAttributes: bytes.readUInt32LE(34),
    localOffset: bytes.readUInt32LE(38),
  };
}

export interface EndRecord {
  disk: number;
  directoryDisk: number;
  entriesHere: number;
  entries: number;
  directoryBytes: number;
  directoryOffset: number;
  commentLength: number;
}

export function parseEnd(bytes: Buffer): EndRecord {
  return {
    disk: bytes.readUInt16LE(0),
    directoryDisk: bytes.readUInt16LE(2),
    entriesHere: bytes.readUInt16LE(4),
    entries: bytes.readUInt16LE(6),
    directoryBytes: bytes.readUInt32LE(8),
    directoryOffset: bytes.readUInt32LE(12),
    commentLength: bytes.readUInt16LE(16),
  };
}

/** A 64-bit little-endian count, or undefined past 2^53 (no archive here comes near). */
export function uint64(bytes: Buffer, offset: number): number | undefined {
  const value = bytes.readBigUInt64LE(offset);
  return value > BigInt(Number.MAX_SAFE_INTEGER) ? undefined : Number(value);
}

/** The zip64 end record's fields after "size of record" (which must say 44: no extensible data). */
export function parseZip64End(bytes: Buffer): (Omit<EndRecord, 'commentLength'> & { recordBytes: number }) | undefined {
  // After the signature: record size (8), versions (2 + 2), disks (4 + 4), counts and directory (8 each).
  const values = [0, 12, 16, 20, 28, 36, 44].map((offset, i) =>
    i === 1 || i === 2 ? bytes.readUInt32LE(offset) : uint64(bytes, offset),
  );
  const [recordBytes, disk, directoryDisk, entriesHere, entries, directoryBytes, directoryOffset] = values;
  if (values.some((value) => value === undefined)) return undefined;
  return {
    recordBytes: recordBytes ?? 0,
    disk: disk ?? 0,
    directoryDisk: directoryDisk ?? 0,
    entriesHere: entriesHere ?? 0,
    entries: entries ?? 0,
    directoryBytes: directoryBytes ?? 0,
    directoryOffset: directoryOffset ?? 0,
  };
}

/**
 * Extra fields by id, or undefined when malformed: a field running past the end, or one id
 * given twice (readers disagree on which counts). Fewer than 4 bytes left over are ignored, as
 * Python does: zipalign pads extra fields that way.
 */
export function parseExtra(extra: Buffer): Map<number, Buffer> | undefined {
  const fields = new Map<number, Buffer>();
  let offset = 0;
  for (; offset + 4 <= extra.length; ) {
    const id = extra.readUInt16LE(offset);
    const length = extra.readUInt16LE(offset + 2);
    const end = offset + 4 + length;
    if (end > extra.length) return undefined;
    if (fields.has(id) && id !== 0) return undefined;
    fields.set(id, extra.subarray(offset + 4, end));
    offset = end;
  }
  return fields;
}

/**
 * The zip64 values for the fields that say 0xFFFFFFFF (0xFFFF for the disk), in the APPNOTE's
 * order; undefined when one is missing. A local header carries both sizes whenever it has the
 * field (`local`), the central directory only those it needs.
 */
export function zip64Values(
  extra: Map<number, Buffer>,
  fields: { size?: number; compressedSize?: number; offset?: number; disk?: number },
  local: boolean,
): { size?: number; compressedSize?: number; offset?: number } | undefined {
  const data = extra.get(ZIP64_EXTRA);
  const wants = {
    size: fields.size === MAX32 || (local && data !== undefined),
    compressedSize: fields.compressedSize === MAX32 || (local && data !== undefined),
    offset: fields.offset === MAX32,
    disk: fields.disk === MAX16,
  };
  if (!wants.size && !wants.compressedSize && !wants.offset && !wants.disk) return {};
  if (data === undefined) return undefined;
  const values: { size?: number; compressedSize?: number; offset?: number } = {};
  let at = 0;
  for (const key of ['size', 'compressedSize', 'offset'] as const) {
    if (!wants[key]) continue;
    if (at + 8 > data.length) return undefined;
    const value = uint64(data, at);
    if (value === undefined) return undefined;
    values[key] = value;
    at += 8;
  }
  if (wants.disk && (at + 4 > data.length || data.readUInt32LE(at) !== 0)) return undefined;
  return values;
}

export function hasZip64Extra(extra: Map<number, Buffer>): boolean {
  return extra.has(ZIP64_EXTRA);
}

/**
 * An Info-ZIP Unicode path field (0x7075), as the readers that use it would: unzip and libarchive
 * take its UTF-8 name over the header's when its version is 1 and its CRC-32 is the header name's;
 * others take it whatever those say, and Python ignores it. So a field is accepted only in the shape
 * all of them agree on — version 1, the header name's CRC-32 — and `zip-listing.ts` then requires
 * its name to be the header's. Undefined when there is none.
 */
export function unicodePath(extra: Map<number, Buffer>, nameBytes: Buffer): { name: Buffer } | { fault: string } | undefined {
  const data = extra.get(UNICODE_PATH_EXTRA);
  if (data === undefined) return undefined;
  if (data.length < 5) return { fault: 'is too short to hold a name' };
  if (data[0] !== 1) return { fault: `has version ${data[0]} (only version 1 is read alike by every extractor)` };
  if (data.readUInt32LE(1) !== crc32(nameBytes) >>> 0) {
    return { fault: "was written for another name (its CRC-32 is not the header name's): some extractors use it anyway" };
  }
  return { name: data.subarray(5) };
}

/**
 * Extra fields every extractor reads alike, or that carry only times, owners or padding. Any
 * other field may change what a reader that knows it writes — Info-ZIP's ASi (0x756e) and the
 * PKWARE Unix field (0x000d) can make an entry a symbolic link for unzip while others write a file —
 * so it is refused, naming its id.
 */
const ACCEPTED_EXTRA_FIELDS = new Map<number, string>([
  [0x0000, 'padding'],
  [ZIP64_EXTRA, 'Zip64 sizes'],
  [0x000a, 'NTFS times'],
  [0x5455, 'extended timestamp'],
  [0x5855, 'Info-ZIP Unix (old)'],
  [0x7855, 'Info-ZIP Unix owner'],
  [0x7875, 'Info-ZIP Unix owner (new)'],
  [UNICODE_PATH_EXTRA, 'Info-ZIP Unicode path'],
  [0x6375, 'Info-ZIP Unicode comment'],
  [0xcafe, 'Java archive marker'],
  [0xd935, 'Android zipalign padding'],
  [0xa220, 'Microsoft Open Packaging growth hint'],
]);

const REFUSED_EXTRA_FIELDS = new Map<number, string>([
  [0x000d, 'the PKWARE Unix field, which can carry a link target that unzip uses'],
  [0x756e, "Info-ZIP's ASi Unix field, whose mode can make the entry a symbolic link for unzip"],
  [0x6c78, "the 'xl' field, which some extractors read as a symbolic link's target"],
  [0x0017, 'the strong encryption header'],
  [0x9901, 'the AES encryption field'],
]);

/** Why an extra field is not accepted, or undefined when it is. */
export function extraFieldFault(id: number, data: Buffer): string | undefined {
  // libarchive refuses the whole archive on an empty extended timestamp ("Incomplete extended time field").
  if (id === 0x5455 && data.length === 0) return 'an empty extended timestamp field (0x5455), which bsdtar refuses';
  if (ACCEPTED_EXTRA_FIELDS.has(id)) return undefined;
  const hex = `0x${id.toString(16).padStart(4, '0')}`;
  const known = REFUSED_EXTRA_FIELDS.get(id);
  return known ? `${known} (${hex})` : `the extra field ${hex}, which extractors that know it may apply and the others ignore`;
}
