/**
 * One run of a job, as `registerPackage` sees it: everything its lease decides, in one object.
 * `runJob` builds it around the job's lease (renewed while the run works, with its progress).
 */
import { noteResolvedVersion, renewLease, type JobProgress } from '../jobs/job-lease';
import type { JobStore } from '../jobs/job-records';
import type { Logger } from '../core/logger';

/** A download's progress as the job reports it. */
export interface DownloadProgress {
  contentLength: number | undefined;
  bytesReceived: () => number;
}

export interface JobRun {
  /** Aborted once the run's lease is known to be lost: the upload is abandoned, the keys left alone. */
  readonly signal: AbortSignal;
  /** The fence before a delete or a write: true only when a renewal of the lease went through. */
  confirm(): Promise<boolean>;
  /** Notes the version taken from the package before its record is written; false: the lease is lost. */
  noteVersion(version: string): Promise<boolean>;
  /** Told of the download once it opens, so that the job reports its progress. */
  progress(download: DownloadProgress): void;
  /** The version an earlier run of this job took from its package (a request without `version`). */
  readonly resolvedVersion: string | undefined;
  /** An earlier run of this job died: what it left of its upload goes first. */
  readonly isRetry: boolean;
}

// Progress is written at most this often, with the lease; a few renewals fit in every lease.
const MAX_HEARTBEAT_MS = 5_000;

export interface LeasedRun {
  run: JobRun;
  /** Whether the lease was lost (another delivery holds the job now). */
  lost(): boolean;
  /** Stops renewing the lease. */
  stop(): void;
}

/**
 * The run of a job whose lease `runId` holds: renews the lease with the progress while the run
 * works, and aborts the run once the lease is known to be lost. A DynamoDB error on a renewal
 * keeps the run going (the next beat may get through before the lease runs out) but never
 * confirms it.
 */
export function leasedRun(
  lease: { jobs: JobStore; jobId: string; runId: string; leaseMs: number; log: Logger },
  earlier: { resolvedVersion: string | undefined; attempt: number },
): LeasedRun {
  const { jobs, jobId, runId, leaseMs, log } = lease;
  const controller = new AbortController();
  let progress: () => JobProgress = () => ({ bytesReceived: 0, bytesExpected: undefined });
  const loseLease = (): false => {
    controller.abort();
    return false;
  };
  const renew = async (): Promise<'owner' | 'lost' | 'unknown'> => {
    if (controller.signal.aborted) return 'lost';
    try {
      if (await renewLease(jobs, jobId, runId, leaseMs, progress())) return 'owner';
      loseLease();
      return 'lost';
    } catch (error) {
      log.warn('could not renew the job lease', { job_id: jobId, error });
      return 'unknown';
    }
  };
  const timer = setInterval(() => void renew(), Math.min(MAX_HEARTBEAT_MS, Math.floor(leaseMs / 3)));
  const run: JobRun = {
    signal: controller.signal,
    confirm: async () => (await renew()) === 'owner',
    // Noting the version is a fenced write like a renewal: failing its condition means the lease is lost.
    noteVersion: async (version) => !controller.signal.aborted && ((await noteResolvedVersion(jobs, jobId, runId, version)) || loseLease()),
    progress: (download) => {
      progress = () => ({ bytesReceived: download.bytesReceived(), bytesExpected: download.contentLength });
    },
    resolvedVersion: earlier.resolvedVersion,
    isRetry: earlier.attempt > 1,
  };
  return { run, lost: () => controller.signal.aborted, stop: () => clearInterval(timer) };
}
