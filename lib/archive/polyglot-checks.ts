/**
 * Signs that one file is two archives: a zip hidden where another format's readers
 * do not look. Zip readers find an archive from its end-of-central-directory record, searched
 * for near the end of the file (`ZIP_SEARCH_WINDOW`) whatever comes before it; tar
 * readers (Python's tarfile tries plain tar first) take any first block whose checksum holds.
 */
import { isTarHeader } from './tar-headers';

const SIGNATURES = [0x04034b50, 0x02014b50, 0x06054b50, 0x06064b50, 0x07064b50, 0x08074b50].map((value) => {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32LE(value);
  return bytes;
});
const END_RECORD = SIGNATURES[2] ?? Buffer.alloc(4);

/**
 * Bytes from the end in which a zip reader may take an end record: Python and Java search 64 KiB
 * + 22 bytes, Go's archive/zip 65 KiB, and Info-ZIP's unzip reads whole 8 KiB blocks, so it
 * reaches up to 73,748 bytes back depending on the file's length. 80 KiB covers them all.
 */
export const ZIP_SEARCH_WINDOW = 80 * 1024;
const END_RECORD_BYTES = 22;

/** Whether the bytes hold any zip record signature (local, central, end records, descriptor). */
export function zipSignatureIn(bytes: Buffer): boolean {
  return SIGNATURES.some((signature) => bytes.includes(signature));
}

/**
 * The file offset of the last end-of-central-directory signature in `tail` (the file's last
 * bytes, starting at `tailStart`) with room for its 22-byte record before the end, if any.
 *
 * Nothing else in the record is trusted: Python's zipfile ignores the entry counts and reads the
 * directory at the record's position minus the directory's size, whatever the offset says, and
 * unzip lists entries past counts and offsets that do not match. A check of those fields is a
 * check a polyglot can be built to fail. The price is a random match: 4 bytes in compressed data
 * match about once in 52,000 .tar.gz files of 80 KiB or more.
 */
export function zipEndRecordIn(tail: Buffer, tailStart: number): number | undefined {
  if (tail.length < END_RECORD_BYTES) return undefined;
  const at = tail.lastIndexOf(END_RECORD, tail.length - END_RECORD_BYTES);
  return at === -1 ? undefined : tailStart + at;
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
