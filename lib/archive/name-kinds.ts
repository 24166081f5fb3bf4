/**
 * What each path of an archive is, as entries arrive: a directory (named, or implied by a deeper
 * entry), a file (a hard link makes one too) or a symbolic link. Extractors disagree when one path
 * is given two kinds — Python's tarfile fails writing a file where a directory stands, GNU tar
 * replaces it, 7-Zip keeps the first — and a tar hard link can only be made to a file already
 * written (GNU tar, bsdtar, 7-Zip and Python all fail otherwise, and 7-Zip refuses one to a
 * symbolic link). So `EntryRules` refuses both, through this table.
 *
 * Paths are kept as 53-bit hashes of their segments (two FNV-1a hashes of the UTF-16 text), in an
 * open-addressing table of typed arrays: about 12 bytes a path, whatever the names' length, and
 * one pass over each name's characters. Two paths sharing a hash (about one chance in 10^5 for an
 * archive of a million paths) would be taken for one: the worst that does is refuse an archive or
 * accept a hard link an extractor then fails to make; the path and link checks do not use it.
 */

export type PathKind = 'directory' | 'file' | 'symlink';

const KIND_CODE: Record<PathKind, number> = { directory: 1, file: 2, symlink: 3 };
const KIND_OF_CODE: readonly (PathKind | undefined)[] = [undefined, 'directory', 'file', 'symlink'];

const FNV_PRIME = 0x01000193;
const SEPARATOR = 0x2f;

/** A path's hash, carried from one segment to the next. */
interface PathHash {
  high: number;
  low: number;
}

function extend(hash: PathHash, text: string, separate: boolean): PathHash {
  let high = hash.high;
  let low = hash.low;
  if (separate) {
    high = Math.imul(high ^ SEPARATOR, FNV_PRIME);
    low = Math.imul(low ^ SEPARATOR, 0x01000197);
  }
  for (let i = 0; i < text.length; i += 1) {
    const code = text.charCodeAt(i);
    high = Math.imul(high ^ code, FNV_PRIME);
    low = Math.imul(low ^ code, 0x01000197);
  }
  return { high, low };
}

const START: PathHash = { high: 0x811c9dc5 | 0, low: 0x050c5d1f };

/** The hash as one exact float: 32 bits of one, 21 of the other; never 0, which marks an empty slot. */
function keyOf(hash: PathHash): number {
  return (hash.high >>> 0) * 0x200000 + ((hash.low >>> 11) & 0x1fffff) || 1;
}

export class NameKinds {
  private keys = new Float64Array(1024);
  private kinds = new Uint8Array(1024);
  private size = 0;

  /**
   * Records an entry's path and the directories above it, or says what clashes: the path above
   * that is not a directory, or the kind the path already has.
   */
  place(segments: readonly string[], kind: PathKind): { above: number; was: PathKind } | { at: 'self'; was: PathKind } | undefined {
    let hash = START;
    for (let depth = 0; depth < segments.length; depth += 1) {
      hash = extend(hash, segments[depth] ?? '', depth > 0);
      const last = depth === segments.length - 1;
      const want = last ? KIND_CODE[kind] : KIND_CODE.directory;
      const had = this.setIfAbsent(keyOf(hash), want);
      if (had === 0 || had === want) continue;
      const was = KIND_OF_CODE[had] ?? 'file';
      return last ? { at: 'self', was } : { above: depth + 1, was };
    }
    return undefined;
  }

  /** The kind an earlier entry gave this path, if any. */
  kindOf(segments: readonly string[]): PathKind | undefined {
    let hash = START;
    for (let depth = 0; depth < segments.length; depth += 1) hash = extend(hash, segments[depth] ?? '', depth > 0);
    return KIND_OF_CODE[this.lookup(keyOf(hash))];
  }

  private slotOf(key: number): number {
    const mask = this.keys.length - 1;
    let slot = (key % 0x40000000) & mask;
    while (this.keys[slot] !== 0 && this.keys[slot] !== key) slot = (slot + 1) & mask;
    return slot;
  }

  private lookup(key: number): number {
    return this.kinds[this.slotOf(key)] ?? 0;
  }

  /** The code already there (0 if none), after setting `code` where there was none. */
  private setIfAbsent(key: number, code: number): number {
    const slot = this.slotOf(key);
    const had = this.kinds[slot] ?? 0;
    if (had !== 0) return had;
    this.keys[slot] = key;
    this.kinds[slot] = code;
    this.size += 1;
    if (this.size * 4 > this.keys.length * 3) this.grow();
    return 0;
  }

  private grow(): void {
    const { keys, kinds } = this;
    this.keys = new Float64Array(keys.length * 2);
    this.kinds = new Uint8Array(keys.length * 2);
    for (let slot = 0; slot < keys.length; slot += 1) {
      const key = keys[slot] ?? 0;
      if (key === 0) continue;
      const to = this.slotOf(key);
      this.keys[to] = key;
      this.kinds[to] = kinds[slot] ?? 0;
    }
  }
}
