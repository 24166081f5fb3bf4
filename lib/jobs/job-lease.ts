/**
 * Jobs: one record per link request (or per Idempotency-Key), so that a retried or duplicated
 * worker event finds the outcome already recorded, two deliveries of one event never run at
 * once, and a client can follow the work. A running job holds a short lease that its worker
 * renews while it works (writing its progress at the same time): a worker that dies stops
 * renewing, and the next delivery of the event takes the job over once the lease has run out.
 *
 * State: pending → running → succeeded | failed; running → pending when a transient failure is
 * handed back to Lambda's retries. Records expire through DynamoDB TTL (`expires_at`). Every
 * transition is one conditional write; its condition is the state machine's guard.
 */
import { DeleteItemCommand, PutItemCommand, UpdateItemCommand, type UpdateItemCommandInput } from '@aws-sdk/client-dynamodb';
import { conditionalWrite, toAttributes } from '../core/dynamodb-calls';
import { StorageUnavailableError } from '../core/errors';
import type { FetchEvent, JobError } from './fetch-contract';
import type { PackageResponse } from '../storage/package-record';
import { expiresAt, getJob, jobFromItem, jobKey, jobToItem, moduleKeyOf, type Job, type JobStore } from './job-records';

export interface JobProgress {
  bytesReceived: number;
  bytesExpected: number | undefined;
}

/** One conditional update of the job `jobId`: a transition of the state machine, guarded by its condition. */
function updateJob(store: JobStore, jobId: string, update: Omit<UpdateItemCommandInput, 'TableName' | 'Key'>) {
  return conditionalWrite(() => store.dynamodb.send(new UpdateItemCommand({ TableName: store.table, Key: jobKey(jobId), ...update })));
}

/** The job `jobId` as it stands after a write that did not go through; it must exist. */
async function jobAsItStands(store: JobStore, jobId: string): Promise<Job> {
  const job = await getJob(store, jobId);
  if (!job) throw new StorageUnavailableError('DynamoDB', new Error(`job ${jobId} vanished`));
  return job;
}

/** Creates the job as pending; when the id is taken, answers the job that holds it. */
export async function createJob(
  store: JobStore,
  jobId: string,
  event: FetchEvent,
  fingerprint: string,
): Promise<{ created: true; job: Job } | { created: false; job: Job }> {
  const now = store.now().toISOString();
  const job: Job = {
    jobId,
    state: 'pending',
    event,
    fingerprint,
    attempts: 0,
    leaseOwner: undefined,
    leaseExpires: undefined,
    result: undefined,
    error: undefined,
    created: now,
    updated: now,
    started: undefined,
    finished: undefined,
    bytesReceived: 0,
    bytesExpected: undefined,
    resolvedVersion: undefined,
  };
  const put = await conditionalWrite(() =>
    store.dynamodb.send(
      new PutItemCommand({ TableName: store.table, Item: jobToItem(job, expiresAt(store)), ConditionExpression: 'attribute_not_exists(job_id)' }),
    ),
  );
  return put.written ? { created: true, job } : { created: false, job: await jobAsItStands(store, jobId) };
}

export type Acquired = { acquired: true; job: Job } | { acquired: false; job: Job };

/**
 * Takes the job for `owner` for `leaseMs`: when it is new (a console invocation creates it
 * here), pending, or running under an expired lease. Otherwise answers the job as it stands —
 * finished (the caller returns its outcome) or running elsewhere.
 */
export async function acquireJob(store: JobStore, jobId: string, event: FetchEvent, owner: string, leaseMs: number): Promise<Acquired> {
  const now = store.now();
  const update = await updateJob(store, jobId, {
    UpdateExpression:
      'SET #state = :running, lease_owner = :owner, lease_expires = :until, updated = :now, ' +
      'attempts = if_not_exists(attempts, :zero) + :one, #event = if_not_exists(#event, :event), ' +
      'module_key = if_not_exists(module_key, :module), started = if_not_exists(started, :now), bytes_received = :zero, ' +
      'fingerprint = if_not_exists(fingerprint, :none), created = if_not_exists(created, :now), expires_at = :expires ' +
      'REMOVE bytes_expected',
    ConditionExpression:
      'attribute_not_exists(job_id) OR #state = :pending OR (#state = :running AND lease_expires < :nowMs)',
    ExpressionAttributeNames: { '#state': 'state', '#event': 'event' },
    ExpressionAttributeValues: toAttributes({
      ':running': 'running',
      ':pending': 'pending',
      ':owner': owner,
      ':until': now.getTime() + leaseMs,
      ':nowMs': now.getTime(),
      ':now': now.toISOString(),
      ':zero': 0,
      ':one': 1,
      ':event': JSON.stringify(event),
      ':module': moduleKeyOf(event.code, event.module),
      ':none': '',
      ':expires': expiresAt(store),
    }),
    ReturnValues: 'ALL_NEW',
  });
  if (update.written) return { acquired: true, job: jobFromItem(update.output.Attributes ?? {}) };
  return { acquired: false, job: await jobAsItStands(store, jobId) };
}

/**
 * Extends `owner`'s lease by `leaseMs` and records the progress, in one write. False when the
 * lease is no longer `owner`'s: another delivery took the job over, and this run must stop.
 */
export async function renewLease(store: JobStore, jobId: string, owner: string, leaseMs: number, progress: JobProgress): Promise<boolean> {
  const now = store.now();
  const update = await updateJob(store, jobId, {
    UpdateExpression: `SET lease_expires = :until, bytes_received = :received, updated = :now${progress.bytesExpected === undefined ? '' : ', bytes_expected = :expected'}`,
    ConditionExpression: 'lease_owner = :owner AND #state = :running',
    ExpressionAttributeNames: { '#state': 'state' },
    ExpressionAttributeValues: toAttributes({
      ':until': now.getTime() + leaseMs,
      ':received': progress.bytesReceived,
      ':now': now.toISOString(),
      ':owner': owner,
      ':running': 'running',
      ':expected': progress.bytesExpected,
    }),
  });
  return update.written;
}

/**
 * Notes the version a request without one took from its package, if `owner` still holds the job;
 * false when it does not (another delivery took the job over).
 */
export async function noteResolvedVersion(store: JobStore, jobId: string, owner: string, version: string): Promise<boolean> {
  const update = await updateJob(store, jobId, {
    UpdateExpression: 'SET resolved_version = :version, updated = :now',
    ConditionExpression: 'lease_owner = :owner AND #state = :running',
    ExpressionAttributeNames: { '#state': 'state' },
    ExpressionAttributeValues: toAttributes({ ':version': version, ':now': store.now().toISOString(), ':owner': owner, ':running': 'running' }),
  });
  return update.written;
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
  const update = await updateJob(store, jobId, {
    UpdateExpression: `SET #state = :state, ${succeeded ? '#result' : '#error'} = :outcome, updated = :now, finished = :now REMOVE lease_owner, lease_expires`,
    ConditionExpression: 'lease_owner = :owner',
    ExpressionAttributeNames: { '#state': 'state', ...(succeeded ? { '#result': 'result' } : { '#error': 'error' }) },
    ExpressionAttributeValues: toAttributes({
      ':state': succeeded ? 'succeeded' : 'failed',
      ':outcome': JSON.stringify(succeeded ? outcome.result : outcome.error),
      ':now': store.now().toISOString(),
      ':owner': owner,
    }),
    ReturnValues: 'ALL_NEW',
  });
  return update.written && update.output.Attributes ? jobFromItem(update.output.Attributes) : undefined;
}

/**
 * Ends a job that no run will finish (Lambda gave up on its event) as failed, unless it
 * succeeded or already failed with its own error meanwhile. Whoever held it has stopped.
 * Answers the instant recorded as `finished`, or undefined when the job was not this call's to end.
 */
export async function abandonJob(store: JobStore, jobId: string, error: JobError): Promise<string | undefined> {
  const finished = store.now().toISOString();
  const update = await updateJob(store, jobId, {
    UpdateExpression: 'SET #state = :failed, #error = :error, updated = :now, finished = :now REMOVE lease_owner, lease_expires',
    ConditionExpression: 'attribute_exists(job_id) AND #state IN (:pending, :running)',
    ExpressionAttributeNames: { '#state': 'state', '#error': 'error' },
    ExpressionAttributeValues: toAttributes({
      ':failed': 'failed',
      ':pending': 'pending',
      ':running': 'running',
      ':error': JSON.stringify(error),
      ':now': finished,
    }),
  });
  return update.written ? finished : undefined;
}

/** Hands the job back as pending, so that the next delivery of the event may run it. */
export async function releaseJob(store: JobStore, jobId: string, owner: string): Promise<void> {
  await updateJob(store, jobId, {
    UpdateExpression: 'SET #state = :pending, updated = :now REMOVE lease_owner, lease_expires',
    ConditionExpression: 'lease_owner = :owner',
    ExpressionAttributeNames: { '#state': 'state' },
    ExpressionAttributeValues: toAttributes({ ':pending': 'pending', ':now': store.now().toISOString(), ':owner': owner }),
  });
}

/**
 * Forgets a job that never reached a worker (its invocation failed) or that failed transiently,
 * so the same Idempotency-Key starts it afresh; only a pending or failed job is removed.
 */
export async function discardJob(store: JobStore, jobId: string): Promise<void> {
  await conditionalWrite(() =>
    store.dynamodb.send(
      new DeleteItemCommand({
        TableName: store.table,
        Key: jobKey(jobId),
        ConditionExpression: '#state IN (:pending, :failed)',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: toAttributes({ ':pending': 'pending', ':failed': 'failed' }),
      }),
    ),
  );
}

/**
 * Whether `reopenJob` would open `job` (none: its record expired) at `nowMs`: the same rule as its
 * condition, for a dry run to say what a real run would do.
 */
export function reopenable(job: Job | undefined, nowMs: number): boolean {
  return !job || (job.state !== 'succeeded' && !(job.state === 'running' && (job.leaseExpires ?? 0) > nowMs));
}

/**
 * Opens a job that did not succeed for another round of deliveries (an operator re-submitting
 * what reached the on-failure queue); false when the job has succeeded meanwhile. A job whose
 * record has expired is written whole from `event` and its request's `fingerprint`, so it reads,
 * lists and holds its Idempotency-Key like any other.
 */
export async function reopenJob(store: JobStore, jobId: string, event: FetchEvent, fingerprint: string): Promise<boolean> {
  const update = await updateJob(store, jobId, {
    UpdateExpression:
      'SET #state = :pending, attempts = :zero, updated = :now, expires_at = :expires, bytes_received = :zero, ' +
      '#event = if_not_exists(#event, :event), module_key = if_not_exists(module_key, :module), ' +
      'fingerprint = if_not_exists(fingerprint, :fingerprint), created = if_not_exists(created, :now) ' +
      'REMOVE lease_owner, lease_expires, #error, finished, bytes_expected',
    // Not a job that succeeded, nor one still running under a live lease (two runs on one key);
    // `reopenable` says the same of a job read.
    ConditionExpression:
      'attribute_not_exists(job_id) OR (#state <> :succeeded AND NOT (#state = :running AND lease_expires > :nowMs))',
    ExpressionAttributeNames: { '#state': 'state', '#error': 'error', '#event': 'event' },
    ExpressionAttributeValues: toAttributes({
      ':event': JSON.stringify(event),
      ':module': moduleKeyOf(event.code, event.module),
      ':fingerprint': fingerprint,
      ':pending': 'pending',
      ':succeeded': 'succeeded',
      ':running': 'running',
      ':nowMs': store.now().getTime(),
      ':zero': 0,
      ':now': store.now().toISOString(),
      ':expires': expiresAt(store),
    }),
  });
  return update.written;
}
