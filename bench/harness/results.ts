/**
 * The harness's output as one value: the machine, the commands, every part's figures and every
 * target. results.json is this, serialised; the table and BENCHMARKS.md are views of it.
 */
import type { ColdStartFigures } from '../cold-start/cold-start-bench';
import type { HostileOutput } from '../hostile-archives/judge-process';
import type { RaceFigures } from '../race/race-bench';
import type { OverheadOutput } from '../request-overhead/overhead-process';
import type { InstructionFigures } from '../streaming/instruction-counts';
import type { ScenarioFigures } from '../streaming/streaming-bench';
import type { Machine } from './machine';
import type { Target } from './targets';

export interface BenchResults {
  generatedAt: string;
  mode: 'full' | 'smoke';
  durationS: number;
  machine: Machine;
  commands: string[];
  uploadSettings: { partBytes: number; queueSize: number };
  streaming: ScenarioFigures[];
  /** Instruction counts of the worker and the floor's pieces (absent without valgrind, and in smoke runs). */
  instructions?: InstructionFigures[];
  requestOverhead: OverheadOutput;
  coldStart: ColdStartFigures[];
  /** Absent when the local stack was skipped. */
  race: RaceFigures | undefined;
  /** Absent in results written before the hostile archives were measured. */
  hostileArchives?: HostileOutput;
  targets: Target[];
}
