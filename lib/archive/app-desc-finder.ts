/**
 * Finds a package's app description while its archive streams past, by the rule of
 * the BlueKing platform's `SourcePackageStatReader`: of the entries named `app_desc.yaml` or
 * `app_desc.yml` (at the root, or after a `/` or `\`), the first in sorted entry-name order
 * (code-point order, as Python sorts); the directory holding it is the package's relative path,
 * and the `logo.png` in that directory is its logo. Names are case-sensitive.
 *
 * Entries arrive in archive order, not sorted, and nothing is extracted: memory holds at most
 * one description (the best so far, replaced as soon as a smaller name starts; at most
 * MAX_APP_DESC_BYTES) and two logos (at most MAX_LOGO_BYTES each). Past its cap an entry's bytes
 * are dropped and only "too large" is remembered. Entries with equal names: the later one wins,
 * as an extractor writes it last.
 *
 * Which logos are held, since the description that wins is known only at the end:
 * 1. the `logo.png` beside the best description so far — so a logo that comes after its
 *    description is always found;
 * 2. one more, on speculation, from a directory that could still hold a description sorting
 *    before the best so far: the one nearest the root, then sorting first (by the platform's
 *    convention descriptions sit at the top of a package). When a description in its directory
 *    becomes the best, it moves to the first slot; once its directory can no longer win, it goes.
 * So a logo is missed only when it comes before its description and, also before that
 * description, the archive lists another `logo.png` nearer the root (or as near and sorting
 * first) in a directory whose description, if any, does not win.
 */
import type { ArchiveEntry, EntryKind } from './archive-safety';

export const MAX_APP_DESC_BYTES = 1024 * 1024;
export const MAX_LOGO_BYTES = 1024 * 1024;

const DESCRIPTION_NAMES = new Set(['app_desc.yaml', 'app_desc.yml']);
const LOGO_NAME = 'logo.png';
/** The smallest name a description in a directory can have (`.yaml` sorts before `.yml`). */
const SMALLEST_DESCRIPTION = 'app_desc.yaml';

export type Captured = Buffer | 'too large';

export interface FoundDescription {
  /** The entry's name as the archive writes it. */
  name: string;
  /** Its directory as written (`''` at the root, else ending with the separator). */
  dir: string;
  /** Its kind: only a regular file is read. */
  kind: EntryKind;
  content: Captured;
  /** The `logo.png` beside it, when the rule above found one. */
  logo: Captured | undefined;
}

interface Capture {
  name: string;
  dir: string;
  depth: number;
  kind: EntryKind;
  limit: number;
  parts: Buffer[];
  length: number;
  tooLarge: boolean;
}

/**
 * Compares in Unicode code-point order, as Python compares `str` (JavaScript's `<` compares
 * UTF-16 units, which puts astral characters and escaped bytes before U+E000–U+FFFF).
 */
export function compareCodePoints(a: string, b: string): number {
  let at = 0;
  while (at < a.length && at < b.length) {
    const x = a.codePointAt(at) ?? 0;
    const y = b.codePointAt(at) ?? 0;
    if (x !== y) return x - y;
    at += x > 0xffff ? 2 : 1;
  }
  return a.length - b.length;
}

function splitName(name: string): { dir: string; base: string } {
  const cut = Math.max(name.lastIndexOf('/'), name.lastIndexOf('\\'));
  return { dir: name.slice(0, cut + 1), base: name.slice(cut + 1) };
}

/** Directory levels, without `.` and empty segments (`./app/` is one level, like `app/`). */
function depthOf(dir: string): number {
  let depth = 0;
  for (const segment of dir.split(/[/\\]/)) if (segment !== '' && segment !== '.') depth += 1;
  return depth;
}

function capture(entry: ArchiveEntry, dir: string, limit: number): Capture {
  return { name: entry.name, dir, depth: depthOf(dir), kind: entry.kind, limit, parts: [], length: 0, tooLarge: false };
}

function sinkOf(held: Capture): (bytes: Buffer) => void {
  return (bytes) => {
    if (held.tooLarge) return;
    if (held.length + bytes.length > held.limit) {
      held.tooLarge = true;
      held.parts = [];
      held.length = 0;
      return;
    }
    // A copy: the listing may reuse the buffer it hands over.
    held.parts.push(Buffer.from(bytes));
    held.length += bytes.length;
  };
}

function contentOf(held: Capture): Captured {
  return held.tooLarge ? 'too large' : Buffer.concat(held.parts, held.length);
}

export class AppDescFinder {
  private best: Capture | undefined;
  /** The logo in the best description's directory. */
  private logo: Capture | undefined;
  /** A logo in another directory that could still hold the winning description. */
  private speculative: Capture | undefined;

  /** The listings' content reader: told of every entry as its data starts; answers where the data goes. */
  readonly open = (entry: ArchiveEntry): ((bytes: Buffer) => void) | undefined => {
    const { dir, base } = splitName(entry.name);
    if (DESCRIPTION_NAMES.has(base)) return this.openDescription(entry, dir);
    if (base === LOGO_NAME && entry.kind === 'file') return this.openLogo(entry, dir);
    return undefined;
  };

  /**
   * An entry as the archive finally lists it: a zip says which entries are links or directories
   * only in its central directory, after their data went past as files.
   */
  readonly listed = (entry: ArchiveEntry): void => {
    if (entry.kind === 'file') return;
    if (this.best?.name === entry.name) this.best.kind = entry.kind;
    if (this.logo?.name === entry.name) this.logo = undefined;
  };

  /** Bytes held now (at most MAX_APP_DESC_BYTES + 2 × MAX_LOGO_BYTES); tests count them. */
  get heldBytes(): number {
    return (this.best?.length ?? 0) + (this.logo?.length ?? 0) + (this.speculative?.length ?? 0);
  }

  /** Once the archive has been listed: the description the rule chose, or undefined when there is none. */
  result(): FoundDescription | undefined {
    const { best, logo } = this;
    if (!best) return undefined;
    return { name: best.name, dir: best.dir, kind: best.kind, content: contentOf(best), logo: logo ? contentOf(logo) : undefined };
  }

  private openDescription(entry: ArchiveEntry, dir: string): ((bytes: Buffer) => void) | undefined {
    const previous = this.best;
    if (previous && compareCodePoints(entry.name, previous.name) > 0) return undefined;
    // Held from here on, in place of the previous best: its name is smaller whatever its content.
    this.best = capture(entry, dir, MAX_APP_DESC_BYTES);
    if (!previous || previous.dir !== dir) {
      // The old best's logo may still be beside a winner (a smaller name in its directory): a speculation now.
      if (this.logo) this.speculate(this.logo);
      this.logo = undefined;
      if (this.speculative?.dir === dir) {
        this.logo = this.speculative;
        this.speculative = undefined;
      } else if (this.speculative && !this.couldWin(this.speculative.dir)) {
        this.speculative = undefined;
      }
    }
    return entry.kind === 'file' ? sinkOf(this.best) : undefined;
  }

  private openLogo(entry: ArchiveEntry, dir: string): ((bytes: Buffer) => void) | undefined {
    const logo = capture(entry, dir, MAX_LOGO_BYTES);
    if (this.best?.dir === dir) {
      this.logo = logo;
      return sinkOf(logo);
    }
    return this.speculate(logo) ? sinkOf(logo) : undefined;
  }

  /** Takes `logo` as the speculative one if its directory could still win and it is preferred. */
  private speculate(logo: Capture): boolean {
    if (!this.couldWin(logo.dir)) return false;
    if (this.speculative && !this.preferred(logo, this.speculative)) return false;
    this.speculative = logo;
    return true;
  }

  /** Whether a description in `dir` could still come first: nothing seen yet sorts before its smallest name. */
  private couldWin(dir: string): boolean {
    const { best } = this;
    return !best || dir === best.dir || compareCodePoints(dir + SMALLEST_DESCRIPTION, best.name) < 0;
  }

  /** A speculative logo over another: nearer the root, then sorting first (or the same directory, later). */
  private preferred(logo: Capture, held: Capture): boolean {
    if (logo.depth !== held.depth) return logo.depth < held.depth;
    return compareCodePoints(logo.dir + SMALLEST_DESCRIPTION, held.dir + SMALLEST_DESCRIPTION) <= 0;
  }
}
