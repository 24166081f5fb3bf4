/**
 * The jobs table's items: the one mapping between a job and its item, and the read of one job.
 * An item that lacks an attribute a job needs, or holds one of another type, is refused loudly
 * (`MalformedItemError`): it never becomes a plausible pending job.
 */
import { GetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { dynamoCall, itemReader, MalformedItemError, toAttributes, type Item } from '../core/dynamodb-calls';
import { isErrorCode } from '../core/errors';
import { JOB_STATES, type FetchEvent, type JobError, type JobState } from './fetch-contract';
import type { PackageResponse } from '../storage/package-record';

/** A module's jobs, newest first. */
export const JOBS_BY_MODULE_INDEX = 'by_module_created';

export interface Job {
  jobId: string;
  state: JobState;
  event: FetchEvent;
  /** What the caller asked for; an Idempotency-Key reused for another request is refused. */
  fingerprint: string;
  attempts: number;
  leaseOwner: string | undefined;
  /** Epoch milliseconds. */
  leaseExpires: number | undefined;
  result: PackageResponse | undefined;
  error: JobError | undefined;
  /** ISO-8601 instants; `started` at the first attempt, `finished` when it succeeded or failed. */
  created: string;
  updated: string;
  started: string | undefined;
  finished: string | undefined;
  /** Bytes of the archive received so far, and the Content-Length when the remote declared one. */
  bytesReceived: number;
  bytesExpected: number | undefined;
  /**
   * The version a request without one took from its package, noted before the version record is
   * written: a later run of the job finds that record by it instead of uploading over its object.
   */
  resolvedVersion: string | undefined;
}

export interface JobStore {
  dynamodb: DynamoDBClient;
  table: string;
  /** Seconds a job record is kept. */
  ttlSeconds: number;
  now: () => Date;
}

export function moduleKeyOf(code: string, module: string): string {
  return `${code}/${module}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isFetchEvent(value: unknown): value is FetchEvent {
  return isObject(value) && typeof value.code === 'string' && typeof value.module === 'string';
}

function isJobError(value: unknown): value is JobError {
  return isObject(value) && isErrorCode(value.code) && typeof value.detail === 'string' && (value.retry_after === undefined || typeof value.retry_after === 'number');
}

function isPackageResponse(value: unknown): value is PackageResponse {
  return isObject(value) && typeof value.version === 'string';
}

function isJobState(value: string): value is JobState {
  return (JOB_STATES as readonly string[]).includes(value);
}

export function jobFromItem(item: Item): Job {
  const read = itemReader('jobs', item);
  const state = read.text('state');
  if (!isJobState(state)) throw new MalformedItemError('jobs', `state "${state}" is not a job state`);
  const event = read.optionalJson('event', isFetchEvent);
  if (!event) throw new MalformedItemError('jobs', 'event is missing');
  return {
    jobId: read.text('job_id'),
    state,
    event,
    fingerprint: read.text('fingerprint'),
    attempts: read.number('attempts'),
    leaseOwner: read.optionalText('lease_owner'),
    leaseExpires: read.optionalNumber('lease_expires'),
    result: read.optionalJson('result', isPackageResponse),
    error: read.optionalJson('error', isJobError),
    created: read.text('created'),
    updated: read.text('updated'),
    started: read.optionalText('started'),
    finished: read.optionalText('finished'),
    bytesReceived: read.number('bytes_received'),
    bytesExpected: read.optionalNumber('bytes_expected'),
    resolvedVersion: read.optionalText('resolved_version'),
  };
}

export function jobToItem(job: Job, expiresAt: number): Item {
  return toAttributes({
    job_id: job.jobId,
    module_key: moduleKeyOf(job.event.code, job.event.module),
    state: job.state,
    event: JSON.stringify(job.event),
    fingerprint: job.fingerprint,
    attempts: job.attempts,
    lease_owner: job.leaseOwner,
    lease_expires: job.leaseExpires,
    result: job.result && JSON.stringify(job.result),
    error: job.error && JSON.stringify(job.error),
    created: job.created,
    updated: job.updated,
    started: job.started,
    finished: job.finished,
    bytes_received: job.bytesReceived,
    bytes_expected: job.bytesExpected,
    resolved_version: job.resolvedVersion,
    expires_at: expiresAt,
  });
}

/** The key of the job `jobId`. */
export function jobKey(jobId: string): Item {
  return toAttributes({ job_id: jobId });
}

/** When a job record written now expires (DynamoDB TTL, epoch seconds). */
export function expiresAt(store: JobStore): number {
  return Math.floor(store.now().getTime() / 1000) + store.ttlSeconds;
}

export async function getJob(store: JobStore, jobId: string): Promise<Job | undefined> {
  const { Item } = await dynamoCall(() =>
    store.dynamodb.send(new GetItemCommand({ TableName: store.table, Key: jobKey(jobId), ConsistentRead: true })),
  );
  return Item ? jobFromItem(Item) : undefined;
}
