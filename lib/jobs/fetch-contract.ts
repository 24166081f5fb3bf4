/**
 * What `link` sends the `fetch` worker and what the worker answers: plain JSON, so a console
 * test invocation can send the same event and read the same result. The event is the wire (and
 * stored) form of one `PackageRequest`: written by `toFetchEvent`, read back by `parseFetchEvent`
 * with the same field rules. The answer is the job's view — the same document the job resource serves.
 */
import { ServiceError, ValidationError, type ErrorCode, type FieldsDetail } from '../core/errors';
import { validatePackageFields, type InvocationMode, type PackageRequest } from '../core/package-request';
import type { PackageResponse } from '../storage/package-record';

export type JobState = 'pending' | 'running' | 'succeeded' | 'failed';

export const JOB_STATES: readonly JobState[] = ['pending', 'running', 'succeeded', 'failed'];

/** How a failed job ends: the error answer's code, detail and field problems, and the remote's Retry-After. */
export interface JobError {
  code: ErrorCode;
  detail: string;
  fields_detail?: FieldsDetail;
  /** Seconds the remote asked to be left alone, when a transient failure came with its Retry-After. */
  retry_after?: number;
}

export interface FetchEvent {
  /** The job this event belongs to; a console event may leave it to `request_id`. */
  job_id?: string;
  request_id: string;
  code: string;
  module: string;
  package_url: string;
  /** Absent: the worker takes the version from the package's app description. */
  version?: string;
  allow_overwrite: boolean;
  sha256?: string;
  /** The principal that asked, kept on the record for audit. */
  operator?: string;
  /** `async` when Lambda's retries stand behind the event: transient failures are thrown. */
  mode?: InvocationMode;
}

/** A job as its resource shows it; the worker answers the same document. */
export interface JobView {
  job_id: string;
  state: JobState;
  package?: PackageResponse;
  error?: JobError;
  /** The package URL without credentials or query. */
  package_url?: string;
  attempts?: number;
  bytes_received?: number;
  /** The Content-Length the remote declared, when it did. */
  bytes_expected?: number;
  /** Contract time format, UTC. */
  created?: string;
  updated?: string;
  started?: string;
  finished?: string;
}

export type FetchResult = JobView;

export function toFetchEvent(request: PackageRequest): FetchEvent {
  return {
    job_id: request.jobId,
    request_id: request.jobId,
    code: request.code,
    module: request.module,
    package_url: request.packageUrl,
    ...(request.version ? { version: request.version } : {}),
    allow_overwrite: request.allowOverwrite,
    ...(request.sha256 ? { sha256: request.sha256 } : {}),
    operator: request.operator,
    mode: request.mode,
  };
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : typeof value === 'boolean' || typeof value === 'number' ? String(value) : '';
}

/** Validates a worker event by the same rules as the HTTP request: the worker trusts no caller. */
export function parseFetchEvent(event: unknown, fallbackRequestId: string): PackageRequest {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) {
    throw new ValidationError('The fetch event must be a JSON object.');
  }
  const fields = event as Record<string, unknown>;
  const requestId = text(fields.request_id).trim() || fallbackRequestId;
  const jobId = text(fields.job_id).trim() || requestId;
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(jobId)) {
    throw new ValidationError('Invalid job id.', { fieldsDetail: { job_id: ['Must be 1–128 letters, digits, "_" or "-".'] } });
  }
  const request = validatePackageFields({
    code: text(fields.code),
    module_name: text(fields.module),
    package_url: text(fields.package_url),
    version: text(fields.version),
    allow_overwrite: text(fields.allow_overwrite),
    sha256: text(fields.sha256),
  });
  const operator = text(fields.operator).trim().slice(0, 256) || 'unknown';
  const mode: InvocationMode = fields.mode === 'async' ? 'async' : 'sync';
  return { ...request, jobId, operator, mode };
}

export function errorOf(error: ServiceError): JobError {
  return {
    code: error.code,
    detail: error.detail,
    ...(error.fieldsDetail ? { fields_detail: error.fieldsDetail } : {}),
    ...(error.retryAfterSeconds === undefined ? {} : { retry_after: error.retryAfterSeconds }),
  };
}
