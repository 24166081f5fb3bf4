/**
 * The figures as table rows, shared by the console table and BENCHMARKS.md, so both always
 * show the same numbers.
 */
import type { JudgedShape } from '../hostile-archives/judge-process';
import type { BurstFigures } from '../race/race-bench';
import { VARIANTS } from '../streaming/streaming-bench';
import { sizeLabel } from './evaluate-targets';
import type { BenchResults } from './results';
import type { Target } from './targets';

const VARIANT_NAMES = {
  floor: 'floor: download + SHA-256',
  s3: 'S3 alone: upload from a file',
  classic: 'classic: download to file, hash, upload',
  worker: 'worker (fetch bundle)',
} as const;

const f = (value: number, digits = 2): string => value.toFixed(digits);

export const STREAMING_HEADER = ['size', 'variant', 'wall s', 'MiB/s', 'CPU s', 'CPU s/GiB', 'peak RSS MiB', 'runs'];

export function streamingRows(results: BenchResults): string[][] {
  const rows: string[][] = [];
  for (const size of results.streaming) {
    const gib = size.sizeBytes / 1024 ** 3;
    for (const variant of VARIANTS) {
      const v = size.variants[variant];
      if (!v) continue;
      rows.push([
        sizeLabel(size.sizeBytes),
        VARIANT_NAMES[variant],
        f(v.wallS),
        f(size.sizeBytes / 1024 ** 2 / v.wallS, 1),
        f(v.cpuS),
        f(v.cpuS / gib),
        f(v.peakRssMiB, 1),
        String(v.runs),
      ]);
    }
  }
  return rows;
}

export const OVERHEAD_HEADER = ['loop', 'requests/s', 'p50 µs', 'p99 µs'];

export function overheadRows(results: BenchResults): string[][] {
  const { link, busboy } = results.requestOverhead;
  return [
    ['link handler (fake clients)', f(link.requestsPerSecond, 0), f(link.p50Us, 1), f(link.p99Us, 1)],
    ['busboy alone, same body', f(busboy.requestsPerSecond, 0), f(busboy.p50Us, 1), f(busboy.p99Us, 1)],
  ];
}

export const COLD_START_HEADER = ['function', 'bundle KB', 'floor KB', 'init ms', 'floor init ms', 'ready ms', 'floor ready ms', 'heaviest packages (KB)'];

export function coldStartRows(results: BenchResults): string[][] {
  return results.coldStart.map((fn) => [
    fn.name,
    f(fn.bundleBytes / 1000, 1),
    f(fn.floorBundleBytes / 1000, 1),
    f(fn.loadMs, 0),
    f(fn.floorLoadMs, 0),
    f(fn.readyMs, 0),
    f(fn.floorReadyMs, 0),
    fn.heaviest.map((p) => `${p.name} ${f(p.bytes / 1000, 0)}`).join(', '),
  ]);
}

export const RACE_HEADER = ['burst', 'requests', 'requests/s', 'statuses (last run)', 'records', 'objects', 'correct'];

export function raceRows(results: BenchResults): string[][] {
  const race = results.race;
  if (!race) return [];
  const bursts: [string, BurstFigures][] = [
    ['one new version', race.sameVersion],
    ['distinct versions', race.distinctVersions],
  ];
  return bursts.map(([name, b]) => [
    name,
    String(b.requests),
    f(b.requestsPerSecond, 1),
    Object.entries(b.statuses).map(([status, count]) => `${count}×${status}`).join(', '),
    String(b.records),
    String(b.objects),
    b.correct ? 'yes' : 'NO',
  ]);
}

export const HOSTILE_HEADER = ['archive', 'bytes', 'verdict', 'CPU ms', '/ ordinary', 'runs'];

export function hostileRows(results: BenchResults): string[][] {
  const hostile = results.hostileArchives;
  if (!hostile) return [];
  const row = (baseline: number) => (shape: JudgedShape): string[] => [
    shape.name,
    String(shape.archiveBytes),
    shape.verdict,
    f(shape.cpuMs, 1),
    f(shape.cpuMs / baseline),
    String(shape.runs),
  ];
  const yaml = hostile.yamlBaseline ? [hostile.yamlBaseline, ...(hostile.yamlShapes ?? [])].map(row(hostile.yamlBaseline.cpuMs)) : [];
  const baseline = hostile.baseline.cpuMs;
  return [...[hostile.baseline, ...hostile.shapes].map(row(baseline)), ...yaml];
}


export const TARGET_HEADER = ['target', 'measured', 'bound', 'met'];

export function targetRows(targets: Target[]): string[][] {
  return targets.map((t) => {
    const unit = t.unit === 'ratio' ? '×' : t.unit === 'outcome' ? '' : ` ${t.unit}`;
    const bound = typeof t.target === 'number' ? `≤ ${t.target}${unit}` : t.target;
    return [t.name, `${t.measured}${typeof t.measured === 'number' ? unit : ''}`, bound, t.met ? 'yes' : 'NO'];
  });
}
