/**
 * Jobs: one record per link request (or per Idempotency-Key), so that a retried or duplicated
 * worker event finds the outcome already recorded, and two deliveries of one event never run
 * at once. A running job holds a lease that ends with its holder's invocation: a crashed run
 * leaves a lease that expires, and the next delivery takes the job over.
 *
 * State: pending → running → succeeded | failed; running → pending when a transient failure is
 * handed back to Lambda's retries. Records expire through DynamoDB TTL (`expires_at`).
 */
import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { isErrorCode, StorageUnavailableError, type ErrorCode, type FieldsDetail } from './errors';
import type { FetchEvent } from './fetch-contract';
import type { PackageResponse } from './package-record';

export type JobState = 'pending' | 'running' | 'succeeded' | 'failed';

export interface JobError {
  code: ErrorCode;
  detail: string;
  fields_detail?: FieldsDetail;
}

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
  created: string;
  updated: string;
}

type Item = Record<string, AttributeValue>;

export interface JobStore {
  dynamodb: DynamoDBClient;
  table: string;
  /** Seconds a job record is kept. */
  ttlSeconds: number;
  now: () => Date;
}

const NAMES = { '#state': 'state', '#event': 'event', '#result': 'result', '#error': 'error' };

function isConditionFailure(error: unknown): boolean {
  return error instanceof ConditionalCheckFailedException || (error as Error).name === 'ConditionalCheckFailedException';
}

function fromItem(item: Item): Job {
  const json = <T>(name: string): T | undefined => (item[name]?.S ? (JSON.parse(item[name].S) as T) : undefined);
  const error = json<JobError>('error');
  return {
    jobId: item.job_id?.S ?? '',
    state: (item.state?.S ?? 'pending') as JobState,
    event: json<FetchEvent>('event') ?? ({} as FetchEvent),
    fingerprint: item.fingerprint?.S ?? '',
    attempts: Number(item.attempts?.N ?? 0),
    leaseOwner: item.lease_owner?.S,
    leaseExpires: item.lease_expires?.N === undefined ? undefined : Number(item.lease_expires.N),
    result: json<PackageResponse>('result'),
    error: error && isErrorCode(error.code) ? error : undefined,
    created: item.created?.S ?? '',
    updated: item.updated?.S ?? '',
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
    state: { S: 'pending' },
    event: { S: JSON.stringify(event) },
    fingerprint: { S: fingerprint },
    attempts: { N: '0' },
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
 * Takes the job for `owner` until `leaseMs` from now: when it is new (a console invocation
 * creates it here), pending, or running under an expired lease. Otherwise answers the job as it
 * stands — finished (the caller returns its outcome) or running elsewhere.
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
          'fingerprint = if_not_exists(fingerprint, :none), created = if_not_exists(created, :now), expires_at = :expires',
        ConditionExpression:
          'attribute_not_exists(job_id) OR #state = :pending OR (#state = :running AND lease_expires < :nowMs)',
        ExpressionAttributeNames: { '#state': NAMES['#state'], '#event': NAMES['#event'] },
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

/** Records the outcome, if `owner` still holds the job (a run that lost its lease stays quiet). */
export async function finishJob(
  store: JobStore,
  jobId: string,
  owner: string,
  outcome: { result: PackageResponse } | { error: JobError },
): Promise<void> {
  const succeeded = 'result' in outcome;
  try {
    await store.dynamodb.send(
      new UpdateItemCommand({
        TableName: store.table,
        Key: { job_id: { S: jobId } },
        UpdateExpression: `SET #state = :state, ${succeeded ? '#result' : '#error'} = :outcome, updated = :now REMOVE lease_owner, lease_expires`,
        ConditionExpression: 'lease_owner = :owner',
        ExpressionAttributeNames: { '#state': NAMES['#state'], ...(succeeded ? { '#result': 'result' } : { '#error': 'error' }) },
        ExpressionAttributeValues: {
          ':state': { S: succeeded ? 'succeeded' : 'failed' },
          ':outcome': { S: JSON.stringify(succeeded ? outcome.result : outcome.error) },
          ':now': { S: store.now().toISOString() },
          ':owner': { S: owner },
        },
      }),
    );
  } catch (error) {
    if (!isConditionFailure(error)) throw new StorageUnavailableError('DynamoDB', error);
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
 * Opens a job that did not succeed for another round of deliveries (an operator re-submitting
 * what reached the on-failure queue); false when the job has succeeded meanwhile.
 */
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

export async function reopenJob(store: JobStore, jobId: string): Promise<boolean> {
  try {
    await store.dynamodb.send(
      new UpdateItemCommand({
        TableName: store.table,
        Key: { job_id: { S: jobId } },
        UpdateExpression: 'SET #state = :pending, attempts = :zero, updated = :now, expires_at = :expires REMOVE lease_owner, lease_expires, #error',
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
