/**
 * The one place that shapes HTTP answers. Client errors carry their code and detail; anything
 * unexpected becomes a generic 500 whose cause goes only to the log.
 */
import { MethodNotAllowedError, serviceErrorFromWire, ServiceError, severityOf, type ErrorCode, type FieldsDetail } from '../core/errors';
import type { Logger } from '../core/logger';

export interface HttpResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' };

export function jsonResponse(statusCode: number, body: unknown): HttpResponse {
  return { statusCode, headers: { ...JSON_HEADERS }, body: JSON.stringify(body) };
}

/** A success with nothing to say (a delete): no body, so no content type. */
export function noContentResponse(): HttpResponse {
  return { statusCode: 204, headers: { 'cache-control': 'no-store' }, body: '' };
}

/** Seconds a client is asked to wait before it looks at a job again. */
export const JOB_RETRY_AFTER_SECONDS = 5;

/** What the edge needs of a job to answer for it (the job resource's view has these fields and more). */
export interface JobOutcome {
  job_id: string;
  state: string;
  package?: unknown;
  error?: { code: ErrorCode; detail: string; fields_detail?: FieldsDetail; retry_after?: number };
}

/**
 * A job as the link route answers it: 200 with the package, the job's error, or 202 Accepted
 * pointing at the job resource while it runs. Every one names the job in X-Job-Id.
 */
export function jobResponse(view: JobOutcome, jobUrl: string, log: Logger): HttpResponse {
  const named = (response: HttpResponse): HttpResponse => ({ ...response, headers: { ...response.headers, 'x-job-id': view.job_id } });
  if (view.state === 'succeeded' && view.package) return named(jsonResponse(200, view.package));
  if (view.state === 'failed' && view.error) {
    return named(errorResponse(serviceErrorFromWire(view.error.code, view.error.detail, view.error.fields_detail, view.error.retry_after), log));
  }
  const accepted = jsonResponse(202, { job_id: view.job_id, state: view.state, location: jobUrl });
  return named({ ...accepted, headers: { ...accepted.headers, location: jobUrl, 'retry-after': String(JOB_RETRY_AFTER_SECONDS) } });
}

export function errorResponse(error: unknown, log: Logger): HttpResponse {
  if (error instanceof ServiceError) {
    log[severityOf(error)]('request failed', { code: error.code, status: error.status, error });
    const body = {
      code: error.code,
      detail: error.detail,
      ...(error.fieldsDetail ? { fields_detail: error.fieldsDetail } : {}),
    };
    const allow: Record<string, string> = error instanceof MethodNotAllowedError ? { allow: error.allowed.join(', ') } : {};
    // The remote's own Retry-After, for a transient failure that came with one (docs/api.md#what-to-retry).
    const wait: Record<string, string> = error.retryAfterSeconds === undefined ? {} : { 'retry-after': String(error.retryAfterSeconds) };
    return { ...jsonResponse(error.status, body), headers: { ...JSON_HEADERS, 'bkapi-error-code': error.code, ...allow, ...wait } };
  }
  log.error('unexpected failure', { error });
  return {
    ...jsonResponse(500, { code: 'INTERNAL_ERROR', detail: 'An unexpected error occurred; it has been logged.' }),
    headers: { ...JSON_HEADERS, 'bkapi-error-code': 'INTERNAL_ERROR' },
  };
}
