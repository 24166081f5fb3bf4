/**
 * The paths of an archive's symbolic links as a tree of numbered nodes, so that walking a path
 * costs one lookup per segment instead of joining the whole prefix again at every step, which
 * made the old checks quadratic in a path's depth.
 *
 * Only the links' own paths and their parent directories are nodes: below a path that is not a
 * node there is no link, so a walk that leaves the tree only needs to count how deep it went.
 * A node keeps its first child inline and only the others in a Map: a deep chain of single
 * directories (the hostile shape) then costs two array slots per level, not a Map each.
 */

export const ROOT = 0;

/** A place reached by a walk: a node of the tree, then `below` more directories outside it. */
export interface Place {
  node: number;
  below: number;
}

export class PathTree {
  private readonly parents: number[] = [-1];
  private readonly firstSegments: (string | undefined)[] = [undefined];
  private readonly firstChildren: number[] = [-1];
  private readonly otherChildren: (Map<string, number> | undefined)[] = [undefined];
  /** Characters compared or hashed by lookups: the unit of work that the linear-time test counts. */
  work = 0;

  child(node: number, segment: string): number | undefined {
    this.work += segment.length + 1;
    if (this.firstSegments[node] === segment) return this.firstChildren[node];
    return this.otherChildren[node]?.get(segment);
  }

  childOrNew(node: number, segment: string): number {
    const existing = this.child(node, segment);
    if (existing !== undefined) return existing;
    const created = this.parents.length;
    this.parents.push(node);
    this.firstSegments.push(undefined);
    this.firstChildren.push(-1);
    this.otherChildren.push(undefined);
    if (this.firstSegments[node] === undefined) {
      this.firstSegments[node] = segment;
      this.firstChildren[node] = created;
    } else {
      const others = this.otherChildren[node] ?? new Map<string, number>();
      others.set(segment, created);
      this.otherChildren[node] = others;
    }
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
