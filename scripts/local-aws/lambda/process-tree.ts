/**
 * A container's processes: the one the pool started and every process under it. An exec wrapper
 * may run the runtime as its child instead of exec-ing it (valid on Lambda); Lambda then still
 * counts the whole environment's memory and ends all of it, so the local pool reads and kills the
 * tree, not only the process it started. Linux /proc; elsewhere the tree is the process alone.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';

/** Whether the kernel lists each thread's children (/proc/<pid>/task/<tid>/children, CONFIG_PROC_CHILDREN). */
const CHILDREN_LISTED = existsSync(`/proc/${process.pid}/task/${process.pid}/children`);

/** The children of `pid`: those of each of its threads (a child belongs to the thread that forked it). */
function childrenOf(pid: number): number[] {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return []; // ended, or no /proc
  }
  return tasks.flatMap((task) => {
    try {
      return readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
    } catch {
      return []; // the thread ended
    }
  });
}

/** Parent of each running process, from /proc/<pid>/stat (the command name may hold spaces and parentheses): every process read, for kernels that list no children. */
function parents(): Map<number, number[]> {
  const children = new Map<number, number[]>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return children;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const siblings = children.get(ppid) ?? [];
      siblings.push(Number(entry));
      children.set(ppid, siblings);
    } catch {
      // the process ended while the table was read
    }
  }
  return children;
}

/** `pid` and all its descendants: read down from `pid` where the kernel allows, so a poll costs the tree's size, not the machine's. */
function processTree(pid: number): number[] {
  const children = CHILDREN_LISTED ? undefined : parents();
  const tree = [pid];
  for (let i = 0; i < tree.length; i += 1) {
    const member = tree[i] as number;
    tree.push(...(children ? (children.get(member) ?? []) : childrenOf(member)));
  }
  return tree;
}

function rssKb(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** Resident memory of the whole tree, in MB (Lambda's memory size counts the environment, not one process). */
export function treeRssMb(pid: number): number {
  return processTree(pid).reduce((sum, member) => sum + rssKb(member), 0) / 1024;
}

/** SIGKILL to the tree, listed before the first kill so no orphan escapes by being re-parented. */
export function killTree(pid: number): void {
  for (const member of processTree(pid)) {
    try {
      process.kill(member, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
