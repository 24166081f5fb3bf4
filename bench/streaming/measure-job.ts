/**
 * Runs one job in a child process and prints what it cost as the process's last line: wall
 * time and CPU time of the job alone (not the process's start-up), and the process's peak RSS.
 */
import { readFileSync } from 'node:fs';

export interface JobCost {
  wall_ms: number;
  cpu_ms: number;
  max_rss_kib: number;
}

export async function measureJob<T extends object>(job: () => Promise<T>): Promise<void> {
  const cpuBefore = process.cpuUsage();
  const started = process.hrtime.bigint();
  const result = await job();
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  const cpu = process.cpuUsage(cpuBefore);
  const cost: JobCost = {
    wall_ms: wallMs,
    cpu_ms: (cpu.user + cpu.system) / 1000,
    max_rss_kib: peakRssKiB(),
  };
  process.stdout.write(JSON.stringify({ ...result, ...cost }) + '\n');
}

export function runMain(main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}

/**
 * The largest resident set this process has had, in KiB: VmHWM, the high-water mark of its own
 * memory map. Not getrusage's maxRSS: Linux carries the parent's resident set at fork over into
 * the child's maxRSS, so a child of a harness holding 180 MiB reports at least 180 MiB.
 */
function peakRssKiB(): number {
  try {
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (match?.[1]) return Number(match[1]);
  } catch {
    // Not Linux: maxRSS, with the caveat above.
  }
  return process.resourceUsage().maxRSS;
}
