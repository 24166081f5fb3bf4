/**
 * One pass over the archive's bytes on their way to S3: SHA-256, byte count, size cap, format
 * sniffing by magic bytes, the listing of every entry in every format (paths, links, entry
 * count, uncompressed size; `archive-listing.ts`), and the signs of a file that is two archives
 * at once (`polyglot-checks.ts`), so that an unsafe archive is refused before a record points to
 * it. The app description is read in the same pass (`app-desc-finder.ts`: one candidate and one
 * logo held, each capped) and parsed once the archive has been listed (`app-description.ts`).
 * Chunks go through unchanged; until the format is known (262 bytes at most) they are also
 * kept aside for the listing. A chunk goes on as soon as the listing has taken it, which it
 * does at once while it holds less than a MiB it has not read yet; past that the listing's pace
 * sets the stream's: backpressure reaches the download. The upload cannot complete before the
 * listing has read the last byte: the stream ends only after it (`_flush`).
 */
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { AppDescFinder } from './app-desc-finder';
import { describePackage, type AppDescription } from './app-description';
import { InvalidPackageFormatError, PackageDownloadFailedError, PackageTooLargeError } from '../core/errors';
import type { ArchiveListing, PackageFormat } from './archive-listing';
import type { ArchiveLimits, ArchiveSummary } from './archive-safety';
import { isTarHeader, TailWindow, zipEndRecordIn } from './polyglot-checks';
import { BLOCK } from './tar-headers';
import { TarListing } from './tar-listing';
import { ZipListing } from './zip-listing';

const TAR_MAGIC_OFFSET = 257;
/** A whole tar header block: an old V7 tar has no magic, only a header whose checksum is right. */
const HEAD_BYTES = BLOCK;

export interface InspectionResult {
  sha256: string;
  size: number;
  format: PackageFormat;
  archive: ArchiveSummary;
  /** The package's app description, when it has one. */
  appDescription: AppDescription | undefined;
}

/** The format the first bytes show, `undefined` while more bytes are needed, `null` if none. */
export function sniffFormat(head: Buffer, complete: boolean): PackageFormat | null | undefined {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'tar.gz';
  if (head.length >= 4 && head.readUInt32BE(0) === 0x504b0304) return 'zip';
  if (head.length >= TAR_MAGIC_OFFSET + 5 && head.toString('latin1', TAR_MAGIC_OFFSET, TAR_MAGIC_OFFSET + 5) === 'ustar') return 'tar';
  // As GNU tar and Python's tarfile recognise a tar: by its first header's checksum.
  if (head.length >= BLOCK) return isTarHeader(head) ? 'tar' : null;
  return complete ? null : undefined;
}

/** Formats people send instead, by their magic, so the refusal can say what arrived. */
const OTHER_FORMATS: readonly (readonly [Buffer, string])[] = [
  [Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), 'xz-compressed (a .tar.xz?)'],
  [Buffer.from('BZh'), 'bzip2-compressed (a .tar.bz2?)'],
  [Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), 'zstd-compressed (a .tar.zst?)'],
  [Buffer.from([0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c]), 'a 7-Zip archive (.7z)'],
  [Buffer.from('Rar!'), 'a RAR archive'],
];

function describe(head: Buffer): string {
  const start = head.toString('latin1', 0, 64).trimStart().toLowerCase();
  if (start.startsWith('<')) return 'it looks like an HTML or XML page';
  if (start.startsWith('{') || start.startsWith('[')) return 'it looks like JSON';
  if (head.length === 0) return 'it is empty';
  const other = OTHER_FORMATS.find(([magic]) => head.subarray(0, magic.length).equals(magic));
  if (other) return `it is ${other[1]}, which is not accepted: make a .tar.gz or a .zip`;
  return 'its first bytes match no accepted format';
}

export class PackageInspector extends Transform {
  private readonly hash: Hash = createHash('sha256');
  // Named apart from `size`, which stream consumers may read as a total length.
  private byteCount = 0;
  private head = Buffer.alloc(0);
  private format: PackageFormat | undefined;
  private undecided: Buffer[] = [];
  private listing: ArchiveListing | undefined;
  private archive: ArchiveSummary | undefined;
  private readonly finder = new AppDescFinder();
  private appDescription: AppDescription | undefined;
  /** The first block, for the tar-header check; the last 80 KiB, for the zip end-record check. */
  private firstBlock = Buffer.alloc(0);
  private readonly tail = new TailWindow();

  constructor(
    private readonly maxBytes: number,
    private readonly declaredLength: number | undefined,
    private readonly archiveLimits: ArchiveLimits,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.byteCount += chunk.length;
    if (this.byteCount > this.maxBytes) return callback(new PackageTooLargeError(this.maxBytes));
    this.hash.update(chunk);
    if (this.firstBlock.length < BLOCK) this.firstBlock = Buffer.concat([this.firstBlock, chunk.subarray(0, BLOCK - this.firstBlock.length)]);
    this.tail.push(chunk);
    let toList = [chunk];
    if (this.format === undefined) {
      this.head = Buffer.concat([this.head, chunk.subarray(0, HEAD_BYTES - this.head.length)]);
      const error = this.sniff(false);
      if (error) return callback(error);
      this.undecided.push(chunk);
      if (this.format === undefined) return callback(null, chunk);
      toList = this.undecided;
      this.undecided = [];
    }
    const wait = this.list(toList);
    if (wait === undefined) return callback(null, chunk);
    wait.then(
      () => callback(null, chunk),
      (error: Error) => callback(error),
    );
  }

  override _flush(callback: TransformCallback): void {
    const finish = async (): Promise<void> => {
      if (this.format === undefined) {
        const error = this.sniff(true);
        if (error) throw error;
        await this.list(this.undecided);
        this.undecided = [];
      }
      if (this.declaredLength !== undefined && this.byteCount !== this.declaredLength) {
        throw new PackageDownloadFailedError(`The package URL declared ${this.declaredLength} bytes but sent ${this.byteCount}.`, { transient: true });
      }
      if (this.listing) this.archive = await this.listing.end();
      this.checkPolyglot();
      const found = this.listing?.foundDescription ? this.listing.foundDescription() : this.finder.result();
      if (found) this.appDescription = describePackage(found);
    };
    finish().then(
      () => callback(),
      (error: Error) => callback(error),
    );
  }

  override _destroy(error: Error | null, callback: (error: Error | null) => void): void {
    this.listing?.destroy();
    callback(error);
  }

  /** Hands chunks to the listing; a promise only when the listing asks to wait (no promise per chunk). */
  private list(chunks: Buffer[]): Promise<void> | undefined {
    const format = this.format;
    if (format === undefined) return undefined;
    const listing = (this.listing ??=
      format === 'zip'
        ? new ZipListing(this.archiveLimits, this.finder.open, this.finder.listed)
        : new TarListing(format, this.archiveLimits, this.finder.open));
    let wait: Promise<void> | undefined;
    for (const chunk of chunks) wait = wait ? wait.then(() => listing.write(chunk)) : listing.write(chunk);
    return wait;
  }

  /**
   * A gzip or zip whose first block is also a valid tar header is a tar to Python's tarfile,
   * which tries plain tar first; a tar or gzip with a zip end record near its end is a zip to
   * unzip and Python's zipfile. A zip's own end is checked by its listing.
   */
  private checkPolyglot(): void {
    if (this.format !== 'tar' && isTarHeader(this.firstBlock)) {
      throw new InvalidPackageFormatError(
        `The ${this.format} file is also a tar archive: its first 512 bytes are a valid tar header, so tar tools would read a different archive.`,
      );
    }
    if (this.format === 'zip') return;
    const { bytes, start } = this.tail.tail();
    const record = zipEndRecordIn(bytes, start);
    if (record !== undefined) {
      throw new InvalidPackageFormatError(
        `The ${this.format} file is also a zip archive: it has a zip end of central directory record at byte ${record}, ` +
          'in the last 80 KiB where zip tools look for one and take it whatever its counts and offsets say. ' +
          '(A plain .tar whose last file is a zip or jar looks like this too: compress it as .tar.gz. ' +
          'A .tar.gz whose compressed bytes hold the signature by chance passes once compressed again, at another level.)',
      );
    }
  }

  private sniff(complete: boolean): InvalidPackageFormatError | undefined {
    const format = sniffFormat(this.head, complete);
    if (format === null) {
      return new InvalidPackageFormatError(
        `The downloaded file is not a .tar.gz, .tgz, .tar or .zip archive: ${describe(this.head)}.`,
      );
    }
    if (format !== undefined) {
      this.format = format;
      this.head = Buffer.alloc(0);
    }
    return undefined;
  }

  /** Whether the first bytes have shown an accepted format (a refusal before that is about the format). */
  get formatKnown(): boolean {
    return this.format !== undefined;
  }

  /** Bytes seen so far (the progress a job reports). */
  get bytesSeen(): number {
    return this.byteCount;
  }

  /** Valid once the stream has ended without error. */
  result(): InspectionResult {
    if (this.format === undefined) throw new Error('PackageInspector.result() called before the stream ended');
    if (this.archive === undefined) throw new Error('PackageInspector.result() called before the archive was listed');
    return { sha256: this.hash.digest('hex'), size: this.byteCount, format: this.format, archive: this.archive, appDescription: this.appDescription };
  }
}
