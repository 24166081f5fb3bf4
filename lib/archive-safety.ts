/**
 * What makes an archive unsafe to accept (issue 4, "Archive safety"; issue 11, linear time),
 * whatever its format: entry names that leave the extraction root, paths longer or deeper than a
 * filesystem takes, links that point outside the root, special files, and more entries or
 * uncompressed bytes than the limits. `tar-listing.ts` and `zip-listing.ts` read the entries of
 * each format and hand them, in archive order, to an `EntryRules`.
 *
 * Every check costs time linear in the entry's name and target (issue 11): a path is walked one
 * segment at a time through a tree of the links' paths (`path-tree.ts`), links are resolved once
 * each (`link-resolution.ts`), and `work` counts the steps so a test can hold that line.
 */
import { InvalidPackageFormatError } from './errors';
import { LinkResolver } from './link-resolution';
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
  return JSON.stringify(shown);
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
  if (isAbsolute(name)) throw new InvalidPackageFormatError(`Entry ${quote(name)} has an absolute path.`);
  const segments = segmentsOf(name);
  if (segments.includes('..')) throw new InvalidPackageFormatError(`Entry ${quote(name)} escapes the archive root.`);
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
}

/** The rules, applied entry by entry in archive order; `finish` checks every link once all are known. */
export class EntryRules {
  private entryCount = 0;
  private uncompressedBytes = 0;
  private linkBytes = 0;
  private segmentsSeen = 0;
  /** Every link in archive order; symbolic links also by the node of their path. */
  private readonly links: Link[] = [];
  private readonly tree = new PathTree();
  private readonly symlinkAt = new Map<number, number>();
  private resolverWork = 0;

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
        `The archive's entries add up to more than ${this.limits.maxUncompressedBytes} bytes uncompressed (the limit), ` +
          `reached at entry ${quote(entry.name)}.`,
      );
    }
    this.checkPlacement(entry, segments);
    if (entry.kind !== 'symlink' && entry.kind !== 'hardlink') return;

    const link: Link = { name: entry.name, kind: entry.kind, target: entry.linkTarget ?? '' };
    this.checkTarget(link);
    this.linkBytes += Buffer.byteLength(link.name) + Buffer.byteLength(link.target);
    if (this.linkBytes > this.caps.maxLinkBytes) {
      throw new InvalidPackageFormatError(
        `The archive's links have more than ${this.caps.maxLinkBytes} bytes of names and targets (the limit), ` +
          `reached at ${quote(entry.name)}.`,
      );
    }
    if (link.kind === 'symlink') this.symlinkAt.set(this.tree.nodeOf(segments), this.links.length);
    this.links.push(link);
  }

  /**
   * Call once every entry has been added. A link that looks inside when it is added can be made
   * to escape by a later one (`a -> x/..` then `x -> .`), so links are resolved once all are known.
   */
  finish(): ArchiveSummary {
    const resolver = new LinkResolver(this.tree, this.symlinkAt, this.links.length, (index) => this.pathOfSymlink(index));
    try {
      for (const [index, link] of this.links.entries()) {
        const verdict =
          link.kind === 'symlink' ? resolver.symlinkVerdict(index) : resolver.pathVerdict(this.split(link.target));
        if (verdict === 'escapes') {
          const what = link.kind === 'symlink' ? 'Symbolic link' : 'Hard link';
          throw new InvalidPackageFormatError(
            `${what} ${quote(link.name)} points to ${quote(link.target)}, which escapes the archive root.`,
          );
        }
      }
    } finally {
      this.resolverWork += resolver.work;
    }
    return { entryCount: this.entryCount, uncompressedBytes: this.uncompressedBytes };
  }

  /**
   * An entry written through a symbolic link lands wherever the link points, whatever its name
   * says. Extractors disagree on what a later entry does to an existing link (Python's tarfile
   * keeps a link where a directory comes next), so a link may not be redefined or replaced at all.
   */
  private checkPlacement(entry: ArchiveEntry, segments: readonly string[]): void {
    if (this.symlinkAt.size === 0) return;
    let node = ROOT;
    for (let depth = 0; depth < segments.length; depth += 1) {
      const next = this.tree.child(node, segments[depth] ?? '');
      if (next === undefined) return;
      if (this.symlinkAt.has(next)) {
        if (depth === segments.length - 1) {
          throw new InvalidPackageFormatError(`Entry ${quote(entry.name)} replaces the symbolic link at the same path.`);
        }
        throw new InvalidPackageFormatError(
          `Entry ${quote(entry.name)} is placed through the symbolic link ${quote(segments.slice(0, depth + 1).join('/'))}.`,
        );
      }
      node = next;
    }
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
      throw new InvalidPackageFormatError(`${what} ${quote(link.name)} points to the absolute path ${quote(link.target)}.`);
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

  /**
   * A symbolic link's target is relative to its own directory; a tar hard link's is an archive
   * path, relative to the extraction root (`tar` calls link(target, name) from there).
   */
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
