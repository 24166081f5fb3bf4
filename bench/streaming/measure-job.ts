/**
 * Runs one job in a child process and prints what it cost as the process's last line: wall
 * time and CPU time of the job alone (not the process's start-up), and the process's peak RSS.
 */

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
    // Kibibytes on Linux: the largest resident set the process ever had.
    max_rss_kib: process.resourceUsage().maxRSS,
  };
  process.stdout.write(JSON.stringify({ ...result, ...cost }) + '\n');
}

export function runMain(main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
