/**
 * Cost per GiB registered, from the worker's measured CPU per GiB: Lambda gives a
 * function CPU in proportion to its memory (1,769 MB = one vCPU, at most 6 at 10,240 MB) at one
 * price per GB-second, so a job that is CPU-bound costs the same per GiB at any size below one
 * vCPU and only gets faster; above, it pays for cores it cannot use. Seconds per GiB =
 * CPU s per GiB / min(vCPU share, the cores the worker keeps busy when nothing else limits it,
 * measured as CPU / wall into the sink); at a remote's line rate, no less than the transfer.
 * Prices: arm64, us-east-1, first tier. The CPU was measured on this machine's x86 cores, not on
 * Graviton: read the figures as the shape of the curve and its knee, not as an invoice.
 */
export const PRICE_PER_GB_SECOND = 0.0000133334;
export const PRICE_PER_REQUEST = 0.2 / 1_000_000;
export const MB_PER_VCPU = 1769;
export const MEMORY_SIZES_MB = [512, 1024, 1536, 1769, 2048, 3008, 3538, 5308, 10240];

export interface WorkerCost {
  /** CPU seconds per GiB of archive, and the cores the worker keeps busy (CPU / wall), unthrottled. */
  cpuPerGiB: number;
  parallelism: number;
}

export interface CostRow {
  memoryMb: number;
  vcpu: number;
  /** Seconds and dollars per GiB, CPU-bound, then at `rateMiBs`. */
  seconds: number;
  dollars: number;
  secondsAtRate: number;
  dollarsAtRate: number;
}

export function vcpuShare(memoryMb: number): number {
  return Math.min(6, memoryMb / MB_PER_VCPU);
}

export function costPerGiB(worker: WorkerCost, memoryMb: number, rateMiBs: number): CostRow {
  const vcpu = vcpuShare(memoryMb);
  const seconds = worker.cpuPerGiB / Math.min(vcpu, worker.parallelism);
  const secondsAtRate = Math.max(seconds, 1024 / rateMiBs);
  const perSecond = (memoryMb / 1024) * PRICE_PER_GB_SECOND;
  return { memoryMb, vcpu, seconds, dollars: seconds * perSecond, secondsAtRate, dollarsAtRate: secondsAtRate * perSecond };
}
