/**
 * Do two full runs agree? `npx tsx bench/agreement.ts <first results.json> <second results.json>`
 * prints, for every target both judged with an interval, each run's median and interval and
 * whether the intervals overlap, as a Markdown table for bench/TUNING.md; then the instruction
 * counts of both, which should repeat to a fraction of a percent.
 */
import { readFileSync } from 'node:fs';
import type { BenchResults } from './harness/results';
import { agree } from './harness/spread';
import { floorInstructions } from './streaming/instruction-counts';

function load(file: string): BenchResults {
  return JSON.parse(readFileSync(file, 'utf8')) as BenchResults;
}

function main(): void {
  const [firstFile, secondFile] = process.argv.slice(2);
  if (!firstFile || !secondFile) throw new Error('usage: npx tsx bench/agreement.ts <first results.json> <second results.json>');
  const [first, second] = [load(firstFile), load(secondFile)];
  console.log(`| target | first run (${first.generatedAt.slice(11, 16)} UTC) | second run (${second.generatedAt.slice(11, 16)} UTC) | intervals overlap | met, first / second |`);
  console.log('| --- | --- | --- | --- | --- |');
  for (const a of first.targets) {
    const b = second.targets.find((t) => t.name === a.name);
    if (!a.interval || !b?.interval) continue;
    const cell = (t: typeof a): string => `${t.measured} (${t.interval?.[0]}–${t.interval?.[1]})`;
    const overlap = agree({ median: 0, low: a.interval[0], high: a.interval[1] }, { median: 0, low: b.interval[0], high: b.interval[1] });
    console.log(`| ${a.name} | ${cell(a)} | ${cell(b)} | ${overlap ? 'yes' : 'NO'} | ${a.met ? 'yes' : 'no'} / ${b.met ? 'yes' : 'no'} |`);
  }
  for (const a of first.instructions ?? []) {
    const b = second.instructions?.find((i) => i.archive === a.archive);
    if (!b) continue;
    const [fa, fb] = [floorInstructions(a.delta), floorInstructions(b.delta)];
    const change = (x: number, y: number): string => `${((100 * (y - x)) / x).toFixed(3)} %`;
    console.log(`\ninstructions, ${a.archive}: the three CPU-bound pieces ${fa.total} → ${fb.total} (${change(fa.total, fb.total)}), worker ${a.delta.worker} → ${b.delta.worker} (${change(a.delta.worker, b.delta.worker)})`);
  }
}

main();
