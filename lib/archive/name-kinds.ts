/**
 * What each path of an archive is, as entries arrive: a directory (named, or implied by a deeper
 * entry), a file (a hard link makes one too) or a symbolic link. Extractors disagree when one path
 * is given two kinds — Python's tarfile fails writing a file where a directory stands, GNU tar
 * replaces it, 7-Zip keeps the first — and a tar hard link can only be made to a file already
 * written (GNU tar, bsdtar, 7-Zip and Python all fail otherwise, and 7-Zip refuses one to a
 * symbolic link). So `EntryRules` refuses both, through this table.
 *
 * Paths are kept as 53-bit hashes (two FNV-1a hashes of the UTF-16 text, read as Linux reads a
 * path: `/` only, empty and `.` segments skipped), in an open-addressing table of typed arrays:
 * about 12 bytes a path, whatever the names' length, and one pass over each name's characters. Two paths sharing a hash (about one chance in 10^5 for an
 * archive of a million paths) would be taken for one: the worst that does is refuse an archive or
 * accept a hard link an extractor then fails to make; the path and link checks do not use it.
 */

export type PathKind = 'directory' | 'file' | 'symlink';

const KIND_CODE: Record<PathKind, number> = { directory: 1, file: 2, symlink: 3 };
const KIND_OF_CODE: readonly (PathKind | undefined)[] = [undefined, 'directory', 'file', 'symlink'];

const FNV_PRIME = 0x01000193;
const OTHER_PRIME = 0x01000197;
const SLASH = 0x2f;
const DOT = 0x2e;

/** The hash as one exact float: 32 bits of one, 21 of the other; never 0, which marks an empty slot. */
function keyOf(high: number, low: number): number {
  return (high >>> 0) * 0x200000 + ((low >>> 11) & 0x1fffff) || 1;
}

/**
 * Calls `visit` with the key of each prefix of `path` that ends a segment, as Linux reads a path
 * (`/` only; empty and `.` segments skipped), and the index in `path` where that prefix ends.
 * One pass over the characters, nothing allocated. Stops early when `visit` answers true.
 */
function eachPrefix(path: string, visit: (key: number, end: number, last: boolean) => boolean): void {
  let high = 0x811c9dc5 | 0;
  let low = 0x050c5d1f;
  let pendingKey = 0;
  let pendingEnd = -1;
  const length = path.length;
  for (let start = 0; start <= length; ) {
    let end = start;
    while (end < length && path.charCodeAt(end) !== SLASH) end += 1;
    const size = end - start;
    if (size > 0 && !(size === 1 && path.charCodeAt(start) === DOT)) {
      if (pendingEnd >= 0) {
        if (visit(pendingKey, pendingEnd, false)) return;
        high = Math.imul(high ^ SLASH, FNV_PRIME);
        low = Math.imul(low ^ SLASH, OTHER_PRIME);
      }
      for (let at = start; at < end; at += 1) {
        const code = path.charCodeAt(at);
        high = Math.imul(high ^ code, FNV_PRIME);
        low = Math.imul(low ^ code, OTHER_PRIME);
      }
      pendingKey = keyOf(high, low);
      pendingEnd = end;
    }
    start = end + 1;
  }
  if (pendingEnd >= 0) visit(pendingKey, pendingEnd, true);
}

export class NameKinds {
  private keys = new Float64Array(1024);
  private kinds = new Uint8Array(1024);
  private size = 0;

  /**
   * Records an entry's path and the directories above it, or says what clashes: the path above
   * that is not a directory, or the kind the path already has.
   */
  place(path: string, kind: PathKind): { above: string; was: PathKind } | { at: 'self'; was: PathKind } | undefined {
    let clash: { above: string; was: PathKind } | { at: 'self'; was: PathKind } | undefined;
    eachPrefix(path, (key, end, last) => {
      const want = last ? KIND_CODE[kind] : KIND_CODE.directory;
      const had = this.setIfAbsent(key, want);
      if (had === 0 || had === want) return false;
      const was = KIND_OF_CODE[had] ?? 'file';
      clash = last ? { at: 'self', was } : { above: path.slice(0, end), was };
      return true;
    });
    return clash;
  }

  /** The kind an earlier entry gave this path, if any. */
  kindOf(path: string): PathKind | undefined {
    let code = 0;
    eachPrefix(path, (key, _end, last) => {
      if (last) code = this.lookup(key);
      return false;
    });
    return KIND_OF_CODE[code];
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
