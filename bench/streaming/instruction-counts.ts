/**
 * A count that does not drift with the machine: instructions executed (valgrind's callgrind) by the
 * worker and by the honest floor's CPU-bound pieces, at two small sizes of each archive. Times on a
 * shared machine move by tens of percent between runs; these counts repeat to a fraction of a
 * percent, because Node runs with V8 on one thread (`--single-threaded`) and fixed hash and random
 * seeds. The figure per piece is the difference between the two sizes (start-up, the job record and
 * JIT warm-up cancel), less the same difference of a plain file read for the pieces fed from a file,
 * exactly as the CPU floor takes the read out (bench/harness/floor.ts).
 *
 * Skipped when valgrind is not installed (`sudo apt-get install -y valgrind`); CI's smoke run never
 * counts.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ArchiveKind, BenchArchive } from './bench-archives';

/**
 * What is counted: the floor's CPU-bound pieces (floor-process.ts) with the read they are fed by,
 * and the worker into the sink. The download and the upload wait on sockets, so their counts
 * would follow the timing of reads; and each count costs valgrind's 50× slowdown.
 */
export const COUNTED = ['read', 'sha256', 'gunzip', 'list', 'worker'] as const;
export type Counted = (typeof COUNTED)[number];

export interface InstructionFigures {
  archive: ArchiveKind;
  /** The two sizes of archive counted (bytes of each archive file). */
  smallBytes: number;
  largeBytes: number;
  /** Instructions at the larger size less those at the smaller, per piece as run (file reads still in). */
  delta: Record<Counted, number>;
}

/** Runs one variant under the given Node binary (a wrapper script here) and answers when it is done. */
export type RunUnder = (variant: Counted, archive: BenchArchive, node: string) => Promise<unknown>;

export function valgrindFound(): boolean {
  try {
    execFileSync('valgrind', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const root = path.resolve(__dirname, '../..');

function script(file: string, body: string): string {
  writeFileSync(file, `#!/bin/sh\n${body}\n`);
  chmodSync(file, 0o755);
  return file;
}

/**
 * A script that runs Node under callgrind with the settings that make a count repeat, writing it to
 * `out`. The worker starts as Lambda starts fetch: handlers/fetch-runtime.sh is given the callgrind
 * script as its node and adds its V8 options after it, as bench/profile.ts does for perf.
 */
function wrapper(dir: string, name: string, out: string, variant: Counted): string {
  const node = ['--single-threaded', '--hash-seed=1', '--random-seed=1'].join(' ');
  const callgrind = script(path.join(dir, `${name}.sh`), `exec valgrind --tool=callgrind --callgrind-out-file='${out}' '${process.execPath}' ${node} "$@"`);
  if (variant !== 'worker') return callgrind;
  return script(path.join(dir, `${name}-runtime.sh`), `exec '${path.join(root, 'handlers/fetch-runtime.sh')}' '${callgrind}' "$@"`);
}

function instructionsIn(out: string): number {
  const match = /^summary: (\d+)$/m.exec(readFileSync(out, 'utf8'));
  if (!match?.[1]) throw new Error(`${out} holds no callgrind summary`);
  return Number(match[1]);
}

/** Two jobs at a time: the counts do not depend on what else runs, so the cores may be shared. */
async function inPairs<T>(jobs: (() => Promise<T>)[]): Promise<T[]> {
  const results: T[] = new Array<T>(jobs.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < jobs.length) {
      const at = next++;
      results[at] = await (jobs[at] as () => Promise<T>)();
    }
  };
  await Promise.all([lane(), lane()]);
  return results;
}

export async function countInstructions(
  archives: { small: BenchArchive; large: BenchArchive },
  scratch: string,
  run: RunUnder,
): Promise<InstructionFigures> {
  const jobs = COUNTED.flatMap((variant) =>
    (['small', 'large'] as const).map((size) => async (): Promise<number> => {
      const name = `callgrind-${archives.small.kind}-${variant}-${size}`;
      const out = path.join(scratch, `${name}.out`);
      try {
        await run(variant, archives[size], wrapper(scratch, name, out, variant));
        return instructionsIn(out);
      } finally {
        rmSync(out, { force: true });
      }
    }),
  );
  const counts = await inPairs(jobs);
  const delta = Object.fromEntries(COUNTED.map((variant, i) => [variant, (counts[2 * i + 1] as number) - (counts[2 * i] as number)])) as Record<Counted, number>;
  return { archive: archives.small.kind, smallBytes: archives.small.bytes, largeBytes: archives.large.bytes, delta };
}

/** The floor's CPU-bound pieces in instructions, each less the read that feeds it, as the CPU floor is summed. */
export function floorInstructions(delta: Record<Counted, number>): { pieces: Record<'sha256' | 'gunzip' | 'tarWalk', number>; total: number } {
  const pieces = {
    sha256: delta.sha256 - delta.read,
    gunzip: delta.gunzip - delta.read,
    tarWalk: delta.list - delta.gunzip,
  };
  return { pieces, total: pieces.sha256 + pieces.gunzip + pieces.tarWalk };
}
