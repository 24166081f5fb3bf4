/**
 * The paths of an archive's symbolic links as a tree of numbered nodes, so that walking a path
 * costs one lookup per segment (keyed by parent number and segment) instead of joining the whole
 * prefix again at every step, which made the old checks quadratic in a path's depth.
 *
 * Only the links' own paths and their parent directories are nodes: below a path that is not a
 * node there is no link, so a walk that leaves the tree only needs to count how deep it went.
 */

export const ROOT = 0;

/** A place reached by a walk: a node of the tree, then `below` more directories outside it. */
export interface Place {
  node: number;
  below: number;
}

export class PathTree {
  private readonly children = new Map<string, number>();
  private readonly parents: number[] = [-1];
  /** Characters hashed by lookups: the unit of work that the linear-time test counts. */
  work = 0;

  get size(): number {
    return this.parents.length;
  }

  child(node: number, segment: string): number | undefined {
    const key = `${node}/${segment}`;
    this.work += key.length;
    return this.children.get(key);
  }

  childOrNew(node: number, segment: string): number {
    const existing = this.child(node, segment);
    if (existing !== undefined) return existing;
    const created = this.parents.length;
    this.parents.push(node);
    this.children.set(`${node}/${segment}`, created);
    return created;
  }

  parent(node: number): number {
    return this.parents[node] ?? -1;
  }

  /** The node of `segments` from the root, created with its parents where missing. */
  nodeOf(segments: readonly string[]): number {
    let node = ROOT;
    for (const segment of segments) node = this.childOrNew(node, segment);
    return node;
  }
}
