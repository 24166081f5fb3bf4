/**
 * How the benchmark judges a target (bench/harness/spread.ts, targets.ts): by the median of
 * per-turn ratios and its bootstrap interval, met only when the whole interval is within the bound.
 */
import { describe, expect, it } from 'vitest';
import { agree, medianSpread, perTurn, ratioSpread } from '../../../bench/harness/spread';
import { spreadAtMost } from '../../../bench/harness/targets';

describe('a target judged by its interval', () => {
  it('is not met when its median is within the bound but its interval reaches past it', () => {
    const turns = [1.05, 1.1, 1.12, 1.15, 1.18, 1.26, 1.31];

    const target = spreadAtMost('worker CPU / floor', medianSpread(turns), 1.2, 'ratio', 'per-turn ratios');

    expect(target.measured).toBe(1.15);
    expect(target.interval?.[1]).toBeGreaterThan(1.2);
    expect(target.met).toBe(false);
  });

  it('is met when the whole interval is within the bound', () => {
    const target = spreadAtMost('worker CPU / floor', medianSpread([1.08, 1.09, 1.1, 1.1, 1.11, 1.12, 1.13]), 1.2, 'ratio', 'per-turn ratios');

    expect(target.met).toBe(true);
  });
});

describe('the interval', () => {
  it('holds the median, and is the same every time for the same turns (seeded resampling)', () => {
    const turns = [1.52, 1.44, 1.8, 1.61, 1.47, 1.55, 1.49];

    const spread = medianSpread(turns);

    expect(spread.low).toBeLessThanOrEqual(spread.median);
    expect(spread.high).toBeGreaterThanOrEqual(spread.median);
    expect(medianSpread(turns)).toEqual(spread);
  });

  it('takes ratios turn by turn, over the turns both sides ran', () => {
    expect(perTurn([2, 3, 4], [1, 2])).toEqual([2, 1.5]);
  });

  it('resamples two unpaired lists each on its own for a ratio of their medians', () => {
    const spread = ratioSpread([178, 180, 181], [133, 134, 135, 136, 134]);

    expect(spread.median).toBeCloseTo(180 / 134, 6);
    expect(spread.low).toBeLessThanOrEqual(spread.median);
    expect(spread.high).toBeGreaterThanOrEqual(spread.median);
  });

  it('says two runs agree when their intervals overlap, and not when they are apart', () => {
    expect(agree({ low: 1.05, high: 1.14 }, { low: 1.08, high: 1.31 })).toBe(true);
    expect(agree({ low: 1.09, high: 1.18 }, { low: 1.25, high: 1.64 })).toBe(false);
  });
});
