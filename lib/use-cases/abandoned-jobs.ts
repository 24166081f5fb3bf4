/**
 * What happens to a job whose event Lambda gave up on (every attempt failed, or the event grew
 * too old): the fetch function's on-failure destination invokes `fetchFailures` with Lambda's
 * invocation record. The job is recorded failed — a job that no run will finish must not stay
 * `pending` or `running` — what its last run left in S3 is removed (an upload in progress, an
 * object no version record points to: invariant 3 without waiting for the bucket's lifecycle
 * rule), and the record goes on to the failure queue, where an alarm sees it and
 * `npm run redrive` can run it again. Recording the job failed is a job's end like any other:
 * it is announced on the event bus as the worker announces its own (docs/api.md#events).
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { StorageUnavailableError, ValidationError } from '../core/errors';
import { parseFetchEvent, type JobError } from '../jobs/fetch-contract';
import { publishJobEnd, type PublishDeps } from '../jobs/event-publisher';
import { failedEvent } from '../jobs/job-events';
import { abandonJob } from '../jobs/job-lease';
import { getJob, type JobStore } from '../jobs/job-records';
import type { Logger } from '../core/logger';
import type { PackageRequest } from '../core/package-request';
import { objectKeysOf } from '../storage/package-record';
import { abortUploadsAt, deleteObjectsQuietly, objectKeyFor, requestKeysFor } from '../storage/package-store';
import { getVersion } from '../storage/version-records';

export interface AbandonedJobDeps {
  jobs: JobStore;
  sqs: SQSClient;
  queueUrl: string;
  s3: S3Client;
  bucket: string;
  versionsTable: string;
  log: Logger;
  /** Where the job's end is announced; absent, nothing is (tests not about events). */
  events?: Omit<PublishDeps, 'log'>;
}

/** The parts of Lambda's invocation record this needs. */
interface InvocationRecord {
  requestContext?: { condition?: string; approximateInvokeCount?: number };
  requestPayload?: unknown;
  responsePayload?: { errorType?: string; errorMessage?: string } | null;
}

export interface AbandonedJob {
  jobId: string;
  /** Whether this call ended the job (false: it had ended already, or its holder is alive). */
  recordedFailed: boolean;
}

function isRecord(value: unknown): value is InvocationRecord {
  return typeof value === 'object' && value !== null && 'requestPayload' in value;
}

/** The client's view of why the job ended; the worker's own error, when it recorded one, stays. */
function errorFor(record: InvocationRecord): JobError {
  const attempts = record.requestContext?.approximateInvokeCount ?? 0;
  if (record.requestContext?.condition === 'EventAgeExceeded') {
    return {
      code: 'WORKER_FAILED',
      detail: 'The package worker could not start this job before its event expired; the request is safe to retry.',
    };
  }
  return {
    code: 'WORKER_FAILED',
    detail: `The package worker stopped before it finished (timed out, out of memory or crashed) on ${attempts || 'every'} attempt(s); the request is safe to retry.`,
  };
}

export async function recordAbandonedJob(record: unknown, deps: AbandonedJobDeps): Promise<AbandonedJob> {
  if (!isRecord(record)) throw new ValidationError('Not a Lambda invocation record: it has no requestPayload.');
  const request = parseFetchEvent(record.requestPayload, '');
  const { jobId } = request;
  const errorType = record.responsePayload?.errorType;
  // A delivery that found its job held by a live run: that run ends the job, on its own event.
  const holderAlive = errorType === 'JobBusyError';
  const error = errorFor(record);
  const finishedAt = holderAlive ? undefined : await abandonJob(deps.jobs, jobId, error);
  const recordedFailed = finishedAt !== undefined;
  // Announced at once: should a later step throw, Lambda's retry finds the job ended and would not.
  if (finishedAt !== undefined) await announce(request, error, finishedAt, deps);
  // Also when its last run recorded the failure itself: a run killed earlier may have left an
  // object the last one never reached.
  const job = holderAlive ? undefined : await getJob(deps.jobs, jobId);
  if (job?.state === 'failed') await removeLeftovers(request, job.resolvedVersion, deps);
  try {
    await deps.sqs.send(new SendMessageCommand({ QueueUrl: deps.queueUrl, MessageBody: JSON.stringify(record) }));
  } catch (error) {
    throw new StorageUnavailableError('SQS', error);
  }
  deps.log.warn('job abandoned by Lambda', { job_id: jobId, error_type: errorType, recorded_failed: recordedFailed, condition: record.requestContext?.condition });
  return { jobId, recordedFailed };
}

/** Bounded and never throws (lib/jobs/event-publisher.ts): the job is recorded whatever the bus does. */
async function announce(request: PackageRequest, error: JobError, finishedAt: string, deps: AbandonedJobDeps): Promise<void> {
  if (!deps.events) return;
  await publishJobEnd(failedEvent(request, error, finishedAt), { ...deps.events, log: deps.log });
}

/**
 * What the job's dead runs left at its keys (the package and what goes beside it), unless its
 * version record points there. Without `version` in the event, the version is the one a run
 * noted on the job before writing a record; none noted, no record of this job exists.
 */
async function removeLeftovers(request: PackageRequest, resolvedVersion: string | undefined, deps: AbandonedJobDeps): Promise<void> {
  const key = objectKeyFor(request.code, request.module, request.jobId);
  await abortUploadsAt(deps.s3, deps.bucket, key, deps.log);
  const version = request.version ?? resolvedVersion;
  const record = version ? await getVersion(deps.jobs.dynamodb, deps.versionsTable, { code: request.code, module: request.module, version }) : undefined;
  const kept = new Set(record ? objectKeysOf(record) : []);
  await deleteObjectsQuietly(deps.s3, deps.bucket, requestKeysFor(key).filter((leftover) => !kept.has(leftover)), deps.log);
}
