/**
 * Walks a tar stream as its bytes arrive, synchronously: header blocks, pax and GNU long-name
 * records, entry data skipped (or handed to `contentOf`), applying `EntryRules` to each entry.
 * Nothing is kept beyond one header block and one extended header (at most 1 MiB).
 *
 * Headers in the old V7 format (no ustar magic), POSIX ustar and pax, and GNU's are read; checksums
 * summed over signed or unsigned bytes both count, as GNU tar, libarchive and Python take them.
 *
 * Stricter than any one reader where readers disagree, so that whatever extracts the archive later
 * writes what was listed (docs/api.md, "Archives"): every number field in the shape all of them
 * parse alike (`tar-headers.ts`); pax records and keywords by `pax-records.ts`; after the first
 * all-zero block (the end of the archive for GNU tar and Python) only zero bytes, since other
 * tools read on; an extended header followed by its entry, one of each kind at most; a name
 * ending in '/' only on an entry every reader takes for a directory; only regular files carry
 * data; no GNU volume label (Python extracts it as a file, tar skips it).
 */
import { EntryRules, quote, type ArchiveEntry, type ArchiveLimits, type ArchiveSummary, type EntryKind } from './archive-safety';
import { InvalidPackageFormatError } from '../core/errors';
import { textOfName } from './name-text';
import { isSparseKeyword, parsePax, paxRecordFault, type PaxRecords } from './pax-records';
import { BLOCK, isZeros, parseHeader, type TarHeader } from './tar-headers';

/**
 * Told of every entry as its data starts (empty files, links and directories too, which carry
 * none); receives the data of the entries it asks for. The app description is read this way.
 */
export type ContentReader = (entry: ArchiveEntry) => ((bytes: Buffer) => void) | undefined;

/**
 * Tar bytes allowed beyond the entries' own data: per entry a header, a pax header (long names)
 * and padding; once, the end-of-archive blocks and a writer's record padding. Past this the tar
 * stream is mostly something else — zeros after the end, extended headers without entries — and
 * a gzip of it is a decompression bomb.
 */
const TAR_OVERHEAD_PER_ENTRY = 4 * BLOCK;
const TAR_OVERHEAD_FIXED = 1024 * 1024;
const MAX_EXTENDED_HEADER_BYTES = 1024 * 1024;

type State =
  | { at: 'header' }
  | { at: 'extended'; type: string; left: number; parts: Buffer[] }
  | { at: 'data'; left: number; content: ((bytes: Buffer) => void) | undefined }
  | { at: 'padding'; left: number }
  | { at: 'end' };

const KINDS: Record<string, EntryKind> = { '0': 'file', '\0': 'file', '7': 'file', '1': 'hardlink', '2': 'symlink', '5': 'directory' };
const SPECIAL: Record<string, string> = { '3': 'character-device', '4': 'block-device', '6': 'fifo' };

const SPARSE_ADVICE = "Create the archive without tar's --sparse (-S): readers expand sparse files differently.";

/** The 100-byte name field as text, for a refusal about a header that did not parse. */
function nameFieldOf(block: Buffer): string {
  const end = block.subarray(0, 100).indexOf(0);
  return textOfName(block.subarray(0, end === -1 ? 100 : end));
}

export class TarParser {
  private readonly rules: EntryRules;
  private readonly tarByteLimit: number;
  private tarBytes = 0;
  private state: State = { at: 'header' };
  private readonly block = Buffer.alloc(BLOCK);
  private blockFill = 0;
  private pax: PaxRecords | undefined;
  private longName: Buffer | undefined;
  private longLinkName: Buffer | undefined;
  /** A pax global header not yet followed by an entry: Python's tarfile fails on one right before the end. */
  private globalPending = false;
  private lastEntryName: string | undefined;
  /** Data bytes of the entry or extended header being read, for its padding. */
  private currentSize = 0;

  constructor(
    private readonly compressed: boolean,
    private readonly limits: ArchiveLimits,
    private readonly contentOf?: ContentReader,
  ) {
    this.rules = new EntryRules(limits);
    this.tarByteLimit = limits.maxUncompressedBytes + limits.maxEntries * TAR_OVERHEAD_PER_ENTRY + TAR_OVERHEAD_FIXED;
  }

  /** Takes the next bytes of the tar stream; throws the archive's first refusal. */
  write(chunk: Buffer): void {
    this.tarBytes += chunk.length;
    if (this.tarBytes > this.tarByteLimit) {
      throw new InvalidPackageFormatError(
        `The archive decompresses to more than ${this.tarByteLimit} bytes of tar data, far beyond the limit of ` +
          `${this.limits.maxUncompressedBytes} uncompressed bytes (a decompression bomb).`,
      );
    }
    let offset = 0;
    while (offset < chunk.length) offset += this.step(chunk, offset);
  }

  /** Call at the end of the tar stream: the summary once every rule holds. */
  end(): ArchiveSummary {
    const { state } = this;
    if (this.tarBytes === 0) throw this.notTar();
    if (state.at === 'header' && this.blockFill === 0 && !this.pax && !this.longName && !this.longLinkName && this.lastEntryName !== undefined) {
      // GNU tar, bsdtar and Python read such a tar to its last entry; 7-Zip refuses it as cut short.
      throw new InvalidPackageFormatError(
        `The tar archive ends after entry ${quote(this.lastEntryName)} without its end-of-archive block: it may be cut short, and 7-Zip ` +
          'refuses it. Every tar tool writes that block; create the archive again.',
      );
    }
    if (state.at !== 'end') throw this.truncated();
    if (this.pax || this.longName || this.longLinkName) throw this.truncated();
    return this.rules.finish();
  }

  /** Handles bytes from `offset` on; returns how many it took. */
  private step(chunk: Buffer, offset: number): number {
    const { state } = this;
    const available = chunk.length - offset;
    switch (state.at) {
      case 'header': {
        const taken = Math.min(BLOCK - this.blockFill, available);
        chunk.copy(this.block, this.blockFill, offset, offset + taken);
        this.blockFill += taken;
        if (this.blockFill === BLOCK) {
          this.blockFill = 0;
          this.onHeader(this.block);
        }
        return taken;
      }
      case 'extended': {
        const taken = Math.min(state.left, available);
        state.parts.push(Buffer.from(chunk.subarray(offset, offset + taken)));
        state.left -= taken;
        if (state.left === 0) this.onExtended(state.type, Buffer.concat(state.parts));
        return taken;
      }
      case 'data': {
        const taken = Math.min(state.left, available);
        state.content?.(chunk.subarray(offset, offset + taken));
        state.left -= taken;
        if (state.left === 0) this.afterData();
        return taken;
      }
      case 'padding': {
        const taken = Math.min(state.left, available);
        state.left -= taken;
        if (state.left === 0) this.state = { at: 'header' };
        return taken;
      }
      case 'end': {
        if (!isZeros(chunk.subarray(offset))) {
          throw new InvalidPackageFormatError(
            'The tar archive goes on after its end-of-archive block with bytes that are not zeros: tar stops at that block, ' +
              'other tools read on, so they would not see the same archive.',
          );
        }
        return available;
      }
    }
  }

  /** After an entry's data or an extended header's records: padding to the next block. */
  private afterData(): void {
    const padding = (BLOCK - (this.currentSize % BLOCK)) % BLOCK;
    this.state = padding > 0 ? { at: 'padding', left: padding } : { at: 'header' };
  }

  private onHeader(block: Buffer): void {
    if (isZeros(block)) {
      if (this.pax || this.longName || this.longLinkName || this.globalPending) {
        throw new InvalidPackageFormatError(`The tar archive ends after an extended header that has no entry${this.after()}.`);
      }
      this.state = { at: 'end' };
      return;
    }
    const header = parseHeader(block);
    if ('fault' in header) {
      const first = this.lastEntryName === undefined && !this.pax && !this.longName && !this.longLinkName;
      if (header.fault === 'checksum') {
        if (first) throw this.notTar();
        throw new InvalidPackageFormatError(`The tar archive is corrupt: a header${this.after()} has a wrong checksum.`);
      }
      throw new InvalidPackageFormatError(
        `The tar header of ${quote(nameFieldOf(block))}${this.after()} ` +
          `has ${header.why} (its ${header.field} field): tar readers would not read it alike. Create the archive again with GNU tar, bsdtar or Python.`,
      );
    }
    switch (header.type) {
      case 'x':
      case 'g':
      case 'L':
      case 'K':
        return this.startExtended(header);
      case 'V':
        throw new InvalidPackageFormatError(
          `The tar archive has a GNU volume label ${quote(textOfName(header.name))}${this.after()}: GNU tar and bsdtar skip it, ` +
            "Python's tarfile extracts it as a file of that name. Create the archive without a label (tar's --label or -V).",
        );
      default:
        return this.onEntry(header);
    }
  }

  private startExtended(header: TarHeader): void {
    if (header.size > MAX_EXTENDED_HEADER_BYTES) {
      throw new InvalidPackageFormatError(
        `The tar archive has an extended header of ${header.size} bytes${this.after()}; the limit is ${MAX_EXTENDED_HEADER_BYTES}.`,
      );
    }
    this.currentSize = header.size;
    if (header.size === 0) {
      this.onExtended(header.type, Buffer.alloc(0));
      return;
    }
    this.state = { at: 'extended', type: header.type, left: header.size, parts: [] };
  }

  private onExtended(type: string, bytes: Buffer): void {
    const twice = (): InvalidPackageFormatError =>
      new InvalidPackageFormatError(`The tar archive has two extended headers of one kind for one entry${this.after()}.`);
    if (type === 'x' || type === 'g') {
      const records = parsePax(bytes);
      if ('fault' in records) {
        throw new InvalidPackageFormatError(`The tar archive has a pax header${this.after()} with ${records.fault}: tar readers would split it differently.`);
      }
      for (const [keyword, value] of records) {
        const fault = paxRecordFault(keyword, value, type === 'g');
        if (fault !== undefined) {
          throw new InvalidPackageFormatError(
            `The tar archive has a pax ${type === 'g' ? 'global ' : ''}header${this.after()} whose record "${keyword}" has ${fault}. ` +
              (isSparseKeyword(keyword)
                ? SPARSE_ADVICE
                : 'Create the archive without it (GNU tar --format=pax writes only accepted keywords; see docs/api.md, "Archives").'),
          );
        }
      }
      if (type === 'x') {
        if (this.pax) throw twice();
        this.pax = records;
      } else {
        this.globalPending = true;
      }
    } else {
      const end = bytes.indexOf(0);
      const name = end === -1 ? bytes : bytes.subarray(0, end);
      if (end !== -1 && !isZeros(bytes.subarray(end))) {
        throw new InvalidPackageFormatError(`The tar archive has a GNU long ${type === 'L' ? 'name' : 'link name'}${this.after()} with bytes after its NUL.`);
      }
      if (type === 'L') {
        if (this.longName) throw twice();
        this.longName = name;
      } else {
        if (this.longLinkName) throw twice();
        this.longLinkName = name;
      }
    }
    this.afterData();
  }

  private onEntry(header: TarHeader): void {
    const pax = this.pax;
    const name = textOfName(this.pick(pax?.get('path'), this.longName, header.name, 'names'));
    if ((this.longName || this.longLinkName) && header.format !== 'gnu') {
      // bsdtar applies GNU long names only to GNU headers: it wrote such a link as an empty file.
      throw new InvalidPackageFormatError(
        `Entry ${quote(name)} takes its ${this.longName ? 'name' : 'link target'} from a GNU long-name record but has a ${header.format === 'v7' ? 'V7' : 'POSIX ustar'} header: ` +
          'bsdtar ignores the record there. Create the archive with one format (GNU tar --format=gnu or --format=pax).',
      );
    }
    // Found by the differential fuzz against GNU tar and tarfile (test/integration/archive/tar-differential-fuzz.test.ts).
    if (header.gnuPrefixSet && pax?.get('path') === undefined && this.longName === undefined) {
      throw new InvalidPackageFormatError(
        `Entry ${quote(name)} has a GNU tar header with bytes in its name-prefix field: GNU tar ignores them, Python's ` +
          'tarfile puts them before the name, so they would extract it to different paths.',
      );
    }
    const linkName = textOfName(this.pick(pax?.get('linkpath'), this.longLinkName, header.linkName, 'link targets'));
    this.pax = undefined;
    this.longName = undefined;
    this.longLinkName = undefined;
    this.globalPending = false;
    this.lastEntryName = name;

    let size = header.size;
    const paxSize = pax?.get('size');
    if (paxSize !== undefined) {
      size = Number(paxSize.toString('latin1'));
      if (!Number.isSafeInteger(size)) throw new InvalidPackageFormatError(`Entry ${quote(name)} has an invalid pax size.`);
    }
    const entry = this.toEntry(header, name, linkName, size);
    this.rules.add(entry);
    this.currentSize = size;
    const content = this.contentOf?.(entry);
    if (size === 0) {
      this.state = { at: 'header' };
      return;
    }
    this.state = { at: 'data', left: size, content: entry.kind === 'file' ? content : undefined };
  }

  /**
   * Device nodes and fifos are refused: a source package has no use for them, an extractor running
   * as root would create a device giving raw access to the host, and a build tool that opens a
   * fifo blocks for ever. Unknown types are refused too: extractors treat them as regular files,
   * and GNU sparse files expand to a size their header does not declare. Only regular files may
   * carry data: readers disagree on whether a directory's or a link's data is skipped or parsed.
   */
  private toEntry(header: TarHeader, name: string, linkName: string, size: number): ArchiveEntry {
    const { type } = header;
    const special = SPECIAL[type];
    if (special) throw new InvalidPackageFormatError(`Entry ${quote(name)} is a ${special}, which a source package cannot hold.`);
    if (type === 'S') throw new InvalidPackageFormatError(`Entry ${quote(name)} is a sparse file, which is not accepted. ${SPARSE_ADVICE}`);
    let kind = KINDS[type];
    if (kind === undefined) {
      throw new InvalidPackageFormatError(`Entry ${quote(name)} has an unsupported tar entry type (${JSON.stringify(type)}).`);
    }
    if (kind === 'file' && name.endsWith('/') !== (type === '\0' && header.nameFieldEndsWithSlash)) {
      throw new InvalidPackageFormatError(this.slashedFile(name, type, header.nameFieldEndsWithSlash));
    }
    // Old tars mark a directory by a trailing slash on an old regular file's name.
    if (kind === 'file' && name.endsWith('/')) kind = 'directory';
    if (kind !== 'file' && size > 0) {
      throw new InvalidPackageFormatError(`Entry ${quote(name)} is a ${kind} with ${size} bytes of data; only files may have data.`);
    }
    if (kind === 'symlink' || kind === 'hardlink') {
      if (name.endsWith('/')) {
        // 7-Zip writes a directory there and the link inside it as "_"; the others write the link.
        throw new InvalidPackageFormatError(`Entry ${quote(name)} is a ${kind === 'symlink' ? 'symbolic' : 'hard'} link whose name ends in '/', which extractors read differently.`);
      }
      return { name, kind, size: 0, linkTarget: linkName };
    }
    return { name, kind, size };
  }

  /**
   * A file entry whose name ends in '/': GNU tar makes a directory of any regular or contiguous
   * file named so, Python's tarfile only of an old regular file ('\0') whose own name field ends in
   * '/' (before a pax path or GNU long name renames it), and both skip or parse its data differently.
   * Only the case all of them read as a directory, with no data, is accepted.
   */
  private slashedFile(name: string, type: string, fieldSlash: boolean): string {
    if (type === '\0') {
      return fieldSlash
        ? `Entry ${quote(name)} is an old-style directory (a trailing slash on its header's name) renamed without one by an extended header: ` +
            "Python's tarfile makes a directory of it, GNU tar a file."
        : `Entry ${quote(name)} is an old-style file renamed with a trailing slash by an extended header: GNU tar makes a directory of it, ` +
            "Python's tarfile a file.";
    }
    return `Entry ${quote(name)} is a ${type === '7' ? 'contiguous' : 'regular'} file (type ${JSON.stringify(type)}) whose name ends in '/': ` +
      "GNU tar and bsdtar take it for a directory, Python's tarfile for a file. Directories have type '5'.";
  }

  /** The pax value, else the GNU long name, else the header's; two that disagree are refused. */
  private pick(pax: Buffer | undefined, gnu: Buffer | undefined, header: Buffer, what: string): Buffer {
    if (pax !== undefined && gnu !== undefined && !pax.equals(gnu)) {
      throw new InvalidPackageFormatError(
        `The tar archive gives an entry two different ${what}, in a pax record and a GNU long-name header${this.after()}.`,
      );
    }
    return pax ?? gnu ?? header;
  }

  private after(): string {
    return this.lastEntryName === undefined ? ' before its first entry' : ` after entry ${quote(this.lastEntryName)}`;
  }

  private notTar(): InvalidPackageFormatError {
    return new InvalidPackageFormatError(this.compressed ? 'The gzip content is not a tar archive.' : 'The file is not a tar archive.');
  }

  private truncated(): InvalidPackageFormatError {
    if (this.lastEntryName === undefined) return this.notTar();
    return new InvalidPackageFormatError(`The tar archive is truncated: it ends inside or after entry ${quote(this.lastEntryName)}.`);
  }
}
