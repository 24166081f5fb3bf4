/**
 * The worker's outer loop around `registerPackage`: take the job's lease, run it once, record
 * the outcome. A duplicated or retried event for a finished job gets the recorded outcome and
 * downloads nothing; one whose job runs elsewhere gets that job's state.
 *
 * Only transient failures of asynchronous events are thrown, so that Lambda retries them; on the
 * last attempt the job is recorded failed and the failure still thrown, so that the event reaches
 * the on-failure queue for a redrive. Everything else is recorded as failed and answered, because
 * another try would fail the same way.
 */
import { errorOf, jobView, type JobView, type WorkerRequest } from './fetch-contract';
import { isTransient, ServiceError } from './errors';
import { acquireJob, finishJob, releaseJob, type JobStore } from './jobs';
import { toPackageResponse } from './package-record';
import { registerPackage, type RegisterDeps } from './register-package';

export interface RunJobDeps extends RegisterDeps {
  jobs: JobStore;
  /** The invocation that runs the job; its lease is named after it. */
  invocationId: string;
}

export class RetryableJobError extends Error {
  constructor(readonly jobId: string, readonly failure: ServiceError) {
    super(`Job ${jobId} failed transiently (${failure.code}); leaving it to Lambda's retries.`, { cause: failure });
    this.name = 'RetryableJobError';
  }
}

/**
 * An asynchronous delivery found its job held by another invocation. Thrown, not answered: if
 * that holder crashed, answering would count as success and the job would never finish; thrown,
 * Lambda delivers again later (by then the job has finished or its lease has run out), and after
 * the last retry the event reaches the on-failure queue.
 */
export class JobBusyError extends Error {
  constructor(readonly jobId: string) {
    super(`Job ${jobId} is running in another invocation; leaving this delivery to Lambda's retries.`);
    this.name = 'JobBusyError';
  }
}

export async function runJob(request: WorkerRequest, deps: RunJobDeps): Promise<JobView> {
  const { log } = deps;
  // The lease lasts as long as this invocation can: past that, a crashed run may be taken over.
  const leaseMs = Math.max(1_000, deps.remainingTimeMs());
  const taken = await acquireJob(deps.jobs, request.jobId, request.event, deps.invocationId, leaseMs);
  if (!taken.acquired) {
    log.info('job already handled', { job_id: request.jobId, state: taken.job.state });
    if (request.mode === 'async' && taken.job.state === 'running') throw new JobBusyError(request.jobId);
    return jobView(taken.job);
  }
  const attempt = taken.job.attempts;
  try {
    const record = await registerPackage(request, deps);
    const result = toPackageResponse(record);
    await finishJob(deps.jobs, request.jobId, deps.invocationId, { result });
    return { job_id: request.jobId, state: 'succeeded', package: result };
  } catch (error) {
    if (!(error instanceof ServiceError)) {
      await releaseJob(deps.jobs, request.jobId, deps.invocationId);
      throw error;
    }
    if (request.mode === 'async' && isTransient(error)) {
      if (attempt < deps.config.fetchMaxAttempts) {
        await releaseJob(deps.jobs, request.jobId, deps.invocationId);
        log.warn('transient failure; Lambda will retry the event', { job_id: request.jobId, attempt, code: error.code });
      } else {
        // The job ends failed, and the event still goes to the on-failure queue, where an
        // operator can redrive it once the remote or the storage has recovered.
        await finishJob(deps.jobs, request.jobId, deps.invocationId, { error: errorOf(error) });
        log.warn('transient failure on the last attempt; job failed, event left for the on-failure queue', { job_id: request.jobId, attempt, code: error.code });
      }
      throw new RetryableJobError(request.jobId, error);
    }
    await finishJob(deps.jobs, request.jobId, deps.invocationId, { error: errorOf(error) });
    return { job_id: request.jobId, state: 'failed', error: errorOf(error) };
  }
}
