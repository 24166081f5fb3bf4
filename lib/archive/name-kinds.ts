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
/** A file a hard link points to: written again, GNU tar and bsdtar replace it, 7-Zip and Python write into the link's data. */
const LINKED_FILE = 4;
const KIND_OF_CODE: readonly (PathKind | undefined)[] = [undefined, 'directory', 'file', 'symlink', 'file'];

const FNV_PRIME = 0x01000193;
const OTHER_PRIME = 0x01000197;
const SLASH = 0x2f;
const DOT = 0x2e;

/** The running hash of a path, [high, low]: one state for the module, so hashing allocates nothing. */
const running = new Int32Array(2);

/** Folds `path[start, end)` into the running hash, after a separator when `separate`. */
function mix(path: string, start: number, end: number, separate: boolean): void {
  let high = running[0] ?? 0;
  let low = running[1] ?? 0;
  if (separate) {
    high = Math.imul(high ^ SLASH, FNV_PRIME);
    low = Math.imul(low ^ SLASH, OTHER_PRIME);
  }
  for (let at = start; at < end; at += 1) {
    const code = path.charCodeAt(at);
    high = Math.imul(high ^ code, FNV_PRIME);
    low = Math.imul(low ^ code, OTHER_PRIME);
  }
  running[0] = high;
  running[1] = low;
}

const START_HIGH = 0x811c9dc5 | 0;
const START_LOW = 0x050c5d1f;

/**
 * Where the segment starting at `start` ends (at the next `/` or the end), or, for an empty or
 * `.` segment that Linux skips, minus one minus that end.
 */
function segmentEnd(path: string, start: number): number {
  let end = start;
  while (end < path.length && path.charCodeAt(end) !== SLASH) end += 1;
  const size = end - start;
  return size === 0 || (size === 1 && path.charCodeAt(start) === DOT) ? -end - 1 : end;
}

/** The hash as one exact float: 32 bits of one, 21 of the other; never 0, which marks an empty slot. */
function keyOf(high: number, low: number): number {
  return (high >>> 0) * 0x200000 + ((low >>> 11) & 0x1fffff) || 1;
}

export class NameKinds {
  private keys = new Float64Array(1024);
  private kinds = new Uint8Array(1024);
  private size = 0;
  /**
   * The directory the last entry was placed in (or the last entry, when a directory), as its raw
   * text and its hash: archives list a directory's entries together, so the next name usually
   * starts with it, and only what follows is hashed and looked up.
   */
  private lastDirectory = '';
  private lastHigh = 0;
  private lastLow = 0;

  /**
   * Records an entry's path and the directories above it (Linux's reading: `/` only, empty and `.`
   * segments skipped), or says what clashes: the path above that is not a directory, or the kind
   * the path already has. One pass over the characters not shared with the last directory.
   */
  place(path: string, kind: PathKind): { above: string; was: PathKind } | { at: 'self'; was: PathKind; linked?: boolean } | undefined {
    running[0] = START_HIGH;
    running[1] = START_LOW;
    let start = 0;
    /** The end of the last segment hashed, and whether that prefix is known to be a directory already. */
    let pendingEnd = -1;
    let pendingKnown = false;
    const cached = this.lastDirectory;
    let fromCache = false;
    if (cached !== '' && path.length > cached.length && path.charCodeAt(cached.length) === SLASH && path.startsWith(cached)) {
      running[0] = this.lastHigh;
      running[1] = this.lastLow;
      start = cached.length + 1;
      pendingEnd = cached.length;
      pendingKnown = true;
      fromCache = true;
    }
    const length = path.length;
    let lastEnd = -1;
    let lastHigh = 0;
    let lastLow = 0;
    for (; start <= length; start += 1) {
      const end = segmentEnd(path, start);
      if (end < 0) {
        start = -end - 1;
        continue;
      }
      if (pendingEnd >= 0) {
        if (!pendingKnown) {
          const had = this.setIfAbsent(keyOf(running[0] ?? 0, running[1] ?? 0), KIND_CODE.directory);
          if (had !== 0 && had !== KIND_CODE.directory) return { above: path.slice(0, pendingEnd), was: KIND_OF_CODE[had] ?? 'file' };
        }
        lastEnd = pendingEnd;
        lastHigh = running[0] ?? 0;
        lastLow = running[1] ?? 0;
      }
      mix(path, start, end, pendingEnd >= 0);
      pendingEnd = end;
      pendingKnown = false;
      start = end;
    }
    if (pendingEnd < 0 || pendingKnown) return undefined;
    const high = running[0] ?? 0;
    const low = running[1] ?? 0;
    const want = KIND_CODE[kind];
    const had = this.setIfAbsent(keyOf(high, low), want);
    if (had === LINKED_FILE) return { at: 'self', was: 'file', linked: true };
    if (had !== 0 && had !== want) return { at: 'self', was: KIND_OF_CODE[had] ?? 'file' };
    if (kind === 'directory') this.remember(path.slice(0, pendingEnd), high, low);
    else if (fromCache && lastEnd === cached.length) return undefined; // the same directory as the last entry's
    else if (lastEnd >= 0) this.remember(path.slice(0, lastEnd), lastHigh, lastLow);
    else this.lastDirectory = '';
    return undefined;
  }

  /** Marks a file as the target of a hard link, so that writing it again is refused. */
  markLinked(path: string): void {
    const key = this.keyOfPath(path);
    if (key === undefined) return;
    const slot = this.slotOf(key);
    if (this.kinds[slot] === KIND_CODE.file) this.kinds[slot] = LINKED_FILE;
  }

  /** The kind an earlier entry gave this path, if any. */
  kindOf(path: string): PathKind | undefined {
    const key = this.keyOfPath(path);
    return key === undefined ? undefined : KIND_OF_CODE[this.lookup(key)];
  }

  /** The key of a whole path (Linux's reading), or undefined for the root. */
  private keyOfPath(path: string): number | undefined {
    running[0] = START_HIGH;
    running[1] = START_LOW;
    let any = false;
    for (let start = 0; start <= path.length; start += 1) {
      const end = segmentEnd(path, start);
      if (end < 0) {
        start = -end - 1;
        continue;
      }
      mix(path, start, end, any);
      any = true;
      start = end;
    }
    return any ? keyOf(running[0] ?? 0, running[1] ?? 0) : undefined;
  }

  private remember(directory: string, high: number, low: number): void {
    this.lastDirectory = directory;
    this.lastHigh = high;
    this.lastLow = low;
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
