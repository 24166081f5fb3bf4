/**
 * The `link` function's job (docs/design.md#the-flow): authenticate, parse, validate, answer 409 at once when
 * the version is given, exists and may not be overwritten, record the job, then hand it to the worker as
 * an asynchronous event — and wait for the job record to show its end, up to a budget, or not at
 * all with `Prefer: respond-async`.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import { setTimeout as sleep } from 'node:timers/promises';
import { assertMethod, type ApiRequest } from '../http/api-event';
import { assertAllowedOn, identifyCaller } from '../auth/auth';
import type { Config } from '../core/config';
import { ERROR_STATUS, PackageAlreadyExistsError, PayloadTooLargeError, ValidationError } from '../core/errors';
import { toFetchEvent, type JobView } from '../jobs/fetch-contract';
import { deliverJob } from '../jobs/fetch-invoker';
import { parseForm } from '../http/form-parser';
import { jobIdForInvocation, jobIdForKey, parseIdempotencyKey, requestFingerprint } from '../jobs/job-ids';
import { createJob, discardJob } from '../jobs/job-lease';
import { getJob, type Job, type JobStore } from '../jobs/job-records';
import { jobView } from '../jobs/job-view';
import { validateLinkRequest } from '../http/link-request';
import type { PackageFields, PackageRequest } from '../core/package-request';
import type { Logger } from '../core/logger';
import { redactUrl } from '../core/logger';
import { getVersion } from '../storage/version-records';

export interface LinkDeps {
  dynamodb: DynamoDBClient;
  lambda: LambdaClient;
  config: Config;
  log: Logger;
  now: () => Date;
  /** Milliseconds the invocation has left; the worker call must end before it does. */
  remainingTimeMs: () => number;
}

export interface LinkOutcome {
  view: JobView;
  /** Where the job can be followed (the Location of a 202): absolute when the request named its host. */
  jobUrl: string;
  /** How long the request waited for its job (synchronous requests only). */
  waitedMs?: number;
}

// Time kept back to shape and send the answer once the wait for the job gives up.
const ANSWER_MARGIN_MS = 1_000;
// The job record is read again after 100 ms, then less and less often, at least every second.
const FIRST_POLL_MS = 100;
const MAX_POLL_MS = 1_000;

export async function linkUpload(request: ApiRequest, deps: LinkDeps): Promise<LinkOutcome> {
  const { config } = deps;
  assertMethod(request, ['POST']);
  const caller = await identifyCaller(request, deps);
  assertAllowedOn(caller, request.pathParameters.code ?? '');
  if (request.body.length > config.maxRequestBodyBytes) throw new PayloadTooLargeError(config.maxRequestBodyBytes);

  const fields = await parseForm(request.headers['content-type'], request.body);
  const link = validateLinkRequest(request.pathParameters, fields);
  const log = deps.log.child({ principal: caller.principal, token_id: caller.tokenId, code: link.code, module: link.module, version: link.version });
  log.info('link upload requested', { package_url: redactUrl(link.packageUrl), allow_overwrite: link.allowOverwrite });

  const jobs: JobStore = { dynamodb: deps.dynamodb, table: config.jobsTable, ttlSeconds: config.jobTtlSeconds, now: deps.now };
  const key = parseIdempotencyKey(request.headers['idempotency-key'], 'Idempotency-Key');
  const jobId = key ? jobIdForKey(caller.principal, key) : jobIdForInvocation(request.invocationId);
  const fingerprint = requestFingerprint(link);
  const jobUrl = request.origin + jobPathFor(request, link, jobId);

  // A request repeated under the same Idempotency-Key gets the first one's job, even after it
  // succeeded — unless that one failed in a way the contract calls safe to retry (a 5xx): then it
  // runs again; or it never started: then its event is delivered again.
  let earlier = key ? await getJob(jobs, jobId) : undefined;
  if (earlier && failedTransiently(earlier)) {
    // Only the same request runs again; another one under the key is refused (below otherwise).
    replay(earlier, fingerprint);
    await discardJob(jobs, jobId);
    earlier = undefined;
  }

  // Without a version the package names it, so this check waits for the worker's conditional write.
  if (!earlier && link.version && !link.allowOverwrite && (await getVersion(deps.dynamodb, config.versionsTable, { ...link, version: link.version }))) {
    throw new PackageAlreadyExistsError(link.version);
  }

  const mode = prefersAsync(request) ? 'async' : 'sync';
  const fresh = toFetchEvent({ ...link, jobId, operator: caller.principal, mode } satisfies PackageRequest);
  const job = earlier ? { created: false as const, job: earlier } : await createJob(jobs, jobId, fresh, fingerprint);
  if (!job.created) {
    const view = replay(job.job, fingerprint);
    // Ours with its answer lost, a twin under the same key, or one whose link died before it
    // handed the event on: delivering again is harmless, the worker runs a job once.
    if (!neverStarted(job.job)) return { view, jobUrl };
    log.info('delivering a job that never started again', { job_id: jobId });
  }
  const event = job.created ? fresh : job.job.event;

  try {
    await deliverJob(deps.lambda, config.fetchFunctionName, event);
  } catch (error) {
    // The worker never got the job: forget it, so a retry under the same key is not a stuck replay.
    await discardJob(jobs, jobId).catch((discardError: unknown) =>
      log.error('could not forget a job that never reached the worker; its Idempotency-Key replays it as pending', { job_id: jobId, error: discardError }),
    );
    throw error;
  }
  if (mode === 'async') return { view: jobView(job.job), jobUrl };
  const budget = Math.min(config.syncBudgetMs, deps.remainingTimeMs() - ANSWER_MARGIN_MS);
  const waitStarted = performance.now();
  const view = await awaitJob(jobs, jobId, budget);
  const waitedMs = Math.round(performance.now() - waitStarted);
  log.info('link upload answered', { job_id: jobId, mode, state: view.state, waited_ms: waitedMs });
  return { view, jobUrl, waitedMs };
}

/** The job as soon as it has ended, or as it stands when the budget runs out. */
async function awaitJob(jobs: JobStore, jobId: string, budgetMs: number): Promise<JobView> {
  // A duration: the monotonic clock, not wall time.
  const deadline = performance.now() + budgetMs;
  let pause = FIRST_POLL_MS;
  for (;;) {
    const job = await getJob(jobs, jobId);
    if (job && (job.state === 'succeeded' || job.state === 'failed')) return jobView(job);
    const left = deadline - performance.now();
    if (left <= 0 || !job) return job ? jobView(job) : { job_id: jobId, state: 'pending' };
    await sleep(Math.min(pause, left));
    pause = Math.min(pause * 2, MAX_POLL_MS);
  }
}

/** Failed with a 5xx, which the contract calls safe to retry (storage, the remote, a timeout). */
function failedTransiently(job: Job): boolean {
  return job.state === 'failed' && job.error !== undefined && ERROR_STATUS[job.error.code] >= 500;
}

/** Pending and never taken by a worker: its event may never have reached one. */
function neverStarted(job: Job): boolean {
  return job.state === 'pending' && job.attempts === 0;
}

function replay(job: Job, fingerprint: string): JobView {
  if (job.fingerprint && job.fingerprint !== fingerprint) {
    throw new ValidationError('This Idempotency-Key was already used for a different request.', { fieldsDetail: {
      'Idempotency-Key': ['Already used for a different request; use a new key.'],
    } });
  }
  return jobView(job);
}

function prefersAsync(request: ApiRequest): boolean {
  return (request.headers.prefer ?? '')
    .split(',')
    .some((preference) => preference.trim().toLowerCase() === 'respond-async');
}

function jobPathFor(request: ApiRequest, link: PackageFields, jobId: string): string {
  const base = /\/link\/?$/.test(request.path)
    ? request.path.replace(/\/link\/?$/, '/link')
    : `/bkapps/applications/${link.code}/modules/${link.module}/source_package/link`;
  return `${base}/jobs/${jobId}/`;
}
