/**
 * What makes an archive unsafe to accept (issue 4, "Archive safety"), whatever its format:
 * entry names that leave the extraction root, links that point outside it, special files, and
 * more entries or uncompressed bytes than the limits. `tar-listing.ts` and `zip-listing.ts` read
 * the entries of each format and hand them, in archive order, to an `EntryRules`.
 */
import { InvalidPackageFormatError } from './errors';

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

/** Linux's limit on symbolic links followed while resolving one path (ELOOP). */
const MAX_LINK_HOPS = 40;
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

/** A path's segments, `\` counting as a separator (Windows extractors treat it as one), without `.` and empties. */
function segmentsOf(path: string): string[] {
  return path.split(/[\\/]/).filter((segment) => segment !== '' && segment !== '.');
}

/**
 * Checks an entry's own name (absolute, `..`, NUL) and returns its segments. Throws the
 * refusal that names it; zip-listing also uses it to word yauzl's own refusals the same way.
 */
export function checkEntryName(name: string): string[] {
  if (name.includes('\0')) throw new InvalidPackageFormatError(`Entry ${quote(name)} has a NUL character in its name.`);
  if (isAbsolute(name)) throw new InvalidPackageFormatError(`Entry ${quote(name)} has an absolute path.`);
  const segments = segmentsOf(name);
  if (segments.includes('..')) throw new InvalidPackageFormatError(`Entry ${quote(name)} escapes the archive root.`);
  if (segments.length === 0 && name !== '.' && name !== './') {
    throw new InvalidPackageFormatError(`The archive holds an entry with an empty name (${quote(name)}).`);
  }
  return segments;
}

/**
 * Follows `segments` from the archive root through the archive's symbolic links, as the
 * filesystem would after extraction; false when the path leaves the root on the way. A loop
 * (more than MAX_LINK_HOPS links) reaches nothing, so it cannot leave the root either.
 */
function staysInside(symlinks: ReadonlyMap<string, string>, segments: readonly string[]): boolean {
  const path: string[] = [];
  const pending = [...segments].reverse();
  let hops = 0;
  for (let segment = pending.pop(); segment !== undefined; segment = pending.pop()) {
    if (segment === '..') {
      if (path.length === 0) return false;
      path.pop();
      continue;
    }
    path.push(segment);
    const target = symlinks.get(path.join('/'));
    if (target === undefined) continue;
    hops += 1;
    if (hops > MAX_LINK_HOPS) return true;
    path.pop();
    pending.push(...segmentsOf(target).reverse());
  }
  return true;
}

interface Link {
  name: string;
  segments: string[];
  kind: 'symlink' | 'hardlink';
  target: string;
}

/** The rules, applied entry by entry in archive order; `finish` re-checks every link once all are known. */
export class EntryRules {
  private entryCount = 0;
  private uncompressedBytes = 0;
  /** Symbolic links by their normalised path (`a/b`); no later entry may take a link's path. */
  private readonly symlinks = new Map<string, Link>();
  private readonly symlinkTargets = new Map<string, string>();
  private readonly hardlinks: Link[] = [];

  constructor(private readonly limits: ArchiveLimits) {}

  add(entry: ArchiveEntry): void {
    this.entryCount += 1;
    if (this.entryCount > this.limits.maxEntries) {
      throw new InvalidPackageFormatError(
        `The archive holds more than ${this.limits.maxEntries} entries (the limit); ${quote(entry.name)} is entry ${this.entryCount}.`,
      );
    }
    const segments = checkEntryName(entry.name);
    this.uncompressedBytes += entry.size;
    if (this.uncompressedBytes > this.limits.maxUncompressedBytes) {
      throw new InvalidPackageFormatError(
        `The archive's entries add up to more than ${this.limits.maxUncompressedBytes} bytes uncompressed (the limit), ` +
          `reached at entry ${quote(entry.name)}.`,
      );
    }
    // An entry written through a symbolic link lands wherever the link points, whatever its name says.
    for (let depth = 1; depth < segments.length; depth += 1) {
      const parent = segments.slice(0, depth).join('/');
      if (this.symlinkTargets.has(parent)) {
        throw new InvalidPackageFormatError(
          `Entry ${quote(entry.name)} is placed through the symbolic link ${quote(parent)}.`,
        );
      }
    }

    const key = segments.join('/');
    // Extractors disagree on what a later entry does to an existing link (Python's tarfile keeps a
    // link where a directory comes next), so a link may not be redefined or replaced at all.
    if (this.symlinkTargets.has(key)) {
      throw new InvalidPackageFormatError(`Entry ${quote(entry.name)} replaces the symbolic link at the same path.`);
    }
    if (entry.kind !== 'symlink' && entry.kind !== 'hardlink') return;

    const link: Link = { name: entry.name, segments, kind: entry.kind, target: entry.linkTarget ?? '' };
    this.checkLink(link);
    if (link.kind === 'hardlink') {
      this.hardlinks.push(link);
    } else {
      this.symlinks.set(key, link);
      this.symlinkTargets.set(key, link.target);
    }
  }

  /**
   * Call once every entry has been added. A link that was inside when it was added can be made
   * to escape by a later one (`a -> x/..` then `x -> .`), so every link is resolved again here.
   */
  finish(): ArchiveSummary {
    for (const link of this.symlinks.values()) this.checkLink(link);
    for (const link of this.hardlinks) this.checkLink(link);
    return { entryCount: this.entryCount, uncompressedBytes: this.uncompressedBytes };
  }

  private checkLink(link: Link): void {
    const what = link.kind === 'symlink' ? 'Symbolic link' : 'Hard link';
    if (link.target === '') throw new InvalidPackageFormatError(`${what} ${quote(link.name)} has an empty target.`);
    if (link.target.includes('\0')) {
      throw new InvalidPackageFormatError(`${what} ${quote(link.name)} has a NUL character in its target.`);
    }
    if (isAbsolute(link.target)) {
      throw new InvalidPackageFormatError(
        `${what} ${quote(link.name)} points to the absolute path ${quote(link.target)}.`,
      );
    }
    // A symbolic link's target is relative to its own directory; a tar hard link's is an archive
    // path, relative to the extraction root (`tar` calls link(target, name) from there).
    const from = link.kind === 'symlink' ? link.segments.slice(0, -1) : [];
    if (!staysInside(this.symlinkTargets, [...from, ...segmentsOf(link.target)])) {
      throw new InvalidPackageFormatError(
        `${what} ${quote(link.name)} points to ${quote(link.target)}, which escapes the archive root.`,
      );
    }
  }
}
