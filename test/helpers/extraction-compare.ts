/**
 * Holds what an extractor wrote (a Snapshot) against what the service listed, and names every
 * difference. What must hold, for an archive the service accepted:
 *
 * - every listed entry landed at its name (compared as bytes), with its kind; a file with its
 *   size; a symbolic link with its target's exact text; a tar hard link as a file of its
 *   target's size; a listed directory as a directory;
 * - nothing landed that the listing does not name, except directories that are parents of
 *   listed names (extraction creates them, the listing need not name them);
 * - nothing landed outside the extraction root, and no symbolic link resolves outside it.
 *
 * Tolerances, each for a way a tool writes the same entry that the service cannot know:
 * - a symbolic link whose target has a `.` or `..` segment may be missing, or an empty regular
 *   file, for 7-Zip, which skips every such link and leaves an empty file in its place (7-Zip
 *   26.02 as Debian 12 ships it; Extractor.skipsLinksWithDotSegments; docs/api.md accepts them);
 * - a zip symbolic link written as a regular file holding the target's text, by extractors
 *   that do not make links from zips (Python's zipfile; see Extractor.zipLinksAsFiles);
 * - zip names without the UTF-8 flag that hold bytes ≥ 0x80 (`lenientNames`): there is no
 *   right reading of them — unzip and 7-Zip take them as the bytes or as the locale's
 *   charset, Python's zipfile and yauzl as CP437, so each tool writes other bytes for the same
 *   name. For those names only the counts of files and links by size (and ASCII link targets)
 *   are compared; every ASCII name is still compared exactly, and the escape checks hold.
 */
import type { ArchiveEntry } from '../../lib/archive/archive-safety';
import type { ArchiveFormat, Extractor, Landed, Snapshot } from './extractors';
import { nameBytes } from './service-listing';

/** A name as a path under the root: `/`-separated segments without empty or `.` ones. */
function pathKey(bytes: string): string {
  return bytes
    .split('/')
    .filter((segment) => segment !== '' && segment !== '.')
    .join('/');
}

const highByte = /[\x80-\xff]/;

interface Expected {
  kind: Landed['kind'];
  size?: number;
  target?: string;
  content?: string;
  listed: string;
}

export interface CompareOptions {
  format: ArchiveFormat;
  /** Zip names without the UTF-8 flag holding bytes ≥ 0x80 are in the archive (see above). */
  lenientNames?: boolean;
}

function describe(landed: Landed): string {
  if (landed.kind === 'file') return `file of ${landed.size} bytes`;
  if (landed.kind === 'symlink') return `symlink → ${JSON.stringify(landed.target)}`;
  return landed.kind;
}

function expectedOf(listing: ArchiveEntry[], extractor: Extractor, format: ArchiveFormat): Map<string, Expected> {
  // Entries in archive order: a hard link is made to what its target is when the extractor reaches it.
  const sofar = new Map<string, ArchiveEntry>();
  /** What a hard link makes: a second name for its target's file, or for its target's symbolic link (link(2) does not follow it). */
  const throughLinks = (entry: ArchiveEntry, depth = 0): ArchiveEntry | undefined => {
    if (entry.kind !== 'hardlink') return entry;
    if (depth > 16) return undefined;
    const target = sofar.get(pathKey(nameBytes(entry.linkTarget ?? '').toString('latin1')));
    return target ? throughLinks(target, depth + 1) : undefined;
  };
  const expected = new Map<string, Expected>();
  for (const entry of listing) {
    const key = pathKey(nameBytes(entry.name).toString('latin1'));
    if (key === '') continue; // the root itself, e.g. `./`
    const listed = JSON.stringify(entry.name);
    if (entry.kind === 'file') expected.set(key, { kind: 'file', size: entry.size, listed });
    else if (entry.kind === 'directory') expected.set(key, { kind: 'directory', listed });
    else if (entry.kind === 'hardlink') {
      const target = throughLinks(entry);
      if (target?.kind === 'symlink') expected.set(key, { kind: 'symlink', target: nameBytes(target.linkTarget ?? '').toString('latin1'), listed });
      // A hard link to a directory, or to nothing listed before it: no extractor can make it; the kind mismatch is reported.
      else expected.set(key, { kind: target?.kind === 'file' ? 'file' : 'other', size: target?.kind === 'file' ? target.size : undefined, listed });
    } else {
      const target = nameBytes(entry.linkTarget ?? '').toString('latin1');
      if (format === 'zip' && extractor.zipLinksAsFiles) expected.set(key, { kind: 'file', size: target.length, content: target, listed });
      else expected.set(key, { kind: 'symlink', target, listed });
    }
    // A hard link to its own name keeps the file that was there: it stays the target for later links.
    const resolved = entry.kind === 'hardlink' ? throughLinks(entry) : entry;
    sofar.set(key, resolved ?? entry);
  }
  return expected;
}

/** Every difference between what the service listed and what `extractor` wrote; empty when they agree. */
export function compare(listing: ArchiveEntry[], snap: Snapshot, extractor: Extractor, options: CompareOptions): string[] {
  const differences: string[] = [];
  const show = (key: string): string => JSON.stringify(Buffer.from(key, 'latin1').toString('utf8'));
  for (const outside of snap.outside) differences.push(`wrote ${show(outside)} outside the extraction root`);
  for (const [key, landed] of snap.entries) {
    if (landed.resolvesOutside) differences.push(`wrote symlink ${show(key)} → ${JSON.stringify(landed.target)} that resolves outside the root`);
  }

  const expected = expectedOf(listing, extractor, options.format);
  const implicit = new Set<string>();
  for (const key of expected.keys()) {
    const segments = key.split('/');
    for (let n = 1; n < segments.length; n++) implicit.add(segments.slice(0, n).join('/'));
  }
  const lenient = (key: string): boolean => Boolean(options.lenientNames) && highByte.test(key);

  for (const [key, want] of expected) {
    if (lenient(key)) continue;
    const landed = snap.entries.get(key);
    const skippedByTool = want.kind === 'symlink' && extractor.skipsLinksWithDotSegments && (want.target ?? '').split('/').some((s) => s === '.' || s === '..');
    if (skippedByTool && (!landed || (landed.kind === 'file' && landed.size === 0))) continue;
    if (!landed) {
      differences.push(`listed ${want.listed} (${want.kind}) was not written`);
      continue;
    }
    if (landed.kind !== want.kind) {
      differences.push(`listed ${want.listed} as ${want.kind}${want.kind === 'file' ? ` of ${want.size} bytes` : ''}${want.target !== undefined ? ` → ${JSON.stringify(want.target)}` : ''}, wrote ${describe(landed)}`);
      continue;
    }
    if (want.kind === 'file' && want.size !== undefined && landed.size !== want.size) differences.push(`listed ${want.listed} as ${want.size} bytes, wrote ${landed.size}`);
    if (want.kind === 'file' && want.content !== undefined && landed.content !== want.content) differences.push(`listed ${want.listed} as a link written as a file holding ${JSON.stringify(want.content)}, wrote ${JSON.stringify(landed.content)}`);
    if (want.kind === 'symlink' && landed.target !== want.target) differences.push(`listed ${want.listed} as symlink → ${JSON.stringify(want.target)}, wrote → ${JSON.stringify(landed.target)}`);
  }
  for (const [key, landed] of snap.entries) {
    if (expected.has(key) || lenient(key)) continue;
    if (implicit.has(key) && landed.kind === 'directory') continue;
    differences.push(`wrote ${show(key)} (${describe(landed)}) that the listing does not name`);
  }

  if (options.lenientNames) {
    // Names that each tool decodes its own way: the same files and links, by size and ASCII target.
    const shape = (kind: string, size: number | undefined, target: string | undefined): string =>
      `${kind}:${kind === 'file' ? String(size) : ''}:${target !== undefined && !highByte.test(target) ? target : ''}`;
    const count = (shapes: string[]): Map<string, number> => {
      const counts = new Map<string, number>();
      for (const s of shapes) counts.set(s, (counts.get(s) ?? 0) + 1);
      return counts;
    };
    const listedShapes = count([...expected].filter(([key, want]) => lenient(key) && want.kind !== 'directory').map(([, want]) => shape(want.kind, want.size, want.target)));
    const landedShapes = count([...snap.entries].filter(([key, landed]) => lenient(key) && landed.kind !== 'directory').map(([, landed]) => shape(landed.kind, landed.size, landed.target)));
    for (const s of new Set([...listedShapes.keys(), ...landedShapes.keys()])) {
      if (listedShapes.get(s) !== landedShapes.get(s)) differences.push(`names not UTF-8-flagged: listed ${listedShapes.get(s) ?? 0} × ${s}, wrote ${landedShapes.get(s) ?? 0}`);
    }
  }
  return differences;
}
