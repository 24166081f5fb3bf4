/**
 * Lists a zip while its bytes stream past, in the order they come: every local
 * header and its data, then the central directory and the end records. Each entry's data is
 * inflated (bounded by the uncompressed limit) to learn where it ends and that its CRC-32 and
 * sizes are what the headers say; every central-directory entry must describe exactly one local
 * header with the same name, flags, method and sizes. So an extractor that reads local headers
 * (Java's ZipInputStream, streaming tools) and one that reads the central directory (unzip,
 * Python) see the same archive, and no bytes hide between, before or after the entries.
 *
 * Per entry, until the central directory is read: its offset, a SHA-256 of its name, its sizes,
 * and — for small contents only — the bytes a symbolic link's target would be, since a zip only
 * says which entries are links in the central directory, after their data.
 */
import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import { DESTROYED, type ArchiveListing } from './archive-listing';
import { checkEntryName, EntryRules, PATH_CAPS, quote, type ArchiveEntry, type ArchiveLimits, type ArchiveSummary } from './archive-safety';
import { ByteFeed, EndOfBytes, HIGH_WATER } from './byte-feed';
import { sizeText } from '../core/byte-sizes';
import { InvalidPackageFormatError } from '../core/errors';
import { textOfName } from './name-text';
import { isZlibError, type Inflated } from './raw-inflate';
import type { ContentReader } from './tar-parser';
import { readEndRecord, readZip64End, type Zip64End } from './zip-end-records';
import { inflateDeclared, inflateToStreamEnd, readDescriptor, readStored, readStoredToDescriptor, type EntrySink } from './zip-entry-data';
import {
  CENTRAL_FIXED_BYTES,
  extraFieldFault,
  FLAG,
  FLAGS_THAT_MATTER,
  hasZip64Extra,
  LOCAL_FIXED_BYTES,
  MAX16,
  MAX32,
  METHOD,
  parseCentralFixed,
  parseExtra,
  parseLocalFixed,
  SIGNATURE,
  unicodePath,
  zip64Values,
} from './zip-records';

const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
/** The host in "version made by" whose Unix modes every extractor reads (unzip also reads them from others, libarchive not). */
const HOST_UNIX = 3;
const DOS_DIRECTORY = 0x10;
/** Hosts (MS-DOS/FAT, OS/2 HPFS) whose names unzip converts from the DOS code page, UTF-8 flag or not. */
const DOS_CODE_PAGE_HOSTS = new Set([0, 6]);
const SPECIAL_FILE_TYPES = new Map([
  [0o010000, 'fifo'],
  [0o020000, 'character-device'],
  [0o060000, 'block-device'],
  [0o140000, 'socket'],
]);

/** Small contents kept as possible link targets, in all; past it a later link cannot be checked. */
export const LINK_TARGET_BUDGET_BYTES = 16 * 1024 * 1024;
/** Bytes that would not be a link target in a source tree: a newline, an escape. */
const CONTROL = /[\u0000-\u001f\u007f]/;

type KeptContent = Buffer | 'long' | 'control' | 'over budget';

interface LocalRecord {
  nameHash: string;
  /** Set once a central-directory entry has claimed it. */
  claimed: boolean;
  flags: number;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  /** Dropped once the central directory has said what the entry is. */
  content: KeptContent | undefined;
}

function refuse(detail: string): InvalidPackageFormatError {
  return new InvalidPackageFormatError(detail);
}

function nameHash(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('base64');
}

function noop(): void {}

export class ZipListing implements ArchiveListing {
  private readonly feed: ByteFeed;
  private readonly rules: EntryRules;
  private readonly listed: Promise<ArchiveSummary>;
  private readonly locals = new Map<number, LocalRecord>();
  private failure: Error | undefined;
  private uncompressedBytes = 0;
  private keptBytes = 0;
  private centralCount = 0;

  constructor(
    private readonly limits: ArchiveLimits,
    private readonly contentOf?: ContentReader,
    /** Told of each entry as the central directory lists it (links and directories are known only there). */
    private readonly onListed?: (entry: ArchiveEntry) => void,
    /** Bytes taken ahead of the parser (ByteFeed; 0: none). */
    readAheadBytes = HIGH_WATER,
  ) {
    this.feed = new ByteFeed(readAheadBytes);
    this.rules = new EntryRules(limits);
    this.listed = this.list().then(
      (summary) => {
        this.feed.finish();
        return summary;
      },
      (error: unknown) => {
        const refusal = this.asRefusal(error);
        this.fail(refusal);
        throw refusal;
      },
    );
    this.listed.catch(noop);
  }

  write(chunk: Buffer): Promise<void> | undefined {
    if (this.failure) return Promise.reject(this.failure);
    return this.feed.push(chunk);
  }

  async end(): Promise<ArchiveSummary> {
    if (this.failure) throw this.failure;
    this.feed.end();
    return this.listed;
  }

  destroy(): void {
    this.fail(new Error(DESTROYED), true);
  }

  private fail(error: Error, quiet = false): void {
    if (this.failure) return;
    this.failure = error;
    this.feed.fail(error, { quiet });
  }

  private asRefusal(error: unknown): Error {
    if (error instanceof EndOfBytes) return refuse('The zip archive is truncated: it ends before its end of central directory record.');
    if (isZlibError(error)) return refuse(`The zip archive is corrupt (${error.message}).`);
    return error instanceof Error ? error : new Error(String(error));
  }

  private async list(): Promise<ArchiveSummary> {
    let signature = await this.signature();
    while (signature === SIGNATURE.local) {
      await this.localEntry(this.feed.position - 4);
      signature = await this.signature();
    }
    const directoryStart = this.feed.position - 4;
    while (signature === SIGNATURE.central) {
      await this.centralEntry();
      signature = await this.signature();
    }
    const directoryBytes = this.feed.position - 4 - directoryStart;
    let zip64: Zip64End | undefined;
    if (signature === SIGNATURE.zip64End) {
      zip64 = await readZip64End(this.feed);
      signature = await this.signature();
    }
    if (signature !== SIGNATURE.end) throw this.unexpected(signature);
    if (this.centralCount !== this.locals.size) {
      throw refuse(
        `The zip archive has ${this.locals.size} local headers but ${this.centralCount} central directory entries: ` +
          'some entries are hidden from one kind of reader.',
      );
    }
    await readEndRecord(this.feed, { directoryStart, directoryBytes, entries: this.centralCount }, zip64);
    return this.rules.finish();
  }

  private async signature(): Promise<number> {
    return (await this.feed.read(4)).readUInt32LE(0);
  }

  private unexpected(signature: number): InvalidPackageFormatError {
    const at = this.feed.position - 4;
    const what =
      signature === SIGNATURE.zip64Locator ? 'a zip64 locator without a zip64 end record' : `bytes that start no zip record (0x${signature.toString(16).padStart(8, '0')})`;
    return refuse(`The zip archive is corrupt: at offset ${at} it has ${what}.`);
  }

  private async localEntry(offset: number): Promise<void> {
    const fixed = parseLocalFixed(await this.feed.read(LOCAL_FIXED_BYTES));
    const nameBytes = await this.feed.read(fixed.nameLength);
    const extraBytes = await this.feed.read(fixed.extraLength);
    const name = textOfName(nameBytes);
    if (this.locals.size + 1 > this.limits.maxEntries) {
      throw refuse(`The archive holds more than ${this.limits.maxEntries} entries (the limit); ${quote(name)} is entry ${this.locals.size + 1}.`);
    }
    // The name a local-header reader would write, checked before its data is read.
    checkEntryName(name);
    const extra = parseExtra(extraBytes);
    if (extra === undefined) throw refuse(`Entry ${quote(name)} has a malformed extra field in its local header.`);
    this.checkExtraFields(name, extra, 'local header');
    this.checkUnicodePath(name, nameBytes, extra, 'local header');
    this.checkNameBytes(name, nameBytes, fixed.flags);
    this.checkFlagsAndMethod(name, fixed.flags, fixed.method);

    const described = (fixed.flags & FLAG.descriptor) !== 0;
    const wide = hasZip64Extra(extra);
    const zip64 = zip64Values(extra, fixed, true);
    if (zip64 === undefined) throw refuse(`Entry ${quote(name)} has a malformed zip64 field in its local header.`);
    const declared = {
      crc: fixed.crc,
      compressedSize: fixed.compressedSize === MAX32 ? zip64.compressedSize ?? MAX32 : fixed.compressedSize,
      size: fixed.size === MAX32 ? zip64.size ?? MAX32 : fixed.size,
    };
    // A zip64 field beside 32-bit sizes: readers differ on which they take, so both must agree.
    for (const key of ['compressedSize', 'size'] as const) {
      const wideValue = zip64[key];
      if (wideValue !== undefined && wideValue !== declared[key] && !(described && wideValue === 0)) {
        throw refuse(`Entry ${quote(name)} has two different ${key === 'size' ? 'sizes' : 'compressed sizes'} in its local header.`);
      }
    }

    const entry: ArchiveEntry = { name, kind: name.endsWith('/') ? 'directory' : 'file', size: declared.size };
    const sink = this.outputSink(entry, described ? undefined : declared.size);
    let actual: Inflated;
    if (described) {
      actual =
        fixed.method === METHOD.stored
          ? await readStoredToDescriptor(this.feed, name, wide, sink)
          : await inflateToStreamEnd(this.feed, sink, this.limits.maxUncompressedBytes - this.uncompressedBytes + 1);
      await readDescriptor(this.feed, name, actual, wide);
      for (const [what, value] of [
        ['CRC-32', declared.crc],
        ['compressed size', declared.compressedSize],
        ['size', declared.size],
      ] as const) {
        const real = what === 'CRC-32' ? actual.crc : what === 'size' ? actual.outputBytes : actual.compressedBytes;
        if (value !== 0 && value !== real) throw refuse(`Entry ${quote(name)} has a ${what} in its local header that does not match its data.`);
      }
    } else {
      this.budget(name, declared.size);
      actual =
        fixed.method === METHOD.stored
          ? await readStored(this.feed, declared.compressedSize, sink)
          : await inflateDeclared(this.feed, name, declared.compressedSize, declared.size, sink);
      this.checkActual(name, 'local header', declared, actual);
    }
    this.locals.set(offset, {
      nameHash: nameHash(nameBytes),
      claimed: false,
      flags: fixed.flags,
      method: fixed.method,
      crc: actual.crc,
      compressedSize: actual.compressedBytes,
      size: actual.outputBytes,
      content: sink.kept(),
    });
  }

  private checkFlagsAndMethod(name: string, flags: number, method: number): void {
    if (flags & (FLAG.encrypted | FLAG.strongEncryption | FLAG.maskedHeaders)) {
      throw refuse(`Entry ${quote(name)} is encrypted: a package's content must be readable to be checked.`);
    }
    if (method !== METHOD.stored && method !== METHOD.deflated) {
      throw refuse(`Entry ${quote(name)} uses compression method ${method}; only stored (0) and deflated (8) entries are accepted.`);
    }
  }

  private checkExtraFields(name: string, extra: Map<number, Buffer>, where: string): void {
    for (const [id, data] of extra) {
      const fault = extraFieldFault(id, data);
      if (fault !== undefined) throw refuse(`Entry ${quote(name)} has ${fault} in its ${where}; see docs/api.md, "Archives", for the accepted fields.`);
    }
  }

  /** An Info-ZIP Unicode path field must be one every reader takes alike, and name the entry as its header does. */
  private checkUnicodePath(name: string, nameBytes: Buffer, extra: Map<number, Buffer>, where: string): void {
    const unicode = unicodePath(extra, nameBytes);
    if (unicode === undefined) return;
    if ('fault' in unicode) throw refuse(`Entry ${quote(name)} has an Info-ZIP Unicode path field in its ${where} that ${unicode.fault}.`);
    if (textOfName(unicode.name) !== name) {
      throw refuse(`Entry ${quote(name)} has another name in the Unicode path field of its ${where}: ${quote(textOfName(unicode.name))}.`);
    }
  }

  /**
   * Names extractors decode alike: ASCII, or UTF-8 under the UTF-8 flag. Without the flag, other
   * bytes are a legacy code page that each extractor decodes its own way — CP437 for Python and zip
   * libraries, raw bytes or an OEM table mapping some to '+' and '-' for Debian's unzip, the system
   * code page for 7-Zip on Windows — so the names written are not the names checked (the platform's
   * own Python would write Info-ZIP's and Finder's UTF-8 names as CP437). Never a backslash: unzip
   * and 7-Zip take it for a separator in some archives, Python and libarchive for part of a name.
   */
  private checkNameBytes(name: string, nameBytes: Buffer, flags: number): void {
    if (flags & FLAG.utf8) {
      if (!isUtf8(nameBytes)) throw refuse(`Entry ${quote(name)} has the UTF-8 flag but a name that is not UTF-8: unzip drops such names.`);
    } else if (nameBytes.some((byte) => byte >= 0x80)) {
      // Its bytes are in some code page, not UTF-8: shown as bytes rather than half-decoded.
      const shown = quote(String.fromCharCode(...Array.from(nameBytes.subarray(0, 400), (byte) => (byte >= 0x80 ? 0xdc00 + byte : byte))));
      throw refuse(
        `Entry ${shown} has a name that is not ASCII and no UTF-8 flag: extractors decode such names in different code pages ` +
          "(Python's zipfile as CP437, unzip as bytes), so it would be written under different names. Make the zip with UTF-8 names " +
          'flagged (7-Zip: -mcu=on; bsdtar or tar.exe: tar -a -cf package.zip folder; Python), or package a .tar.gz.',
      );
    }
    if (nameBytes.includes(0x5c)) {
      throw refuse(
        `Entry ${quote(name)} has a backslash in its name: some extractors take it for a separator, others for part of the name. ` +
          'Make the zip with a tool that writes "/" (7-Zip, PowerShell 7, tar.exe, zip).',
      );
    }
  }

  private checkActual(name: string, where: string, declared: { crc: number; compressedSize: number; size: number }, actual: Inflated): void {
    if (actual.compressedBytes !== declared.compressedSize) {
      throw refuse(`Entry ${quote(name)} has compressed data of ${actual.compressedBytes} bytes where its ${where} says ${declared.compressedSize}.`);
    }
    if (actual.outputBytes !== declared.size) {
      throw refuse(`Entry ${quote(name)} holds ${actual.outputBytes} bytes where its ${where} says ${declared.size}.`);
    }
    if (actual.crc >>> 0 !== declared.crc >>> 0) throw refuse(`Entry ${quote(name)} does not match the CRC-32 in its ${where}.`);
  }

  /** Refuses before inflating when the declared size alone passes the uncompressed limit. */
  private budget(name: string, size: number): void {
    if (this.uncompressedBytes + size > this.limits.maxUncompressedBytes) {
      throw refuse(
        `The archive's entries add up to more than ${sizeText(this.limits.maxUncompressedBytes)} uncompressed (the limit), reached at entry ${quote(name)}.`,
      );
    }
  }

  /** Where an entry's uncompressed bytes go: counted against the limits, kept if small, and to `contentOf`. */
  private outputSink(entry: ArchiveEntry, declaredSize: number | undefined): EntrySink & { kept: () => KeptContent } {
    const reader = entry.kind === 'file' ? this.contentOf?.(entry) : undefined;
    const small: Buffer[] = [];
    let length = 0;
    return {
      take: (bytes) => {
        length += bytes.length;
        this.uncompressedBytes += bytes.length;
        if (declaredSize !== undefined && length > declaredSize) {
          throw refuse(`Entry ${quote(entry.name)} inflates to more than the ${declaredSize} bytes its header says (a zip bomb).`);
        }
        this.budget(entry.name, 0);
        if (length <= PATH_CAPS.maxLinkTargetBytes) small.push(bytes);
        reader?.(bytes);
      },
      kept: () => {
        if (length > PATH_CAPS.maxLinkTargetBytes) return 'long';
        const content = Buffer.concat(small, length);
        if (CONTROL.test(content.toString('latin1'))) return 'control';
        if (this.keptBytes + length > LINK_TARGET_BUDGET_BYTES) return 'over budget';
        this.keptBytes += length;
        return content;
      },
    };
  }

  private async centralEntry(): Promise<void> {
    const fixed = parseCentralFixed(await this.feed.read(CENTRAL_FIXED_BYTES));
    const nameBytes = await this.feed.read(fixed.nameLength);
    const extraBytes = await this.feed.read(fixed.extraLength);
    await this.feed.read(fixed.commentLength);
    const name = textOfName(nameBytes);
    this.centralCount += 1;
    if (this.centralCount > this.limits.maxEntries) {
      throw refuse(`The archive holds more than ${this.limits.maxEntries} entries (the limit); ${quote(name)} is entry ${this.centralCount}.`);
    }
    const extra = parseExtra(extraBytes);
    if (extra === undefined) throw refuse(`Entry ${quote(name)} has a malformed extra field in the central directory.`);
    this.checkExtraFields(name, extra, 'central directory entry');
    this.checkUnicodePath(name, nameBytes, extra, 'central directory entry');
    const zip64 = zip64Values(extra, { ...fixed, offset: fixed.localOffset, disk: fixed.diskStart }, false);
    if (zip64 === undefined) throw refuse(`Entry ${quote(name)} has a malformed zip64 field in the central directory.`);
    if (fixed.diskStart !== 0 && fixed.diskStart !== MAX16) throw refuse(`Entry ${quote(name)} is on another disk of a split archive.`);
    const offset = zip64.offset ?? fixed.localOffset;
    const local = this.locals.get(offset);
    if (local === undefined) {
      throw refuse(`The zip archive's central directory puts entry ${quote(name)} at offset ${offset}, where no local header starts.`);
    }
    if (local.claimed) {
      throw refuse(`The zip archive's central directory has two entries for the local header at offset ${offset} (overlapping entries).`);
    }
    if (local.nameHash !== nameHash(nameBytes)) {
      throw refuse(`Entry ${quote(name)} has another name in its local header: extractors would not agree on what they write.`);
    }
    local.claimed = true;
    if ((local.flags & FLAGS_THAT_MATTER) !== (fixed.flags & FLAGS_THAT_MATTER)) {
      throw refuse(`Entry ${quote(name)} has flags in its local header that differ from the central directory's.`);
    }
    if (local.method !== fixed.method) {
      throw refuse(`Entry ${quote(name)} has a compression method in its local header that differs from the central directory's.`);
    }
    this.checkActual(name, 'central directory entry', {
      crc: fixed.crc,
      compressedSize: zip64.compressedSize ?? fixed.compressedSize,
      size: zip64.size ?? fixed.size,
    }, { crc: local.crc, compressedBytes: local.compressedSize, outputBytes: local.size });
    const host = fixed.madeBy >>> 8;
    if (DOS_CODE_PAGE_HOSTS.has(host) && nameBytes.some((byte) => byte >= 0x80)) {
      throw refuse(
        `Entry ${quote(name)} has a name that is not ASCII in a zip made on MS-DOS or OS/2 (its "version made by"): Debian's unzip ` +
          'rewrites such names from the DOS code page even under the UTF-8 flag, so it would write another name. Make the zip with ' +
          'tar.exe or bsdtar (tar -a -cf package.zip folder), or package a .tar.gz.',
      );
    }
    const entry = this.toEntry(name, host, fixed.externalAttributes, local);
    this.rules.add(entry);
    this.onListed?.(entry);
    local.content = undefined;
  }

  /**
   * What an extractor makes of the entry. The Unix mode in the attributes' high half says so for
   * archives made on Unix, for every extractor; made elsewhere, unzip still reads a mode there and
   * libarchive and Python do not, so such a mode may not make a link or a directory. A directory is
   * named with a trailing '/', which is all Python and unzip go by.
   */
  private toEntry(name: string, host: number, externalAttributes: number, local: LocalRecord): ArchiveEntry {
    const type = (externalAttributes >>> 16) & S_IFMT;
    const special = SPECIAL_FILE_TYPES.get(type);
    if (special) throw refuse(`Entry ${quote(name)} is a ${special}, which a source package cannot hold.`);
    const slash = name.endsWith('/');
    if (type === S_IFLNK) {
      if (host !== HOST_UNIX) {
        throw refuse(`Entry ${quote(name)} has a symbolic link's mode in a zip not made on Unix: unzip makes it a link, libarchive and Python a file.`);
      }
      if (slash) throw refuse(`Entry ${quote(name)} is a symbolic link whose name ends in '/', which extractors take for a directory.`);
      return { name, kind: 'symlink', size: local.size, linkTarget: this.linkTarget(name, local) };
    }
    const directoryMarked = type === S_IFDIR || (host !== HOST_UNIX && (externalAttributes & DOS_DIRECTORY) !== 0 && type !== S_IFREG);
    if (directoryMarked && !slash) {
      throw refuse(`Entry ${quote(name)} is marked a directory in its attributes but its name has no trailing '/': extractors disagree on what it is.`);
    }
    if (slash) {
      if (local.size > 0) throw refuse(`Entry ${quote(name)} is a directory with ${local.size} bytes of data; only files may have data.`);
      return { name, kind: 'directory', size: 0 };
    }
    return { name, kind: 'file', size: local.size };
  }

  private linkTarget(name: string, local: LocalRecord): string {
    switch (local.content) {
      case undefined:
      case 'long':
        throw refuse(`Symbolic link ${quote(name)} has a target of ${local.size} bytes; the limit is ${PATH_CAPS.maxLinkTargetBytes}.`);
      case 'control':
        throw refuse(`Symbolic link ${quote(name)} has a control character in its target.`);
      case 'over budget':
        throw refuse(
          `Symbolic link ${quote(name)} cannot be checked: the zip holds more than ${LINK_TARGET_BUDGET_BYTES} bytes of small files before ` +
            'its central directory says which are links. Package it as a .tar.gz.',
        );
      default:
        if (!isUtf8(local.content)) {
          throw refuse(`Symbolic link ${quote(name)} has a target that is not UTF-8: extractors would write it differently.`);
        }
        return textOfName(local.content);
    }
  }
}
