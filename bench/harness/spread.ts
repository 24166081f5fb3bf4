/**
 * How far a figure could move on this machine: a percentile bootstrap interval of a median,
 * from per-turn values (paired ratios taken moments apart) or from two unpaired lists. The
 * resampling is seeded, so the same samples always give the same interval.
 */
import { median } from './stats';

/** The share of resampled medians the interval holds. */
export const INTERVAL_LEVEL = 0.9;
const RESAMPLES = 2000;

export interface Spread {
  median: number;
  low: number;
  high: number;
}

/** A small deterministic generator (mulberry32): the interval must not change between reruns of the same figures. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function resample(values: readonly number[], random: () => number): number[] {
  return values.map(() => values[Math.floor(random() * values.length)] as number);
}

function bounds(medians: number[]): [number, number] {
  medians.sort((a, b) => a - b);
  const tail = (1 - INTERVAL_LEVEL) / 2;
  const at = (q: number): number => medians[Math.min(medians.length - 1, Math.max(0, Math.round(q * (medians.length - 1))))] as number;
  return [at(tail), at(1 - tail)];
}

/** The median of per-turn values and its bootstrap interval. */
export function medianSpread(values: readonly number[]): Spread {
  const random = seeded(values.length);
  const medians = Array.from({ length: RESAMPLES }, () => median(resample(values, random)));
  const [low, high] = bounds(medians);
  return { median: median(values), low, high };
}

/** median(numerators) ÷ median(denominators) for two unpaired lists, each resampled on its own. */
export function ratioSpread(numerators: readonly number[], denominators: readonly number[]): Spread {
  const random = seeded(numerators.length * 31 + denominators.length);
  const ratios = Array.from({ length: RESAMPLES }, () => median(resample(numerators, random)) / median(resample(denominators, random)));
  const [low, high] = bounds(ratios);
  return { median: median(numerators) / median(denominators), low, high };
}

/** Per-turn ratios a[i] ÷ b[i], over the turns both ran. */
export function perTurn(a: readonly number[], b: readonly number[]): number[] {
  return a.flatMap((value, i) => (b[i] === undefined ? [] : [value / (b[i] as number)]));
}

/** Two runs agree on a figure when their intervals overlap. */
export function agree(a: Pick<Spread, 'low' | 'high'>, b: Pick<Spread, 'low' | 'high'>): boolean {
  return a.low <= b.high && b.low <= a.high;
}
