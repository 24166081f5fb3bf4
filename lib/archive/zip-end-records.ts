/**
 * The end of a zip: the zip64 end record and its locator when there are any, the end of central
 * directory record, its comment, and nothing after. Every count and offset must match the
 * central directory actually read, and the comment may hold no record signature: a reader that
 * searches backwards from the end for the end record would take one hidden there.
 */
import type { ByteFeed } from './byte-feed';
import { InvalidPackageFormatError } from '../core/errors';
import { zipSignatureIn } from './polyglot-checks';
import {
  END_FIXED_BYTES,
  MAX16,
  MAX32,
  parseEnd,
  parseZip64End,
  SIGNATURE,
  uint64,
  ZIP64_END_FIXED_BYTES,
  ZIP64_LOCATOR_BYTES,
  type EndRecord,
} from './zip-records';

export type Zip64End = NonNullable<ReturnType<typeof parseZip64End>>;

function refuse(detail: string): InvalidPackageFormatError {
  return new InvalidPackageFormatError(detail);
}

/** After the zip64 end record's signature: the record, then its locator, which must point back to it. */
export async function readZip64End(feed: ByteFeed): Promise<Zip64End> {
  const at = feed.position - 4;
  const record = parseZip64End(await feed.read(ZIP64_END_FIXED_BYTES));
  if (record === undefined || record.recordBytes !== 44) throw refuse('The zip archive has a zip64 end record it cannot use.');
  if ((await feed.read(4)).readUInt32LE(0) !== SIGNATURE.zip64Locator) {
    throw refuse('The zip archive has a zip64 end record without its locator.');
  }
  const locator = await feed.read(ZIP64_LOCATOR_BYTES);
  if (locator.readUInt32LE(0) !== 0 || uint64(locator, 4) !== at || locator.readUInt32LE(12) > 1) {
    throw refuse('The zip archive has a zip64 locator that does not point to its zip64 end record.');
  }
  return record;
}

/** After the end record's signature: its fields, which must describe `actual`, then the comment and the end of the file. */
export async function readEndRecord(
  feed: ByteFeed,
  actual: { directoryStart: number; directoryBytes: number; entries: number },
  zip64: Zip64End | undefined,
): Promise<void> {
  const fields = await feed.read(END_FIXED_BYTES);
  const end = parseEnd(fields);
  const expected: Record<keyof Omit<EndRecord, 'commentLength'>, number> = {
    disk: 0,
    directoryDisk: 0,
    entriesHere: actual.entries,
    entries: actual.entries,
    directoryBytes: actual.directoryBytes,
    directoryOffset: actual.directoryStart,
  };
  for (const [key, value] of Object.entries(expected) as [keyof typeof expected, number][]) {
    // 0xFFFF or 0xFFFFFFFF: the value is in the zip64 end record.
    const maxed = end[key] === (key === 'directoryBytes' || key === 'directoryOffset' ? MAX32 : MAX16);
    const stated = maxed && zip64 ? zip64[key] : end[key];
    if (stated !== value || (zip64 && zip64[key] !== value)) {
      throw refuse(`The zip archive's end of central directory record does not match its central directory (${key}).`);
    }
  }
  const comment = await feed.read(end.commentLength);
  if (zipSignatureIn(Buffer.concat([fields, comment]))) {
    throw refuse('The zip archive has a zip record signature in its comment: zip readers would not agree on where the archive ends.');
  }
  if (!(await feed.atEnd())) {
    throw refuse('The zip archive goes on after its end of central directory record and comment: other tools may read those bytes as another archive.');
  }
}
