/**
 * Lists a zip from its central directory, read with ranged reads of the stored object (yauzl
 * over a `RandomAccessReader` backed by a `RangeReader`), applying `EntryRules` entry by entry.
 * Only the central directory and the targets of symbolic links are read; sizes are the ones the
 * central directory declares.
 */
import { Readable } from 'node:stream';
import { fromRandomAccessReaderPromise, RandomAccessReader, type Entry, type ZipFile } from 'yauzl';
import { checkEntryName, EntryRules, quote, type ArchiveEntry, type ArchiveLimits, type ArchiveSummary } from './archive-safety';
import { InvalidPackageFormatError, ServiceError } from './errors';

/** Reads bytes [start, end) of the stored archive (an S3 ranged GET in production). */
export type RangeReader = (start: number, end: number) => Promise<Buffer>;

const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;
const S_IFDIR = 0o040000;
const SPECIAL_FILE_TYPES = new Map([
  [0o010000, 'fifo'],
  [0o020000, 'character-device'],
  [0o060000, 'block-device'],
  [0o140000, 'socket'],
]);
/** A symbolic link's target is a path, not content: PATH_MAX on Linux is 4 KiB. */
const MAX_LINK_TARGET_BYTES = 4096;

/**
 * yauzl reads the central directory one small record at a time; one GET per read would cost two
 * requests per entry. Reads are served from a window fetched ahead, which doubles while reads
 * are sequential (the central directory) and starts small again elsewhere (a link's local header).
 */
const MIN_WINDOW_BYTES = 16 * 1024;
const MAX_WINDOW_BYTES = 1024 * 1024;

class RangeBackedReader extends RandomAccessReader {
  /** The RangeReader's own failure (S3 down), reported as it came rather than as a format error. */
  failure: unknown;
  private window: { start: number; bytes: Buffer } = { start: 0, bytes: Buffer.alloc(0) };
  private nextWindowBytes = MIN_WINDOW_BYTES;

  constructor(
    private readonly readRange: RangeReader,
    private readonly size: number,
  ) {
    super();
  }

  override _readStreamForRange(start: number, end: number): Readable {
    return Readable.from(this.pieces(start, end), { objectMode: false });
  }

  /** yauzl's reads of headers: copied straight from the window, without a stream per read. */
  override read(
    buffer: Buffer,
    offset: number,
    length: number,
    position: number,
    callback: (error: Error | null) => void,
  ): void {
    const copy = async (): Promise<void> => {
      let written = 0;
      for await (const piece of this.pieces(position, position + length)) {
        piece.copy(buffer, offset + written);
        written += piece.length;
      }
    };
    copy().then(
      () => callback(null),
      (error: unknown) => callback(error instanceof Error ? error : new Error(String(error))),
    );
  }

  private async *pieces(start: number, end: number): AsyncGenerator<Buffer> {
    let position = start;
    while (position < end) {
      const windowEnd = this.window.start + this.window.bytes.length;
      if (position < this.window.start || position >= windowEnd) await this.fetchWindow(position, end);
      const piece = this.window.bytes.subarray(
        position - this.window.start,
        Math.min(end, this.window.start + this.window.bytes.length) - this.window.start,
      );
      position += piece.length;
      yield piece;
    }
  }

  private async fetchWindow(position: number, end: number): Promise<void> {
    const sequential = position === this.window.start + this.window.bytes.length;
    this.nextWindowBytes = sequential ? Math.min(this.nextWindowBytes * 2, MAX_WINDOW_BYTES) : MIN_WINDOW_BYTES;
    const length = Math.min(this.size - position, Math.max(Math.min(end - position, MAX_WINDOW_BYTES), this.nextWindowBytes));
    let bytes: Buffer;
    try {
      bytes = await this.readRange(position, position + length);
    } catch (error) {
      this.failure ??= error;
      throw error;
    }
    if (bytes.length !== length) {
      const error = new Error(`Ranged read of [${position}, ${position + length}) returned ${bytes.length} bytes.`);
      this.failure ??= error;
      throw error;
    }
    this.window = { start: position, bytes };
  }
}

export async function listZip(read: RangeReader, size: number, limits: ArchiveLimits): Promise<ArchiveSummary> {
  const reader = new RangeBackedReader(read, size);
  let zip: ZipFile | undefined;
  try {
    zip = await fromRandomAccessReaderPromise(reader, size, { lazyEntries: true, autoClose: true });
    if (zip.entryCount > limits.maxEntries) {
      throw new InvalidPackageFormatError(
        `The archive holds ${zip.entryCount} entries, more than the limit of ${limits.maxEntries}.`,
      );
    }
    return await listEntries(zip, new EntryRules(limits));
  } catch (error) {
    if (reader.failure !== undefined) throw reader.failure;
    throw asFormatError(error);
  } finally {
    zip?.close();
  }
}

function listEntries(zip: ZipFile, rules: EntryRules): Promise<ArchiveSummary> {
  return new Promise((resolve, reject) => {
    zip.on('error', reject);
    zip.on('end', () => {
      try {
        resolve(rules.finish());
      } catch (error) {
        reject(error);
      }
    });
    zip.on('entry', (entry: Entry) => {
      toEntry(zip, entry)
        .then((archiveEntry) => {
          rules.add(archiveEntry);
          zip.readEntry();
        })
        .catch(reject);
    });
    zip.readEntry();
  });
}

async function toEntry(zip: ZipFile, entry: Entry): Promise<ArchiveEntry> {
  const name = entry.fileName;
  const type = (entry.externalFileAttributes >>> 16) & S_IFMT;
  const special = SPECIAL_FILE_TYPES.get(type);
  if (special) {
    throw new InvalidPackageFormatError(`Entry ${quote(name)} is a ${special}, which a source package cannot hold.`);
  }
  if (type === S_IFLNK) {
    return { name, kind: 'symlink', size: entry.uncompressedSize, linkTarget: await readLinkTarget(zip, entry) };
  }
  const directory = name.endsWith('/') || type === S_IFDIR;
  return { name, kind: directory ? 'directory' : 'file', size: entry.uncompressedSize };
}

async function readLinkTarget(zip: ZipFile, entry: Entry): Promise<string> {
  // Checked before reading: the declared sizes bound what is fetched and inflated.
  if (entry.uncompressedSize > MAX_LINK_TARGET_BYTES || entry.compressedSize > 2 * MAX_LINK_TARGET_BYTES) {
    throw new InvalidPackageFormatError(
      `Symbolic link ${quote(entry.fileName)} has a target longer than ${MAX_LINK_TARGET_BYTES} bytes.`,
    );
  }
  const stream = await zip.openReadStreamPromise(entry);
  const chunks: Buffer[] = [];
  try {
    // yauzl checks the inflated bytes against uncompressedSize, so this holds at most 4 KiB.
    for await (const chunk of stream) chunks.push(chunk as Buffer);
  } finally {
    stream.destroy();
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** yauzl's refusals, worded like the tar ones; its name checks run before an entry is emitted. */
function asFormatError(error: unknown): ServiceError {
  if (error instanceof ServiceError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const named = /^(?:absolute path|invalid relative path|invalid characters in fileName): (.*)$/s.exec(message);
  if (named?.[1] !== undefined) {
    try {
      checkEntryName(named[1]);
    } catch (refusal) {
      return refusal as ServiceError;
    }
    return new InvalidPackageFormatError(`Entry ${quote(named[1])} has an invalid name.`);
  }
  if (message.startsWith('End of central directory record signature not found')) {
    return new InvalidPackageFormatError('The zip archive has no central directory: it is truncated or not a zip.');
  }
  return new InvalidPackageFormatError(`The zip archive is corrupt (${message}).`);
}
