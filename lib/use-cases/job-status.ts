/**
 * The job resource (authorized like the link route): one job for its owner — it must belong to
 * the application and module in the path, so a job id from elsewhere reveals nothing — and a
 * module's jobs, newest first, of one state if asked, or the job of the caller's
 * Idempotency-Key.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { assertMethod, type ApiRequest } from '../http/api-event';
import { assertAllowedOn, identifyCaller, type Caller } from '../auth/auth';
import { signingKeyOf, type Config } from '../core/config';
import { JobNotFoundError, ValidationError } from '../core/errors';
import { JOB_STATES, type JobState, type JobView } from '../jobs/fetch-contract';
import { jobIdForKey, parseIdempotencyKey } from '../jobs/job-ids';
import { countJobs, listJobs } from '../jobs/job-listing';
import { getJob, type Job, type JobStore } from '../jobs/job-records';
import { jobView } from '../jobs/job-view';
import { validatePackagePath, type ModulePath } from '../http/link-request';
import { decodeJobCursor, encodeJobCursor } from './list-cursor';

export interface JobStatusDeps {
  config: Config;
  dynamodb: DynamoDBClient;
  now: () => Date;
}

export interface JobList {
  /** How many jobs match in all pages (the state filter applied), as of the first page; null past the counting budget. */
  count: number | null;
  results: JobView[];
  /** Opaque; pass as `cursor` for the next page. Null on the last page. */
  next: string | null;
}

const DEFAULT_LIMIT = 20;
const MAX_LIMIT = 100;
const JOB_ID = /^[A-Za-z0-9_-]{1,128}$/;

function storeOf(deps: JobStatusDeps): JobStore {
  return { dynamodb: deps.dynamodb, table: deps.config.jobsTable, ttlSeconds: deps.config.jobTtlSeconds, now: deps.now };
}

async function authorize(request: ApiRequest, deps: JobStatusDeps): Promise<{ caller: Caller; module: ModulePath }> {
  assertMethod(request, ['GET']);
  const caller = await identifyCaller(request, deps);
  assertAllowedOn(caller, request.pathParameters.code ?? '');
  return { caller, module: validatePackagePath(request.pathParameters, false) };
}

function belongsTo(job: Job | undefined, module: ModulePath): job is Job {
  return job !== undefined && job.event.code === module.code && job.event.module === module.module;
}

export async function jobStatus(request: ApiRequest, deps: JobStatusDeps): Promise<JobView> {
  const { module } = await authorize(request, deps);
  const jobId = request.pathParameters.job_id ?? '';
  if (!JOB_ID.test(jobId)) throw new JobNotFoundError(jobId.slice(0, 128));
  const job = await getJob(storeOf(deps), jobId);
  if (!belongsTo(job, module)) throw new JobNotFoundError(jobId);
  return jobView(job);
}

function parseLimit(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_LIMIT;
  const value = /^\d{1,3}$/.test(raw.trim()) ? Number(raw.trim()) : Number.NaN;
  if (!(value >= 1 && value <= MAX_LIMIT)) throw new ValidationError('Invalid request: limit.', { fieldsDetail: { limit: [`Must be a whole number from 1 to ${MAX_LIMIT}.`] } });
  return value;
}

function parseState(raw: string | undefined): JobState | undefined {
  if (raw === undefined) return undefined;
  if (!(JOB_STATES as readonly string[]).includes(raw)) {
    throw new ValidationError('Invalid request: state.', { fieldsDetail: { state: [`Must be one of ${JOB_STATES.join(', ')}.`] } });
  }
  return raw as JobState;
}

export async function listModuleJobs(request: ApiRequest, deps: JobStatusDeps): Promise<JobList> {
  const { caller, module } = await authorize(request, deps);
  const key = parseIdempotencyKey(request.query.idempotency_key, 'idempotency_key');
  if (key !== undefined) {
    // The key names at most one job: the caller's own.
    const job = await getJob(storeOf(deps), jobIdForKey(caller.principal, key));
    const results = belongsTo(job, module) ? [jobView(job)] : [];
    return { count: results.length, results, next: null };
  }
  const limit = parseLimit(request.query.limit);
  const state = parseState(request.query.state);
  const signingKey = signingKeyOf(deps.config);
  // An empty cursor is the first page, as Django REST framework reads it.
  const cursor = request.query.cursor ? decodeJobCursor(request.query.cursor, signingKey, module, state ?? '') : undefined;
  const store = storeOf(deps);
  const page = await listJobs(store, module, { limit, ...(state ? { state } : {}), ...(cursor ? { after: cursor.position } : {}) });
  // Counted on the first page only, and only when it is not the whole listing; the cursor carries
  // the total through the later pages.
  const count = cursor ? cursor.count : page.next ? await countJobs(store, module, state) : page.jobs.length;
  // A filter can leave a page short while the index goes on; with nothing to find, say so.
  const next = page.next && count !== 0 ? encodeJobCursor(module, state ?? '', { position: page.next, count }, signingKey) : null;
  return { count, results: page.jobs.map(jobView), next };
}
