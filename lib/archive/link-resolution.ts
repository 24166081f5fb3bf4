/**
 * Where an archive's links lead once it is extracted, in time linear in the links' names and
 * targets: each symbolic link is resolved once, and a path that reaches an already resolved link
 * continues from that link's result instead of walking its target again. The walk keeps an
 * explicit stack, so a chain of 200,000 links needs no deep recursion.
 *
 * There is no hop limit: a chain longer than Linux follows (40) is resolved to its end and
 * refused if the end is outside, since another system may follow more. A cycle reaches nothing
 * on any system (ELOOP), so it cannot lead outside either.
 *
 * A name that misses the tree but is another spelling of a node (case, Unicode normalisation)
 * would lead there on macOS and Windows and elsewhere on Linux: the walk stops as `ambiguous`
 * rather than judge one filesystem, and `clash` says which name it was.
 */
import { PathTree, ROOT, type Place } from './path-tree';

/** `ambiguous`: the walk missed a name that is another spelling of a link's path or its directory's (`PathTree.foldedChild`). */
export type Verdict = 'inside' | 'escapes' | 'loop' | 'ambiguous';

// A link's state starts at 0: not yet visited.
const RESOLVING = 1;
const RESOLVED = 2;

interface Frame {
  /** The symbolic link this frame resolves, or -1 for a path that is not a link's (a hard link's target). */
  link: number;
  segments: readonly string[];
  next: number;
  node: number;
  below: number;
}

export class LinkResolver {
  private readonly state: Uint8Array;
  private readonly verdicts: Verdict[] = [];
  private readonly places: Place[] = [];
  /** Segments stepped through: the unit of work that the linear-time test counts. */
  work = 0;
  /** The name that made the last walk `ambiguous`, and the node it is another spelling of. */
  clash: { segment: string; node: number } | undefined;

  /**
   * @param symlinkAt the symbolic link (an index for `pathOf`) at each node that is one once extracted
   * @param pathOf a symbolic link's directory segments from the root, then its target's segments
   */
  constructor(
    private readonly tree: PathTree,
    private readonly symlinkAt: ReadonlyMap<number, number>,
    symlinkCount: number,
    private readonly pathOf: (link: number) => readonly string[],
  ) {
    this.state = new Uint8Array(symlinkCount);
  }

  /** Where symbolic link `link` leads, followed from the root through its directory and its target. */
  symlinkVerdict(link: number): Verdict {
    if (this.state[link] !== RESOLVED) {
      this.state[link] = RESOLVING;
      this.run(this.frameOf(link));
    }
    return this.verdicts[link] ?? 'inside';
  }

  /** Where a path from the root leads (a hard link's target). */
  pathVerdict(segments: readonly string[]): Verdict {
    return this.run({ link: -1, segments, next: 0, node: ROOT, below: 0 });
  }

  private frameOf(link: number): Frame {
    return { link, segments: this.pathOf(link), next: 0, node: ROOT, below: 0 };
  }

  private run(first: Frame): Verdict {
    const stack: Frame[] = [first];
    for (let frame = first; ; frame = stack[stack.length - 1] ?? first) {
      if (frame.next === frame.segments.length) {
        stack.pop();
        this.settle(frame, 'inside');
        const caller = stack[stack.length - 1];
        if (caller === undefined) return 'inside';
        caller.node = frame.node;
        caller.below = frame.below;
        continue;
      }
      const segment = frame.segments[frame.next] ?? '';
      frame.next += 1;
      this.work += 1;
      if (segment === '..') {
        if (frame.below > 0) frame.below -= 1;
        else if (frame.node === ROOT) return this.unwind(stack, 'escapes');
        else frame.node = this.tree.parent(frame.node);
        continue;
      }
      if (frame.below > 0) {
        frame.below += 1;
        continue;
      }
      const child = this.tree.child(frame.node, segment);
      if (child === undefined) {
        const other = this.tree.foldedChild(frame.node, segment);
        if (other !== undefined) {
          this.clash = { segment, node: other };
          return this.unwind(stack, 'ambiguous');
        }
        frame.below = 1;
        continue;
      }
      const link = this.symlinkAt.get(child);
      if (link === undefined) {
        frame.node = child;
        continue;
      }
      if (this.state[link] === RESOLVING) return this.unwind(stack, 'loop');
      if (this.state[link] === RESOLVED) {
        const verdict = this.verdicts[link] ?? 'inside';
        if (verdict !== 'inside') return this.unwind(stack, verdict);
        const place = this.places[link] ?? { node: ROOT, below: 0 };
        frame.node = place.node;
        frame.below = place.below;
        continue;
      }
      this.state[link] = RESOLVING;
      stack.push(this.frameOf(link));
    }
  }

  /** Every link being resolved on the stack leads where the innermost one does. */
  private unwind(stack: Frame[], verdict: Verdict): Verdict {
    for (const frame of stack) this.settle(frame, verdict);
    return verdict;
  }

  private settle(frame: Frame, verdict: Verdict): void {
    if (frame.link < 0) return;
    this.state[frame.link] = RESOLVED;
    this.verdicts[frame.link] = verdict;
    this.places[frame.link] = { node: frame.node, below: frame.below };
  }
}
