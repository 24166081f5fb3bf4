/**
 * The figures as table rows, shared by the console table and BENCHMARKS.md, so both always
 * show the same numbers.
 */
import type { JudgedShape } from '../hostile-archives/judge-process';
import type { BurstFigures } from '../race/race-bench';
import { floorInstructions } from '../streaming/instruction-counts';
import { VARIANTS, type Variant } from '../streaming/streaming-bench';
import { costPerGiB, MEMORY_SIZES_MB, type WorkerCost } from './cost-table';
import { findScenario } from './evaluate-targets';
import { cpuTurnRatios, honestFloor } from './floor';
import type { BenchResults } from './results';
import { gib, sizeLabel } from './stats';
import { INTERVAL_LEVEL, type Spread } from './spread';
import type { Target } from './targets';

const VARIANT_NAMES: Record<Variant, string> = {
  read: 'read the file (taken out of the next four)',
  download: 'download',
  sha256: 'read + SHA-256',
  gunzip: 'read + gunzip',
  list: 'listing alone: read + gunzip + tar walk + rules',
  upload: 'upload alone: read + plain multipart into the sink',
  worker: 'worker (fetch bundle) into the sink',
  'worker-s3rver': 'worker (fetch bundle) into s3rver',
  'classic-s3rver': 'fair classic into s3rver',
  's3-alone': 'S3 alone: file into s3rver',
};

const f = (value: number, digits = 2): string => value.toFixed(digits);

export const STREAMING_HEADER = ['archive', 'server', 'variant', 'wall s', 'MiB/s', 'CPU s', 'CPU s/GiB', 'peak RSS MiB', 'runs'];

export function streamingRows(results: BenchResults): string[][] {
  const rows: string[][] = [];
  for (const scenario of results.streaming) {
    for (const variant of VARIANTS) {
      const v = scenario.variants[variant];
      if (!v) continue;
      rows.push([
        `${scenario.archive} ${sizeLabel(scenario.sizeBytes)}`,
        scenario.rateMiBs ? `${scenario.rateMiBs} MiB/s` : 'loopback',
        VARIANT_NAMES[variant],
        f(v.wallS),
        f(scenario.archiveBytes / 1024 ** 2 / v.wallS, 1),
        f(v.cpuS),
        f(v.cpuS / gib(scenario.archiveBytes)),
        f(v.peakRssMiB, 1),
        String(v.runs),
      ]);
    }
  }
  return rows;
}

export const ARCHIVE_HEADER = ['archive', 'bytes', 'tar bytes', 'compression', 'entries'];

export function archiveRows(results: BenchResults): string[][] {
  const seen = new Set<string>();
  const rows: string[][] = [];
  for (const s of results.streaming) {
    const label = `${s.archive} ${sizeLabel(s.sizeBytes)}`;
    if (seen.has(label)) continue;
    seen.add(label);
    rows.push([label, String(s.archiveBytes), String(s.tarBytes), `${f(s.tarBytes / s.archiveBytes)}×`, String(s.entries)]);
  }
  return rows;
}

export const FLOOR_HEADER = ['archive', 'download', 'SHA-256', 'gunzip', 'tar walk + rules', 'upload', 'honest floor', 'worker into the sink', 'worker / floor (median of turns)', 'interval'];

/** The median of per-turn ratios and its interval, as two cells. */
function turnRatioCells(spread: Spread | undefined): string[] {
  return spread ? [`${f(spread.median)}×`, `${f(spread.low)}–${f(spread.high)}×`] : ['—', '—'];
}

/** CPU seconds per GiB of archive: each piece of the floor (medians), their sum, the worker, and the ratio per turn. */
export function floorRows(results: BenchResults): string[][] {
  const rows: string[][] = [];
  for (const archive of ['random', 'source'] as const) {
    const scenario = findScenario(results.streaming, archive);
    const floor = scenario && honestFloor(scenario.variants);
    const worker = scenario?.variants.worker;
    if (!scenario || !floor || !worker) continue;
    const perGiB = (cpu: number): string => f(cpu / gib(scenario.archiveBytes));
    rows.push([
      `${archive} ${sizeLabel(scenario.sizeBytes)}`,
      perGiB(floor.download),
      perGiB(floor.sha256),
      perGiB(floor.gunzip),
      perGiB(floor.tarWalk),
      perGiB(floor.upload),
      perGiB(floor.cpuS),
      perGiB(worker.cpuS),
      ...turnRatioCells(cpuTurnRatios(scenario.variants)?.spread),
    ]);
  }
  return rows;
}

export const INSTRUCTION_HEADER = ['archive', 'sizes counted', 'SHA-256', 'gunzip', 'tar walk + rules', 'the three', 'worker into the sink', 'worker − the three'];

/** Instructions per MiB of archive between the two sizes counted (instruction-counts.ts), in millions. */
export function instructionRows(results: BenchResults): string[][] {
  return (results.instructions ?? []).map((counts) => {
    const mib = (counts.largeBytes - counts.smallBytes) / 1024 ** 2;
    const { pieces, total } = floorInstructions(counts.delta);
    const perMiB = (value: number): string => f(value / mib / 1e6, 1);
    return [
      counts.archive,
      `${f(counts.smallBytes / 1024 ** 2, 1)} → ${f(counts.largeBytes / 1024 ** 2, 1)} MiB`,
      perMiB(pieces.sha256),
      perMiB(pieces.gunzip),
      perMiB(pieces.tarWalk),
      perMiB(total),
      perMiB(counts.delta.worker),
      perMiB(counts.delta.worker - total),
    ];
  });
}

export const COST_RATE_MIBS = 50;
export const COST_HEADER = [
  'memory MB',
  'vCPU',
  'random: s/GiB',
  'random: $/GiB',
  'source: s/GiB',
  'source: $/GiB',
  `source at ${COST_RATE_MIBS} MiB/s: s/GiB`,
  `source at ${COST_RATE_MIBS} MiB/s: $/GiB`,
];

export function workerCost(results: BenchResults, archive: 'random' | 'source'): WorkerCost | undefined {
  const scenario = findScenario(results.streaming, archive);
  const worker = scenario?.variants.worker;
  if (!scenario || !worker) return undefined;
  return { cpuPerGiB: worker.cpuS / gib(scenario.archiveBytes), parallelism: worker.cpuS / worker.wallS };
}

export function costRows(results: BenchResults): string[][] {
  const random = workerCost(results, 'random');
  const source = workerCost(results, 'source');
  if (!random || !source) return [];
  const dollars = (value: number): string => `$${value.toFixed(5)}`;
  return MEMORY_SIZES_MB.map((memory) => {
    const r = costPerGiB(random, memory, COST_RATE_MIBS);
    const s = costPerGiB(source, memory, COST_RATE_MIBS);
    return [String(memory), f(r.vcpu), f(r.seconds, 1), dollars(r.dollars), f(s.seconds, 1), dollars(s.dollars), f(s.secondsAtRate, 1), dollars(s.dollarsAtRate)];
  });
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


export const TARGET_HEADER = ['target', 'measured', `${INTERVAL_LEVEL * 100} % interval`, 'bound', 'met'];

export function targetRows(targets: Target[]): string[][] {
  return targets.map((t) => {
    const unit = t.unit === 'ratio' ? '×' : t.unit === 'outcome' ? '' : ` ${t.unit}`;
    const bound = typeof t.target === 'number' ? `≤ ${t.target}${unit}` : t.target;
    const interval = t.interval ? `${t.interval[0]}–${t.interval[1]}${unit}` : '—';
    return [t.name, `${t.measured}${typeof t.measured === 'number' ? unit : ''}`, interval, bound, t.met ? 'yes' : 'NO'];
  });
}
