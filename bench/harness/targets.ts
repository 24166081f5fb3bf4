/**
 * A target and whether the measurement meets it. Every target lands in
 * results.json as at least { name, measured, target, met }.
 */

export interface Target {
  name: string;
  /** What was measured: a ratio, a size, or an outcome such as "1×200, 63×409". */
  measured: number | string;
  /** The bound it is held to, in the same unit as `measured`. */
  target: number | string;
  met: boolean;
  unit: string;
  /** How `measured` was obtained, in one sentence. */
  basis: string;
}

export function atMost(name: string, measured: number, bound: number, unit: string, basis: string): Target {
  return { name, measured, target: bound, met: measured <= bound, unit, basis };
}

export function outcome(name: string, measured: string, expected: string, met: boolean, basis: string): Target {
  return { name, measured, target: expected, met, unit: 'outcome', basis };
}
