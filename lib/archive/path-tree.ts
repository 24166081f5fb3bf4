/**
 * The paths of an archive's links as a tree of numbered nodes, so that walking a path costs one
 * lookup per segment instead of joining the whole prefix again at every step, which made the old
 * checks quadratic in a path's depth.
 *
 * Only the links' own paths and their parent directories are nodes: below a path that is not a
 * node there is no link, so a walk that leaves the tree only needs to count how deep it went.
 * A node keeps its first child inline and only the others in a Map: a deep chain of single
 * directories (the hostile shape) then costs two array slots per level, not a Map each.
 *
 * Lookups compare names exactly (bytes, as Linux does). Each child is also filed under its
 * `foldedKey`, so a walk can tell when a name it misses is another spelling of a node: the same
 * file on a filesystem that ignores case or Unicode normalisation (macOS, Windows). No two
 * children of a node share a key (`nodeOf` reports the clash instead), so that lookup is unique.
 */

export const ROOT = 0;

/** A place reached by a walk: a node of the tree, then `below` more directories outside it. */
export interface Place {
  node: number;
  below: number;
}

const ASCII = /^[\u0000-\u007f]*$/;

/**
 * A name's key under Unicode case folding and canonical equivalence: names with one key may be one
 * file somewhere. Coarser than what filesystems merge (APFS and HFS+ fold case and normalisation,
 * NTFS case by its upcase table, ext4's casefold both), so a clash any of them sees is seen here.
 * Lower, upper, lower: `ẞ`, `ß` and `ss` meet, as do `K` and the Kelvin sign.
 */
export function foldedKey(segment: string): string {
  if (ASCII.test(segment)) return segment.toLowerCase();
  return segment.normalize('NFD').toLowerCase().toUpperCase().toLowerCase().normalize('NFC');
}

export class PathTree {
  private readonly parents: number[] = [-1];
  private readonly names: string[] = [''];
  private readonly firstSegments: (string | undefined)[] = [undefined];
  private readonly firstKeys: (string | undefined)[] = [undefined];
  private readonly firstChildren: number[] = [-1];
  private readonly otherChildren: (Map<string, number> | undefined)[] = [undefined];
  private readonly otherKeys: (Map<string, number> | undefined)[] = [undefined];
  /** Characters compared or hashed by lookups: the unit of work that the linear-time test counts. */
  work = 0;

  child(node: number, segment: string): number | undefined {
    this.work += segment.length + 1;
    if (this.firstSegments[node] === segment) return this.firstChildren[node];
    return this.otherChildren[node]?.get(segment);
  }

  /**
   * The child whose name has the same `foldedKey` as `segment`. Asked after `child` missed, an
   * answer means `segment` is another spelling of that child's name.
   */
  foldedChild(node: number, segment: string): number | undefined {
    if (this.firstSegments[node] === undefined) return undefined;
    this.work += segment.length + 1;
    const key = foldedKey(segment);
    if (this.firstKeys[node] === key) return this.firstChildren[node];
    return this.otherKeys[node]?.get(key);
  }

  parent(node: number): number {
    return this.parents[node] ?? -1;
  }

  /**
   * The node of `segments` from the root, created with its parents where missing; or, where a
   * missing segment is another spelling of an existing node's name, that node as `clash`.
   */
  nodeOf(segments: readonly string[]): { node: number; clash?: undefined } | { clash: number; node?: undefined } {
    let node = ROOT;
    for (const segment of segments) {
      const existing = this.child(node, segment);
      if (existing !== undefined) {
        node = existing;
        continue;
      }
      const clash = this.foldedChild(node, segment);
      if (clash !== undefined) return { clash };
      node = this.newChild(node, segment);
    }
    return { node };
  }

  /** A node's path from the root, for a refusal's detail. */
  pathOf(node: number): string {
    const segments: string[] = [];
    for (let at = node; at > ROOT; at = this.parent(at)) segments.push(this.names[at] ?? '');
    return segments.reverse().join('/');
  }

  private newChild(node: number, segment: string): number {
    const created = this.parents.length;
    const key = foldedKey(segment);
    this.work += segment.length + 1;
    this.parents.push(node);
    this.names.push(segment);
    this.firstSegments.push(undefined);
    this.firstKeys.push(undefined);
    this.firstChildren.push(-1);
    this.otherChildren.push(undefined);
    this.otherKeys.push(undefined);
    if (this.firstSegments[node] === undefined) {
      this.firstSegments[node] = segment;
      this.firstKeys[node] = key;
      this.firstChildren[node] = created;
    } else {
      const others = this.otherChildren[node] ?? new Map<string, number>();
      others.set(segment, created);
      this.otherChildren[node] = others;
      const keys = this.otherKeys[node] ?? new Map<string, number>();
      keys.set(key, created);
      this.otherKeys[node] = keys;
    }
    return created;
  }
}
