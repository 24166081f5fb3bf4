/**
 * Do full runs agree? `npx tsx bench/agreement.ts <results.json> <results.json> [more…]` prints,
 * for every target the runs judged with an interval, each run's median and interval and whether
 * every two runs' intervals overlap, as a Markdown table for bench/TUNING.md; then the
 * instruction counts of each run, which should repeat to a fraction of a percent.
 */
import { readFileSync } from 'node:fs';
import type { BenchResults } from './harness/results';
import { agree } from './harness/spread';
import type { Target } from './harness/targets';
import { floorInstructions } from './streaming/instruction-counts';

function load(file: string): BenchResults {
  return JSON.parse(readFileSync(file, 'utf8')) as BenchResults;
}

/** A target judged by an interval. */
type Judged = Target & { interval: [number, number] };

/** The pairs of runs whose intervals do not overlap, as "1–3"; none when every pair agrees. */
function disagreeing(targets: Judged[]): string[] {
  const pairs: string[] = [];
  targets.forEach((a, i) =>
    targets.slice(i + 1).forEach((b, j) => {
      const [[al, ah], [bl, bh]] = [a.interval, b.interval];
      if (!agree({ low: al, high: ah }, { low: bl, high: bh })) pairs.push(`${i + 1}–${i + j + 2}`);
    }),
  );
  return pairs;
}

function main(): void {
  const runs = process.argv.slice(2).map(load);
  if (runs.length < 2) throw new Error('usage: npx tsx bench/agreement.ts <results.json> <results.json> [more…]');
  const [first] = runs as [BenchResults];
  const names = runs.map((run, i) => `run ${i + 1} (${run.generatedAt.slice(11, 16)} UTC)`);
  console.log(`| target | ${names.join(' | ')} | intervals overlap | met |`);
  console.log(`| --- | ${names.map(() => '---').join(' | ')} | --- | --- |`);
  for (const target of first.targets) {
    const same = runs.map((run) => run.targets.find((t) => t.name === target.name));
    if (same.some((t) => !t?.interval)) continue;
    const judged = same as Judged[];
    const cells = judged.map((t) => `${t.measured} (${t.interval[0]}–${t.interval[1]})`);
    const apart = disagreeing(judged);
    console.log(`| ${target.name} | ${cells.join(' | ')} | ${apart.length === 0 ? 'every pair' : `not ${apart.join(', ')}`} | ${judged.map((t) => (t.met ? 'yes' : 'no')).join(' / ')} |`);
  }
  for (const kind of ['random', 'source'] as const) {
    const counts = runs.map((run) => run.instructions?.find((i) => i.archive === kind));
    if (counts.some((c) => !c)) continue;
    const pieces = counts.map((c) => (c ? floorInstructions(c.delta).total : 0));
    const worker = counts.map((c) => c?.delta.worker ?? 0);
    const spread = (values: number[]): string => `${((100 * (Math.max(...values) - Math.min(...values))) / Math.min(...values)).toFixed(2)} %`;
    console.log(`\ninstructions, ${kind}: the three CPU-bound pieces ${pieces.join(', ')} (spread ${spread(pieces)}); worker ${worker.join(', ')} (spread ${spread(worker)})`);
  }
}

main();
