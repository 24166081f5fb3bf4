/**
 * A target and whether the measurement meets it. Every target lands in
 * results.json as at least { name, measured, target, met }.
 */
import { round } from './stats';
import type { Spread } from './spread';

export interface Target {
  name: string;
  /** What was measured: a ratio, a size, or an outcome such as "1×200, 63×409". */
  measured: number | string;
  /** The bound it is held to, in the same unit as `measured`. */
  target: number | string;
  /**
   * Where the measured median could lie (bench/harness/spread.ts): a target with one is met only
   * when the whole interval is within the bound, so one lucky median cannot meet it.
   */
  interval?: [number, number];
  met: boolean;
  unit: string;
  /** How `measured` was obtained, in one sentence. */
  basis: string;
}

export function atMost(name: string, measured: number, bound: number, unit: string, basis: string): Target {
  return { name, measured, target: bound, met: measured <= bound, unit, basis };
}

/** A bound held against a median and its interval: met only when the interval's top is within it. */
export function spreadAtMost(name: string, spread: Spread, bound: number, unit: string, basis: string, digits = 2): Target {
  const interval: [number, number] = [round(spread.low, digits), round(spread.high, digits)];
  return { name, measured: round(spread.median, digits), target: bound, interval, met: spread.high <= bound, unit, basis };
}

export function outcome(name: string, measured: string, expected: string, met: boolean, basis: string): Target {
  return { name, measured, target: expected, met, unit: 'outcome', basis };
}
