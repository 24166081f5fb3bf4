/**
 * Signs that one file is two archives (issue 11): a zip hidden where another format's readers
 * do not look. Zip readers find an archive from its end-of-central-directory record, searched
 * for in the last 64 KiB of the file (plus the record's 22 bytes) whatever comes before it; tar
 * readers (Python's tarfile tries plain tar first) take any first block whose checksum holds.
 */
import { isTarHeader } from './tar-headers';

const SIGNATURES = [0x04034b50, 0x02014b50, 0x06054b50, 0x06064b50, 0x07064b50, 0x08074b50].map((value) => {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32LE(value);
  return bytes;
});
const END_RECORD = SIGNATURES[2] ?? Buffer.alloc(4);
const ZIP64_LOCATOR = SIGNATURES[4] ?? Buffer.alloc(4);

/** Bytes zip readers search for the end record: the longest comment plus the record itself. */
export const ZIP_SEARCH_WINDOW = 0xffff + 22;

/** Whether the bytes hold any zip record signature (local, central, end records, descriptor). */
export function zipSignatureIn(bytes: Buffer): boolean {
  return SIGNATURES.some((signature) => bytes.includes(signature));
}

/**
 * The file offset of an end-of-central-directory record in `tail` (the file's last bytes,
 * starting at `tailStart`) that a zip reader would take: one disk, entry counts that agree and
 * a directory that fits before the record (or a zip64 locator right before it). A random match
 * of the 4-byte signature in compressed data fails these; an empty zip is harmless and ignored.
 */
export function zipEndRecordIn(tail: Buffer, tailStart: number): number | undefined {
  for (let at = tail.lastIndexOf(END_RECORD); at !== -1; at = at === 0 ? -1 : tail.lastIndexOf(END_RECORD, at - 1)) {
    if (at + 22 > tail.length) continue;
    const disk = tail.readUInt16LE(at + 4);
    const directoryDisk = tail.readUInt16LE(at + 6);
    const entriesHere = tail.readUInt16LE(at + 8);
    const entries = tail.readUInt16LE(at + 10);
    const directoryBytes = tail.readUInt32LE(at + 12);
    const directoryOffset = tail.readUInt32LE(at + 16);
    const zip64 = at >= 20 && tail.subarray(at - 20, at - 16).equals(ZIP64_LOCATOR);
    const plausible =
      zip64 ||
      (disk === 0 &&
        directoryDisk === 0 &&
        entries > 0 &&
        entriesHere === entries &&
        directoryBytes >= 46 * entries &&
        directoryOffset + directoryBytes <= tailStart + at);
    if (plausible) return tailStart + at;
  }
  return undefined;
}

/** Keeps the last ZIP_SEARCH_WINDOW bytes of a stream. */
export class TailWindow {
  private chunks: Buffer[] = [];
  private length = 0;
  private seen = 0;

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.length += chunk.length;
    this.seen += chunk.length;
    while (this.chunks.length > 1 && this.length - (this.chunks[0]?.length ?? 0) >= ZIP_SEARCH_WINDOW) {
      this.length -= this.chunks.shift()?.length ?? 0;
    }
  }

  /** The last bytes and the file offset of their first byte. */
  tail(): { bytes: Buffer; start: number } {
    const bytes = Buffer.concat(this.chunks, this.length);
    const kept = bytes.subarray(Math.max(0, bytes.length - ZIP_SEARCH_WINDOW));
    return { bytes: kept, start: this.seen - kept.length };
  }
}

export { isTarHeader };
