/** The table `npm run bench` prints when it is done. */
import {
  COLD_START_HEADER,
  coldStartRows,
  HOSTILE_HEADER,
  hostileRows,
  OVERHEAD_HEADER,
  overheadRows,
  RACE_HEADER,
  raceRows,
  STREAMING_HEADER,
  streamingRows,
  TARGET_HEADER,
  targetRows,
} from './figure-rows';
import type { BenchResults } from './results';
import { plainTable } from './text-table';

export function consoleReport(results: BenchResults): string {
  const sections: [string, string[], string[][]][] = [
    ['Streaming', STREAMING_HEADER, streamingRows(results)],
    ['Request overhead', OVERHEAD_HEADER, overheadRows(results)],
    ['Cold start', COLD_START_HEADER.slice(0, -1), coldStartRows(results).map((row) => row.slice(0, -1))],
    ['Race and load', RACE_HEADER, raceRows(results)],
    ['Hostile archives', HOSTILE_HEADER, hostileRows(results)],
    ['Targets', TARGET_HEADER, targetRows(results.targets)],
  ];
  return sections
    .filter(([, , rows]) => rows.length > 0)
    .map(([title, header, rows]) => `\n${title}\n${plainTable(header, rows)}`)
    .join('\n');
}
