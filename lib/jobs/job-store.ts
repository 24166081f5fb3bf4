/**
 * Jobs: one record per link request (or per Idempotency-Key), so that a retried or duplicated
 * worker event finds the outcome already recorded, two deliveries of one event never run at
 * once, and a client can follow the work. A running job holds a short lease that its worker
 * renews while it works (writing its progress at the same time): a worker that dies stops
 * renewing, and the next delivery of the event takes the job over once the lease has run out.
 *
 * State: pending → running → succeeded | failed; running → pending when a transient failure is
 * handed back to Lambda's retries. Records expire through DynamoDB TTL (`expires_at`).
 */
import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { countMatching } from '../storage/query-count';
import { isErrorCode, StorageUnavailableError } from '../core/errors';
import type { FetchEvent, JobError, JobState, JobView } from './fetch-contract';
import { redactUrl } from '../core/logger';
import { formatApiTime, type PackageResponse } from '../storage/package-record';

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

type Item = Record<string, AttributeValue>;

export interface JobStore {
  dynamodb: DynamoDBClient;
  table: string;
  /** Seconds a job record is kept. */
  ttlSeconds: number;
  now: () => Date;
}

export interface JobProgress {
  bytesReceived: number;
  bytesExpected: number | undefined;
}

/** Where a page of a module's jobs ended: the index's key of its last job. */
export interface JobPosition {
  jobId: string;
  created: string;
}

function isConditionFailure(error: unknown): boolean {
  return error instanceof ConditionalCheckFailedException || (error as Error).name === 'ConditionalCheckFailedException';
}

export function moduleKeyOf(code: string, module: string): string {
  return `${code}/${module}`;
}

function fromItem(item: Item): Job {
  const json = <T>(name: string): T | undefined => (item[name]?.S ? (JSON.parse(item[name].S) as T) : undefined);
  const error = json<JobError>('error');
  const number = (name: string): number | undefined => (item[name]?.N === undefined ? undefined : Number(item[name].N));
  return {
    jobId: item.job_id?.S ?? '',
    state: (item.state?.S ?? 'pending') as JobState,
    event: json<FetchEvent>('event') ?? ({} as FetchEvent),
    fingerprint: item.fingerprint?.S ?? '',
    attempts: number('attempts') ?? 0,
    leaseOwner: item.lease_owner?.S,
    leaseExpires: number('lease_expires'),
    result: json<PackageResponse>('result'),
    error: error && isErrorCode(error.code) ? error : undefined,
    created: item.created?.S ?? '',
    updated: item.updated?.S ?? '',
    started: item.started?.S,
    finished: item.finished?.S,
    bytesReceived: number('bytes_received') ?? 0,
    bytesExpected: number('bytes_expected'),
    resolvedVersion: item.resolved_version?.S,
  };
}

async function call<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw new StorageUnavailableError('DynamoDB', error);
  }
}

function expiresAt(store: JobStore): AttributeValue {
  return { N: String(Math.floor(store.now().getTime() / 1000) + store.ttlSeconds) };
}

export async function getJob(store: JobStore, jobId: string): Promise<Job | undefined> {
  const { Item } = await call(() =>
    store.dynamodb.send(new GetItemCommand({ TableName: store.table, Key: { job_id: { S: jobId } }, ConsistentRead: true })),
  );
  return Item ? fromItem(Item) : undefined;
}

/** Creates the job as pending; when the id is taken, answers the job that holds it. */
export async function createJob(
  store: JobStore,
  jobId: string,
  event: FetchEvent,
  fingerprint: string,
): Promise<{ created: true; job: Job } | { created: false; job: Job }> {
  const now = store.now().toISOString();
  const item: Item = {
    job_id: { S: jobId },
    module_key: { S: moduleKeyOf(event.code, event.module) },
    state: { S: 'pending' },
    event: { S: JSON.stringify(event) },
    fingerprint: { S: fingerprint },
    attempts: { N: '0' },
    bytes_received: { N: '0' },
    created: { S: now },
    updated: { S: now },
    expires_at: expiresAt(store),
  };
  try {
    await store.dynamodb.send(
      new PutItemCommand({ TableName: store.table, Item: item, ConditionExpression: 'attribute_not_exists(job_id)' }),
    );
    return { created: true, job: fromItem(item) };
  } catch (error) {
    if (!isConditionFailure(error)) throw new StorageUnavailableError('DynamoDB', error);
  }
  const existing = await getJob(store, jobId);
  if (!existing) throw new StorageUnavailableError('DynamoDB', new Error(`job ${jobId} vanished`));
  return { created: false, job: existing };
}

export type Acquired = { acquired: true; job: Job } | { acquired: false; job: Job };

/**
 * Takes the job for `owner` for `leaseMs`: when it is new (a console invocation creates it
 * here), pending, or running under an expired lease. Otherwise answers the job as it stands —
 * finished (the caller returns its outcome) or running elsewhere.
 */
export async function acquireJob(store: JobStore, jobId: string, event: FetchEvent, owner: string, leaseMs: number): Promise<Acquired> {
  const now = store.now();
  try {
    const { Attributes } = await store.dynamodb.send(
      new UpdateItemCommand({
        TableName: store.table,
        Key: { job_id: { S: jobId } },
        UpdateExpression:
          'SET #state = :running, lease_owner = :owner, lease_expires = :until, updated = :now, ' +
          'attempts = if_not_exists(attempts, :zero) + :one, #event = if_not_exists(#event, :event), ' +
          'module_key = if_not_exists(module_key, :module), started = if_not_exists(started, :now), bytes_received = :zero, ' +
          'fingerprint = if_not_exists(fingerprint, :none), created = if_not_exists(created, :now), expires_at = :expires ' +
          'REMOVE bytes_expected',
        ConditionExpression:
          'attribute_not_exists(job_id) OR #state = :pending OR (#state = :running AND lease_expires < :nowMs)',
        ExpressionAttributeNames: { '#state': 'state', '#event': 'event' },
        ExpressionAttributeValues: {
          ':running': { S: 'running' },
          ':pending': { S: 'pending' },
          ':owner': { S: owner },
          ':until': { N: String(now.getTime() + leaseMs) },
          ':nowMs': { N: String(now.getTime()) },
          ':now': { S: now.toISOString() },
          ':zero': { N: '0' },
          ':one': { N: '1' },
          ':event': { S: JSON.stringify(event) },
          ':module': { S: moduleKeyOf(event.code, event.module) },
          ':none': { S: '' },
          ':expires': expiresAt(store),
        },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return { acquired: true, job: fromItem(Attributes ?? {}) };
  } catch (error) {
    if (!isConditionFailure(error)) throw new StorageUnavailableError('DynamoDB', error);
  }
  const job = await getJob(store, jobId);
  if (!job) throw new StorageUnavailableError('DynamoDB', new Error(`job ${jobId} vanished`));
  return { acquired: false, job };
}

/**
 * Extends `owner`'s lease by `leaseMs` and records the progress, in one write. False when the
 * lease is no longer `owner`'s: another delivery took the job over, and this run must stop.
 */
export async function renewLease(store: JobStore, jobId: string, owner: string, leaseMs: number, progress: JobProgress): Promise<boolean> {
  const now = store.now();
  try {
    await store.dynamodb.send(
      new UpdateItemCommand({
        TableName: store.table,
        Key: { job_id: { S: jobId } },
        UpdateExpression: `SET lease_expires = :until, bytes_received = :received, updated = :now${progress.bytesExpected === undefined ? '' : ', bytes_expected = :expected'}`,
        ConditionExpression: 'lease_owner = :owner AND #state = :running',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: {
          ':until': { N: String(now.getTime() + leaseMs) },
          ':received': { N: String(progress.bytesReceived) },
          ':now': { S: now.toISOString() },
          ':owner': { S: owner },
          ':running': { S: 'running' },
          ...(progress.bytesExpected === undefined ? {} : { ':expected': { N: String(progress.bytesExpected) } }),
        },
      }),
    );
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw new StorageUnavailableError('DynamoDB', error);
  }
}

/**
 * Notes the version a request without one took from its package, if `owner` still holds the job;
 * false when it does not (another delivery took the job over).
 */
export async function noteResolvedVersion(store: JobStore, jobId: string, owner: string, version: string): Promise<boolean> {
  try {
    await store.dynamodb.send(
      new UpdateItemCommand({
        TableName: store.table,
        Key: { job_id: { S: jobId } },
        UpdateExpression: 'SET resolved_version = :version, updated = :now',
        ConditionExpression: 'lease_owner = :owner AND #state = :running',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: {
          ':version': { S: version },
          ':now': { S: store.now().toISOString() },
          ':owner': { S: owner },
          ':running': { S: 'running' },
        },
      }),
    );
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw new StorageUnavailableError('DynamoDB', error);
  }
}

/**
 * Records the outcome, if `owner` still holds the job (a run that lost its lease stays quiet);
 * answers the job as recorded, or undefined when it was not this run's to record.
 */
export async function finishJob(
  store: JobStore,
  jobId: string,
  owner: string,
  outcome: { result: PackageResponse } | { error: JobError },
): Promise<Job | undefined> {
  const succeeded = 'result' in outcome;
  try {
    const { Attributes } = await store.dynamodb.send(
      new UpdateItemCommand({
        TableName: store.table,
        Key: { job_id: { S: jobId } },
        UpdateExpression: `SET #state = :state, ${succeeded ? '#result' : '#error'} = :outcome, updated = :now, finished = :now REMOVE lease_owner, lease_expires`,
        ConditionExpression: 'lease_owner = :owner',
        ExpressionAttributeNames: { '#state': 'state', ...(succeeded ? { '#result': 'result' } : { '#error': 'error' }) },
        ExpressionAttributeValues: {
          ':state': { S: succeeded ? 'succeeded' : 'failed' },
          ':outcome': { S: JSON.stringify(succeeded ? outcome.result : outcome.error) },
          ':now': { S: store.now().toISOString() },
          ':owner': { S: owner },
        },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return Attributes ? fromItem(Attributes) : undefined;
  } catch (error) {
    if (!isConditionFailure(error)) throw new StorageUnavailableError('DynamoDB', error);
    return undefined;
  }
}

/**
 * Ends a job that no run will finish (Lambda gave up on its event) as failed, unless it
 * succeeded or already failed with its own error meanwhile. Whoever held it has stopped.
 */
export async function abandonJob(store: JobStore, jobId: string, error: JobError): Promise<boolean> {
  const now = store.now().toISOString();
  try {
    await store.dynamodb.send(
      new UpdateItemCommand({
        TableName: store.table,
        Key: { job_id: { S: jobId } },
        UpdateExpression: 'SET #state = :failed, #error = :error, updated = :now, finished = :now REMOVE lease_owner, lease_expires',
        ConditionExpression: 'attribute_exists(job_id) AND #state IN (:pending, :running)',
        ExpressionAttributeNames: { '#state': 'state', '#error': 'error' },
        ExpressionAttributeValues: {
          ':failed': { S: 'failed' },
          ':pending': { S: 'pending' },
          ':running': { S: 'running' },
          ':error': { S: JSON.stringify(error) },
          ':now': { S: now },
        },
      }),
    );
    return true;
  } catch (failure) {
    if (isConditionFailure(failure)) return false;
    throw new StorageUnavailableError('DynamoDB', failure);
  }
}

/** Hands the job back as pending, so that the next delivery of the event may run it. */
export async function releaseJob(store: JobStore, jobId: string, owner: string): Promise<void> {
  try {
    await store.dynamodb.send(
      new UpdateItemCommand({
        TableName: store.table,
        Key: { job_id: { S: jobId } },
        UpdateExpression: 'SET #state = :pending, updated = :now REMOVE lease_owner, lease_expires',
        ConditionExpression: 'lease_owner = :owner',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: { ':pending': { S: 'pending' }, ':now': { S: store.now().toISOString() }, ':owner': { S: owner } },
      }),
    );
  } catch (error) {
    if (!isConditionFailure(error)) throw new StorageUnavailableError('DynamoDB', error);
  }
}

/**
 * Forgets a job that never reached a worker (its invocation failed) or that failed transiently,
 * so the same Idempotency-Key starts it afresh; only a pending or failed job is removed.
 */
export async function discardJob(store: JobStore, jobId: string): Promise<void> {
  try {
    await store.dynamodb.send(
      new DeleteItemCommand({
        TableName: store.table,
        Key: { job_id: { S: jobId } },
        ConditionExpression: '#state IN (:pending, :failed)',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: { ':pending': { S: 'pending' }, ':failed': { S: 'failed' } },
      }),
    );
  } catch (error) {
    if (!isConditionFailure(error)) throw new StorageUnavailableError('DynamoDB', error);
  }
}

/**
 * Opens a job that did not succeed for another round of deliveries (an operator re-submitting
 * what reached the on-failure queue); false when the job has succeeded meanwhile.
 */
export async function reopenJob(store: JobStore, jobId: string): Promise<boolean> {
  try {
    await store.dynamodb.send(
      new UpdateItemCommand({
        TableName: store.table,
        Key: { job_id: { S: jobId } },
        UpdateExpression:
          'SET #state = :pending, attempts = :zero, updated = :now, expires_at = :expires, bytes_received = :zero ' +
          'REMOVE lease_owner, lease_expires, #error, finished, bytes_expected',
        // Not a job that succeeded, nor one still running under a live lease (two runs on one key).
        ConditionExpression:
          'attribute_not_exists(job_id) OR (#state <> :succeeded AND NOT (#state = :running AND lease_expires > :nowMs))',
        ExpressionAttributeNames: { '#state': 'state', '#error': 'error' },
        ExpressionAttributeValues: {
          ':pending': { S: 'pending' },
          ':succeeded': { S: 'succeeded' },
          ':running': { S: 'running' },
          ':nowMs': { N: String(store.now().getTime()) },
          ':zero': { N: '0' },
          ':now': { S: store.now().toISOString() },
          ':expires': expiresAt(store),
        },
      }),
    );
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw new StorageUnavailableError('DynamoDB', error);
  }
}

export interface JobPage {
  jobs: Job[];
  next: JobPosition | undefined;
}

/** Pages of the index read at most per listing call when a state filter leaves pages short. */
const MAX_QUERY_PAGES = 5;

function moduleQuery(module: { code: string; module: string }, state: JobState | undefined) {
  return {
    IndexName: JOBS_BY_MODULE_INDEX,
    KeyConditionExpression: 'module_key = :k',
    ...(state ? { FilterExpression: '#state = :state', ExpressionAttributeNames: { '#state': 'state' } } : {}),
    ExpressionAttributeValues: { ':k': { S: moduleKeyOf(module.code, module.module) }, ...(state ? { ':state': { S: state } } : {}) },
  };
}

/** How many of a module's jobs there are, of one `state` if given (null: more than a listing may afford to count). */
export async function countJobs(store: JobStore, module: { code: string; module: string }, state?: JobState): Promise<number | null> {
  return call(() => countMatching(store.dynamodb, { TableName: store.table, ...moduleQuery(module, state) }));
}

/**
 * One page of a module's jobs, newest first, after `after`, of one `state` if given. The index
 * is eventually consistent: a job created a moment ago may be missing.
 */
export async function listJobs(
  store: JobStore,
  module: { code: string; module: string },
  page: { limit: number; state?: JobState; after?: JobPosition },
): Promise<JobPage> {
  const jobs: Job[] = [];
  let start: Item | undefined = page.after
    ? { job_id: { S: page.after.jobId }, module_key: { S: moduleKeyOf(module.code, module.module) }, created: { S: page.after.created } }
    : undefined;
  for (let reads = 0; reads < MAX_QUERY_PAGES; reads += 1) {
    const answer = await call(() =>
      store.dynamodb.send(
        new QueryCommand({
          TableName: store.table,
          ...moduleQuery(module, page.state),
          ScanIndexForward: false,
          Limit: page.limit + 1 - jobs.length,
          ExclusiveStartKey: start,
        }),
      ),
    );
    jobs.push(...(answer.Items ?? []).map(fromItem));
    start = answer.LastEvaluatedKey;
    if (jobs.length > page.limit || !start) break;
  }
  const shown = jobs.slice(0, page.limit);
  const last = shown.at(-1);
  if (jobs.length <= page.limit && start === undefined) return { jobs: shown, next: undefined };
  // Continue after the last job shown, or, when the filter left none, after what was read.
  const next = last ? { jobId: last.jobId, created: last.created } : { jobId: start?.job_id?.S ?? '', created: start?.created?.S ?? '' };
  return { jobs: shown, next };
}

/** A job as its resource shows it (and the worker answers it). */
export function jobView(job: Job): JobView {
  const times: Record<string, string> = {};
  for (const [name, iso] of Object.entries({ created: job.created, updated: job.updated, started: job.started, finished: job.finished })) {
    if (iso) times[name] = formatApiTime(iso);
  }
  return {
    job_id: job.jobId,
    state: job.state,
    ...(job.state === 'succeeded' && job.result ? { package: job.result } : {}),
    ...(job.state === 'failed' && job.error ? { error: job.error } : {}),
    ...(job.event.package_url ? { package_url: redactUrl(job.event.package_url) } : {}),
    attempts: job.attempts,
    bytes_received: job.bytesReceived,
    ...(job.bytesExpected === undefined ? {} : { bytes_expected: job.bytesExpected }),
    ...times,
  };
}
