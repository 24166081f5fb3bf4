/**
 * One delivery of the `fetch` worker's event: parse it, run its job, log the outcome once, and
 * hand back to Lambda (by throwing) only what Lambda should retry. The handler builds the
 * logger and the clients; this decides what a delivery answers.
 */
import { randomUUID } from 'node:crypto';
import { JobBusyError, RetryableJobError, ServiceError, severityOf } from '../core/errors';
import type { Logger } from '../core/logger';
import { errorOf, parseFetchEvent, type FetchResult } from '../jobs/fetch-contract';
import type { WorkerDeps } from './register-package';
import { runJob } from './run-job';

export interface Delivery {
  /** Lambda's request id: the job id of an event without one, and part of this run's lease id. */
  requestId: string;
  remainingTimeMs: () => number;
  log: Logger;
}

export async function answerFetchEvent(event: unknown, delivery: Delivery, deps: Omit<WorkerDeps, 'log' | 'remainingTimeMs'>): Promise<FetchResult> {
  let request;
  try {
    request = parseFetchEvent(event, delivery.requestId);
  } catch (error) {
    if (!(error instanceof ServiceError)) throw error;
    delivery.log.info('event refused', { code: error.code, error });
    return { job_id: delivery.requestId, state: 'failed', error: errorOf(error) };
  }
  const log = delivery.log.child({ job_id: request.jobId, code: request.code, module: request.module, version: request.version, mode: request.mode });
  try {
    const view = await runJob(request, {
      ...deps,
      log,
      remainingTimeMs: delivery.remainingTimeMs,
      // Lambda keeps the request id across retries of one event; the suffix tells runs apart.
      runId: `${delivery.requestId}/${randomUUID()}`,
      jobs: { dynamodb: deps.dynamodb, table: deps.config.jobsTable, ttlSeconds: deps.config.jobTtlSeconds, now: deps.now },
    });
    if (view.error) log[severityOf(new ServiceError(view.error.code, view.error.detail))]('package not registered', { error: view.error });
    else log.info('job answered', { state: view.state });
    return view;
  } catch (error) {
    // Thrown on purpose (a transient failure of an asynchronous event) or unexpected: Lambda retries.
    if (error instanceof RetryableJobError) log.warn('job handed back for a retry', { code: error.failure.code, detail: error.failure.detail });
    else if (error instanceof JobBusyError) log.warn('job busy elsewhere; delivery left for a retry');
    else log.error('job not finished', { error });
    throw error;
  }
}
