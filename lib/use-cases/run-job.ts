/**
 * The worker's outer loop around `registerPackage`: take the job's lease, run it once while
 * renewing the lease (with the download's progress), record the outcome. A duplicated or
 * retried event for a finished job gets the recorded outcome and downloads nothing; a delivery
 * that finds the job held waits, at most one lease, for the holder to finish or to stop
 * renewing (a dead holder's job is taken over rather than lost), and otherwise is thrown back
 * to Lambda for a later try.
 *
 * Every job reaches the worker as an asynchronous event, so Lambda redelivers it when a run
 * dies (killed, timed out, out of memory). Transient failures are thrown back to Lambda only
 * for `async` events (the client chose to follow the job); for `sync` ones (a client is
 * waiting) they are answered at once. On the last attempt the job is recorded failed and the
 * failure still thrown, so that the event reaches the on-failure queue for a redrive.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { errorOf, toFetchEvent, type JobView } from '../jobs/fetch-contract';
import type { PackageRequest } from '../core/package-request';
import { isTransient, JobBusyError, RetryableJobError, ServiceError, TransferAbortedError } from '../core/errors';
import { acquireJob, finishJob, releaseJob, type Acquired } from '../jobs/job-lease';
import { jobView } from '../jobs/job-view';
import type { Job, JobStore } from '../jobs/job-records';
import { toPackageResponse } from '../storage/package-record';
import { count, countBy, METRIC } from '../core/metrics';
import { failedEvent, registeredEvent, type JobEndEvent } from '../jobs/job-events';
import { publishJobEnd, PUBLISH_BOUNDS } from '../jobs/event-publisher';
import { registerPackage, type WorkerDeps } from './register-package';
import { leasedRun } from './job-run';

export interface RunJobDeps extends WorkerDeps {
  jobs: JobStore;
  /**
   * This run's own id, which names its lease. Not the invocation's request id: Lambda keeps that
   * id across the retries of one asynchronous event, so it could not tell a stale run from the
   * run that took its job over.
   */
  runId: string;
}

/** Takes the job, waiting (at most one lease, and never past the invocation's time) while a holder renews it. */
async function acquirePatiently(request: PackageRequest, deps: RunJobDeps): Promise<Acquired> {
  const leaseMs = deps.config.jobLeaseMs;
  // Compared with the lease's expiry, which the job store wrote from the same injected clock.
  const waitUntil = deps.now().getTime() + Math.min(leaseMs + 2_000, Math.max(0, deps.remainingTimeMs() - deps.config.cleanupMarginMs - 1_000));
  for (;;) {
    const taken = await acquireJob(deps.jobs, request.jobId, toFetchEvent(request), deps.runId, leaseMs);
    const holder = taken.job;
    if (taken.acquired || holder.state !== 'running') return taken;
    const expires = holder.leaseExpires ?? 0;
    if (expires + 100 > waitUntil) return taken;
    await sleep(Math.max(50, Math.min(expires + 100 - deps.now().getTime(), 1_000)));
  }
}

export async function runJob(request: PackageRequest, deps: RunJobDeps): Promise<JobView> {
  const { log } = deps;
  const taken = await acquirePatiently(request, deps);
  if (!taken.acquired) {
    log.info('job already handled', { job_id: request.jobId, state: taken.job.state });
    // Answering "running" would end this delivery for good: if the holder then dies, nothing runs the job.
    if (taken.job.state === 'running') throw new JobBusyError(request.jobId);
    return jobView(taken.job);
  }
  const attempt = taken.job.attempts;
  const lease = leasedRun(
    { jobs: deps.jobs, jobId: request.jobId, runId: deps.runId, leaseMs: deps.config.jobLeaseMs, log },
    { resolvedVersion: taken.job.resolvedVersion, attempt },
  );
  try {
    const record = await registerPackage(request, lease.run, deps);
    const result = toPackageResponse(record);
    const finished = await finishJob(deps.jobs, request.jobId, deps.runId, { result });
    recordEnd(deps, attempt);
    if (finished) await announce(registeredEvent(request, record, endOf(finished, deps)), deps);
    return finished ? jobView(finished) : { job_id: request.jobId, state: 'succeeded', package: result, attempts: attempt };
  } catch (error) {
    if (lease.lost()) {
      // Another delivery holds the job now and will record how it ends.
      log.warn('job taken over by another delivery; this run stops', { job_id: request.jobId, attempt });
      return { job_id: request.jobId, state: 'running', attempts: attempt };
    }
    if (error instanceof TransferAbortedError) {
      // The lease could not be confirmed (DynamoDB unreachable): nothing written or deleted.
      // Thrown, so that Lambda delivers the event again; the next run takes the job over.
      log.warn('job lease not confirmed; left to the next delivery', { job_id: request.jobId, attempt });
      throw error;
    }
    if (!(error instanceof ServiceError)) {
      await releaseJob(deps.jobs, request.jobId, deps.runId);
      throw error;
    }
    if (request.mode === 'async' && isTransient(error)) {
      if (attempt < deps.config.fetchMaxAttempts) {
        await releaseJob(deps.jobs, request.jobId, deps.runId);
        log.warn('transient failure; Lambda will retry the event', { job_id: request.jobId, attempt, code: error.code });
      } else {
        // The job ends failed, and the event still goes to the on-failure queue, where an
        // operator can redrive it once the remote or the storage has recovered.
        const finished = await finishJob(deps.jobs, request.jobId, deps.runId, { error: errorOf(error) });
        recordEnd(deps, attempt, error.code);
        if (finished) await announce(failedEvent(request, errorOf(error), endOf(finished, deps)), deps);
        log.warn('transient failure on the last attempt; job failed, event left for the on-failure queue', { job_id: request.jobId, attempt, code: error.code });
      }
      throw new RetryableJobError(request.jobId, error);
    }
    const finished = await finishJob(deps.jobs, request.jobId, deps.runId, { error: errorOf(error) });
    recordEnd(deps, attempt, error.code);
    if (finished) await announce(failedEvent(request, errorOf(error), endOf(finished, deps)), deps);
    return finished ? jobView(finished) : { job_id: request.jobId, state: 'failed', error: errorOf(error), attempts: attempt };
  } finally {
    lease.stop();
  }
}

/**
 * The job's end on the event bus, once its final record is written by this run (a run that lost
 * the record's condition leaves it to the run that won). Bounded, and never throws: the job is
 * done whatever the bus does, and the invocation keeps a second for its own end.
 */
async function announce(event: JobEndEvent, deps: RunJobDeps): Promise<void> {
  if (!deps.events) return;
  const budgetMs = Math.min(PUBLISH_BOUNDS.budgetMs, Math.max(0, deps.remainingTimeMs() - 1_000));
  await publishJobEnd(event, { events: deps.events, busName: deps.config.eventBusName, log: deps.log, ...(deps.metrics ? { metrics: deps.metrics } : {}) }, { ...PUBLISH_BOUNDS, budgetMs });
}

/** When the job's record was ended; finishJob always writes `finished`, the clock is only a fallback. */
function endOf(job: Job, deps: RunJobDeps): string {
  return job.finished ?? deps.now().toISOString();
}

/** A job's end in the metrics: succeeded, or failed with its code; and the retries it took. */
function recordEnd(deps: RunJobDeps, attempt: number, failedWith?: string): void {
  if (!deps.metrics) return;
  if (failedWith === undefined) count(deps.metrics, METRIC.jobsSucceeded);
  else countBy(deps.metrics, METRIC.jobsFailed, 'Code', failedWith);
  if (attempt > 1) count(deps.metrics, METRIC.retriesTaken, attempt - 1);
}
