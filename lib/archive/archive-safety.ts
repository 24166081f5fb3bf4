/**
 * What makes an archive unsafe to accept, whatever its format: entry names that leave the
 * extraction root, paths longer or deeper than a filesystem takes, links that point outside the
 * root, one path given two kinds, special files, and more entries or uncompressed bytes than the
 * limits. `tar-listing.ts` and `zip-listing.ts` read the entries of each format and hand them, in
 * archive order, to an `EntryRules`.
 *
 * Links are judged as every extractor will make them: a hard link only to a file written before
 * it (the one thing GNU tar, bsdtar, 7-Zip and Python all make alike), a link's name and target
 * with no backslash to read two ways, and names also in the spelling a case- or
 * normalisation-insensitive filesystem hears (`PathTree`).
 *
 * Every check costs time linear in the entry's name and target (docs/design.md, invariant 9): a
 * path is walked one segment at a time through a tree of the links' paths (`path-tree.ts`), links are resolved once
 * each (`link-resolution.ts`), and `work` counts the steps so a test can hold that line.
 */
import { sizeText } from '../core/byte-sizes';
import { InvalidPackageFormatError } from '../core/errors';
import { LinkResolver, type Verdict } from './link-resolution';
import { NameKinds, type PathKind } from './name-kinds';
import { PathTree, ROOT } from './path-tree';

export interface ArchiveLimits {
  maxEntries: number;
  maxUncompressedBytes: number;
}

export interface ArchiveSummary {
  entryCount: number;
  uncompressedBytes: number;
}

export type EntryKind = 'file' | 'directory' | 'symlink' | 'hardlink';

export interface ArchiveEntry {
  name: string;
  kind: EntryKind;
  /** Uncompressed bytes of the entry's data. */
  size: number;
  /** Symbolic link: relative to the link's directory. Hard link (tar): an archive path, from the root. */
  linkTarget?: string;
}

/** Caps on one path, fixed (not configuration): what Linux itself takes, and a bound on memory. */
export interface PathCaps {
  /** A name's UTF-8 bytes: PATH_MAX on Linux. */
  maxPathBytes: number;
  /** A name's directory levels: far beyond any source tree, far below what made the old checks stall. */
  maxPathDepth: number;
  /** A link target's UTF-8 bytes: PATH_MAX again. */
  maxLinkTargetBytes: number;
  /** Names and targets of all links together: they are kept until the end, so they bound memory. */
  maxLinkBytes: number;
}

export const PATH_CAPS: PathCaps = {
  maxPathBytes: 4096,
  maxPathDepth: 256,
  maxLinkTargetBytes: 4096,
  maxLinkBytes: 8 * 1024 * 1024,
};

const SHOWN_NAME_CHARS = 200;

/** An entry name as a client can read it in a detail: quoted, escaped, and not megabytes long. */
export function quote(name: string): string {
  const shown = name.length > SHOWN_NAME_CHARS ? `${name.slice(0, SHOWN_NAME_CHARS)}…` : name;
  // Bytes that were not UTF-8 are kept as U+DC80–U+DCFF (name-text.ts): shown as the bytes they were.
  return JSON.stringify(shown).replace(/\\(?:udc([89a-f][0-9a-f])|.)/g, (escape, byte?: string) => (byte ? `\\x${byte}` : escape));
}

function isAbsolute(path: string): boolean {
  // `/x`, and after treating `\` as a separator: `\x`, `\\server\share`; plus `C:\x` and drive-relative `C:x`.
  return path.startsWith('/') || path.startsWith('\\') || /^[A-Za-z]:/.test(path);
}

/**
 * A path's segments, `\` counting as a separator (Windows extractors treat it as one), without `.`
 * and empties. For an entry's name that is the cautious reading: the entry is checked against
 * every link it could be written through. A link's own name and target may hold no `\` at all.
 */
function segmentsOf(path: string): string[] {
  // split("/") and a loop: about 60% of the time of a regex split and filter, on the hot path.
  const parts = (path.includes('\\') ? path.replace(/\\/g, '/') : path).split('/');
  const segments: string[] = [];
  for (const part of parts) if (part !== '' && part !== '.') segments.push(part);
  return segments;
}

/** A path's segments as an extractor on Linux reads them: `/` only, without `.` and empties. */
function linuxSegments(path: string): string[] {
  const segments: string[] = [];
  for (const part of path.split('/')) if (part !== '' && part !== '.') segments.push(part);
  return segments;
}

/**
 * Checks an entry's own name (length, absolute, `..`, NUL, depth) and returns its segments.
 * Throws the refusal that names it. The length is checked first, so nothing else reads a
 * megabyte-long name.
 */
export function checkEntryName(name: string, caps: PathCaps = PATH_CAPS): string[] {
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes > caps.maxPathBytes) {
    throw new InvalidPackageFormatError(`Entry ${quote(name)} has a path of ${bytes} bytes; the limit is ${caps.maxPathBytes}.`);
  }
  if (name.includes('\0')) throw new InvalidPackageFormatError(`Entry ${quote(name)} has a NUL character in its name.`);
  if (isAbsolute(name)) {
    throw new InvalidPackageFormatError(`Entry ${quote(name)} has an absolute path. Pack the files relative to the project's folder (tar -C dir .).`);
  }
  const segments = segmentsOf(name);
  if (segments.includes('..')) {
    throw new InvalidPackageFormatError(`Entry ${quote(name)} escapes the archive root. Pack the files from the project's own folder, without "..".`);
  }
  if (segments.length === 0 && name !== '.' && name !== './') {
    throw new InvalidPackageFormatError(`The archive holds an entry with an empty name (${quote(name)}).`);
  }
  if (segments.length > caps.maxPathDepth) {
    throw new InvalidPackageFormatError(
      `Entry ${quote(name)} is ${segments.length} directory levels deep; the limit is ${caps.maxPathDepth}.`,
    );
  }
  return segments;
}

interface Link {
  name: string;
  kind: 'symlink' | 'hardlink';
  target: string;
  /** The node of its path in the tree. */
  node: number;
}

const FOLDING_NOTE = 'where names that differ only in case or Unicode normalisation are one file (macOS, Windows)';

/** The detail for a walk that met `path` spelt as `segment`. */
function otherSpelling(path: string, segment: string): string {
  return `names ${quote(path)} as ${quote(segment)}, the same only ${FOLDING_NOTE}, so it would resolve differently there and on Linux`;
}

function linkWord(link: Link): string {
  return link.kind === 'symlink' ? 'symbolic link' : 'hard link';
}

function capitalised(text: string): string {
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}`;
}

/** The rules, applied entry by entry in archive order; `finish` checks every link once all are known. */
export class EntryRules {
  private entryCount = 0;
  private uncompressedBytes = 0;
  private linkBytes = 0;
  private segmentsSeen = 0;
  /** Every link in archive order, and the link at each node of the tree that is one. */
  private readonly links: Link[] = [];
  private readonly tree = new PathTree();
  private readonly linkAt = new Map<number, number>();
  private resolverWork = 0;
  private readonly kinds = new NameKinds();

  constructor(
    private readonly limits: ArchiveLimits,
    private readonly caps: PathCaps = PATH_CAPS,
  ) {}

  /** Steps taken so far (segments split, tree lookups by characters hashed, links stepped through). */
  get work(): number {
    return this.segmentsSeen + this.tree.work + this.resolverWork;
  }

  add(entry: ArchiveEntry): void {
    this.entryCount += 1;
    if (this.entryCount > this.limits.maxEntries) {
      throw new InvalidPackageFormatError(
        `The archive holds more than ${this.limits.maxEntries} entries (the limit); ${quote(entry.name)} is entry ${this.entryCount}.`,
      );
    }
    const segments = checkEntryName(entry.name, this.caps);
    this.segmentsSeen += segments.length;
    this.uncompressedBytes += entry.size;
    if (this.uncompressedBytes > this.limits.maxUncompressedBytes) {
      throw new InvalidPackageFormatError(
        `The archive's entries add up to more than ${sizeText(this.limits.maxUncompressedBytes)} uncompressed (the limit), ` +
          `reached at entry ${quote(entry.name)}.`,
      );
    }
    this.checkPlacement(entry, segments);
    if (entry.kind !== 'symlink' && entry.kind !== 'hardlink') {
      this.placeKind(entry);
      return;
    }

    const link: Link = { name: entry.name, kind: entry.kind, target: entry.linkTarget ?? '', node: ROOT };
    this.checkTarget(link);
    if (link.kind === 'hardlink') this.checkHardLinkTarget(link);
    this.placeKind(entry);
    this.countLinkBytes(link, Buffer.byteLength(link.name) + Buffer.byteLength(link.target));
    // A hard link goes in the tree too: nothing is ever rightly written through or over one, since
    // a hard link is never a directory.
    const placed = this.tree.nodeOf(segments);
    if (placed.clash !== undefined) {
      throw new InvalidPackageFormatError(
        `The path of ${linkWord(link)} ${quote(link.name)} names the directory ${quote(this.tree.pathOf(placed.clash))}, which holds ` +
          `another link, in another spelling: one directory ${FOLDING_NOTE}, two on Linux, so links would resolve differently on each.`,
      );
    }
    link.node = placed.node;
    this.linkAt.set(link.node, this.links.length);
    this.links.push(link);
  }

  /**
   * Call once every entry has been added. A link that looks inside when it is added can be made
   * to escape by a later one (`a -> x/..` then `x -> .`), so links are resolved once all are known.
   * A hard link needs no resolving: its target is a file already placed, never through a link.
   */
  finish(): ArchiveSummary {
    const symlinkAt = new Map<number, number>();
    for (const [index, link] of this.links.entries()) if (link.kind === 'symlink') symlinkAt.set(link.node, index);
    const resolver = new LinkResolver(this.tree, symlinkAt, this.links.length, (index) => this.pathOfSymlink(index));
    try {
      for (const [index, link] of this.links.entries()) {
        if (link.kind === 'symlink') this.refuseUnlessInside(resolver.symlinkVerdict(index), resolver, link);
      }
    } finally {
      this.resolverWork += resolver.work;
    }
    return { entryCount: this.entryCount, uncompressedBytes: this.uncompressedBytes };
  }

  private refuseUnlessInside(verdict: Verdict, resolver: LinkResolver, link: Link): void {
    if (verdict === 'inside' || verdict === 'loop') return;
    const what = `${capitalised(linkWord(link))} ${quote(link.name)} points to ${quote(link.target)}, which`;
    if (verdict === 'escapes') {
      throw new InvalidPackageFormatError(`${what} escapes the archive root. Make the link point inside the package, or leave it out.`);
    }
    const clash = resolver.clash ?? { segment: '', node: ROOT };
    throw new InvalidPackageFormatError(`${what} ${otherSpelling(this.tree.pathOf(clash.node), clash.segment)}.`);
  }

  private countLinkBytes(link: Link, bytes: number): void {
    this.linkBytes += bytes;
    if (this.linkBytes > this.caps.maxLinkBytes) {
      throw new InvalidPackageFormatError(
        `The archive's links have more than ${this.caps.maxLinkBytes} bytes of names and targets (the limit), ` +
          `reached at ${quote(link.name)}.`,
      );
    }
  }

  /**
   * An entry written through a link lands wherever the link points, whatever its name says.
   * Extractors disagree on what a later entry does to an existing link (Python's tarfile keeps a
   * link where a directory comes next, and opens a file over one for writing), so a link may not
   * be redefined or replaced at all. A hard link counts: tar may make it a symbolic link, and it is
   * never a directory. A name that reaches a link only as another spelling counts too.
   */
  private checkPlacement(entry: ArchiveEntry, segments: readonly string[]): void {
    if (this.linkAt.size === 0) return;
    let node = ROOT;
    let folded = false;
    for (let depth = 0; depth < segments.length; depth += 1) {
      const segment = segments[depth] ?? '';
      let next = this.tree.child(node, segment);
      if (next === undefined) {
        next = this.tree.foldedChild(node, segment);
        if (next === undefined) return;
        folded = true;
      }
      const link = this.links[this.linkAt.get(next) ?? -1];
      if (link) {
        const where = folded ? ` ${quote(link.name)} ${FOLDING_NOTE}` : '';
        if (depth === segments.length - 1) {
          throw new InvalidPackageFormatError(
            `Entry ${quote(entry.name)} replaces the ${linkWord(link)}${folded ? where : ' at the same path'}.`,
          );
        }
        const through = folded ? where : ` ${quote(segments.slice(0, depth + 1).join('/'))}`;
        throw new InvalidPackageFormatError(`Entry ${quote(entry.name)} is placed through the ${linkWord(link)}${through}.`);
      }
      node = next;
    }
  }

  /**
   * One kind per path, the directories above included: a file where a directory was (or under a
   * file) is written by one extractor, refused or replaced by another (`name-kinds.ts`). The same
   * kind twice is kept: every extractor writes the later file over the earlier one.
   */
  private placeKind(entry: ArchiveEntry): void {
    const kind: PathKind = entry.kind === 'hardlink' ? 'file' : entry.kind;
    const clash = this.kinds.place(entry.name, kind);
    if (clash === undefined) return;
    if ('above' in clash) {
      throw new InvalidPackageFormatError(
        `Entry ${quote(entry.name)} is placed under ${quote(clash.above)}, which an earlier entry made a ${clash.was}: ` +
          'extractors would fail or replace it.',
      );
    }
    if ('linked' in clash && clash.linked) {
      throw new InvalidPackageFormatError(
        `Entry ${quote(entry.name)} writes again a file that a hard link points to: GNU tar and bsdtar replace the file, so the link ` +
          'keeps the first data, while 7-Zip and Python write through the link.',
      );
    }
    throw new InvalidPackageFormatError(
      `Entry ${quote(entry.name)} is a ${kind} where an earlier entry is a ${clash.was}: extractors disagree on which one stays.`,
    );
  }

  /**
   * A tar hard link is made by link(2) to a file already written: its target must name a file (or
   * a hard link to one) earlier in the archive, exactly. GNU tar, bsdtar, 7-Zip and Python all fail
   * on one that does not, and 7-Zip refuses one to a symbolic link.
   */
  private checkHardLinkTarget(link: Link): void {
    const segments = linuxSegments(link.target);
    if (segments.join('/') === linuxSegments(link.name).join('/')) {
      // bsdtar skips it ("hardlink pointing to itself") and 7-Zip fails; GNU tar and Python keep the file.
      throw new InvalidPackageFormatError(`Hard link ${quote(link.name)} points to itself: extractors disagree on what it leaves.`);
    }
    // A trailing slash names a directory: link(2) to "file/" fails with ENOTDIR in every extractor.
    const kind = segments.includes('..') || link.target.endsWith('/') ? undefined : this.kinds.kindOf(link.target);
    if (kind === 'file') {
      this.kinds.markLinked(link.target);
      return;
    }
    let depth = 0;
    let above = false;
    for (const segment of segments) {
      depth += segment === '..' ? -1 : 1;
      above ||= depth < 0;
    }
    if (above) {
      throw new InvalidPackageFormatError(`Hard link ${quote(link.name)} points to ${quote(link.target)}, which escapes the archive root.`);
    }
    const what = kind === undefined ? 'no file earlier in the archive' : `a ${kind === 'symlink' ? 'symbolic link' : kind}, not a file`;
    throw new InvalidPackageFormatError(
      `Hard link ${quote(link.name)} points to ${quote(link.target)}, which is ${what}: extractors can only link a file already written ` +
        '(7-Zip also refuses a link to a symbolic link). Archive the file itself there instead.',
    );
  }

  /** What can be told of a link from its own entry. Where it leads waits for `finish`. */
  private checkTarget(link: Link): void {
    const what = link.kind === 'symlink' ? 'Symbolic link' : 'Hard link';
    const bytes = Buffer.byteLength(link.target);
    if (bytes > this.caps.maxLinkTargetBytes) {
      throw new InvalidPackageFormatError(
        `${what} ${quote(link.name)} has a target of ${bytes} bytes; the limit is ${this.caps.maxLinkTargetBytes}.`,
      );
    }
    if (link.target === '') throw new InvalidPackageFormatError(`${what} ${quote(link.name)} has an empty target.`);
    if (link.target.includes('\0')) {
      throw new InvalidPackageFormatError(`${what} ${quote(link.name)} has a NUL character in its target.`);
    }
    // A newline or escape in a target is no path a source tree needs, and it can disguise one in a listing.
    if (/[\u0001-\u001f\u007f]/.test(link.target)) {
      throw new InvalidPackageFormatError(`${what} ${quote(link.name)} has a control character in its target.`);
    }
    if (isAbsolute(link.target)) {
      throw new InvalidPackageFormatError(
        `${what} ${quote(link.name)} points to the absolute path ${quote(link.target)}. Links such as a packed virtualenv's or ` +
          "node_modules/.bin's point into the machine that made them: leave them out of the package, or make the link relative.",
      );
    }
    // Windows reads `\` as a separator, Linux and macOS as part of a name: `x\l -> ../etc` is the
    // link x/l pointing inside for one and a link at the root pointing outside for the other. No
    // one reading is safe for both, and no source tree needs a backslash in a link.
    for (const [part, text] of [['name', link.name], ['target', link.target]] as const) {
      if (text.includes('\\')) {
        throw new InvalidPackageFormatError(
          `${what} ${quote(link.name)} has a backslash in its ${part}, a separator on Windows and part of a name elsewhere: ` +
            'extractors would disagree on where it is or where it points.',
        );
      }
    }
  }

  /** A symbolic link's directory segments from the root, then its target's: the target is relative to the link's directory. */
  private pathOfSymlink(index: number): string[] {
    const link = this.links[index];
    if (link === undefined) return [];
    return [...this.split(link.name).slice(0, -1), ...this.split(link.target)];
  }

  private split(path: string): string[] {
    const segments = segmentsOf(path);
    this.segmentsSeen += segments.length;
    return segments;
  }
}
