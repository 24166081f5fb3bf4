/**
 * The service's error vocabulary (docs/api.md#error-codes): every failure the functions answer
 * is one of these codes, and `http-response.ts` is the only place that turns them into HTTP
 * answers (an unexpected one becomes its generic INTERNAL_ERROR there). API Gateway's own answers
 * (throttling, unknown routes, its timeout) carry the codes serverless.yml's gateway responses give.
 *
 * One tree: `AppError` is the base of every error `lib/` throws on purpose. Below it,
 * `ServiceError` is what a client is answered with (a code, a status, a detail); the others steer
 * the worker's flow (a run that lost its job, a job handed back to Lambda's retries) and never
 * reach a client as such. Every error is built with named options, never positional flags.
 */
import { sizeText } from './byte-sizes';

/** Base of every error `lib/` throws on purpose: each sets its `name` and keeps its `cause`. */
export class AppError extends Error {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
  }
}

export const ERROR_STATUS = {
  VALIDATION_ERROR: 400,
  URL_NOT_ALLOWED: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  PACKAGE_NOT_FOUND: 404,
  JOB_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  PACKAGE_ALREADY_EXISTS: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  INVALID_PACKAGE_FORMAT: 422,
  PACKAGE_TOO_LARGE: 422,
  CHECKSUM_MISMATCH: 422,
  PACKAGE_URL_UNAVAILABLE: 422,
  PACKAGE_DOWNLOAD_FAILED: 502,
  STORAGE_UNAVAILABLE: 503,
  WORKER_FAILED: 503,
  PACKAGE_DOWNLOAD_TIMEOUT: 504,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export type FieldsDetail = Record<string, string[]>;

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_STATUS, value);
}

/** Base of every error the service answers with. `detail` is for the client, `cause` for the log. */
export class ServiceError extends AppError {
  readonly code: ErrorCode;
  readonly status: number;
  readonly detail: string;
  readonly fieldsDetail: FieldsDetail | undefined;
  /** Seconds the remote asked to be left alone (its Retry-After), passed on to the client. */
  readonly retryAfterSeconds: number | undefined;

  constructor(code: ErrorCode, detail: string, options: { cause?: unknown; fieldsDetail?: FieldsDetail; retryAfterSeconds?: number } = {}) {
    super(detail, { cause: options.cause });
    this.code = code;
    this.status = ERROR_STATUS[code];
    this.detail = detail;
    this.fieldsDetail = options.fieldsDetail;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

export class ValidationError extends ServiceError {
  /** Problems with the body as a whole go under `non_field_errors`, as Django REST framework puts them. */
  constructor(detail: string, options: { fieldsDetail?: FieldsDetail; cause?: unknown } = {}) {
    super('VALIDATION_ERROR', detail, { fieldsDetail: options.fieldsDetail ?? { non_field_errors: [detail] }, cause: options.cause });
  }
}

export class UrlNotAllowedError extends ServiceError {
  constructor(detail: string) {
    super('URL_NOT_ALLOWED', detail);
  }
}

/** Why a token was refused, for the authorizer's metrics (never shown to clients beyond the detail). */
export type RefusalReason = 'missing' | 'malformed' | 'unknown' | 'expired' | 'revoked' | 'refused';

export class UnauthenticatedError extends ServiceError {
  readonly reason: RefusalReason;

  constructor(detail: string, options: { reason?: RefusalReason } = {}) {
    super('UNAUTHENTICATED', detail);
    this.reason = options.reason ?? 'refused';
  }
}

export class PermissionDeniedError extends ServiceError {
  constructor(detail: string) {
    super('PERMISSION_DENIED', detail);
  }
}

export class PackageNotFoundError extends ServiceError {
  constructor(version: string) {
    super('PACKAGE_NOT_FOUND', `Version "${version}" does not exist for this module.`);
  }
}

export class JobNotFoundError extends ServiceError {
  constructor(jobId: string) {
    super('JOB_NOT_FOUND', `No job "${jobId}" exists for this module (jobs are kept for a limited time).`);
  }
}

export class MethodNotAllowedError extends ServiceError {
  /** The methods the route serves, for the answer's Allow header. */
  readonly allowed: readonly string[];

  constructor(method: string, allowed: readonly string[]) {
    super('METHOD_NOT_ALLOWED', `${method} is not served on this path; use ${allowed.join(' or ')}.`);
    this.allowed = allowed;
  }
}

export class PackageAlreadyExistsError extends ServiceError {
  constructor(version: string) {
    super(
      'PACKAGE_ALREADY_EXISTS',
      `Version "${version}" already exists for this module; send allow_overwrite=true to replace it.`,
    );
  }
}

export class PayloadTooLargeError extends ServiceError {
  constructor(limitBytes: number) {
    super('PAYLOAD_TOO_LARGE', `The request body exceeds its limit of ${sizeText(limitBytes)}.`);
  }
}

export class UnsupportedMediaTypeError extends ServiceError {
  constructor(contentType: string | undefined) {
    super(
      'UNSUPPORTED_MEDIA_TYPE',
      `Content-Type ${contentType ? `"${contentType}"` : '(missing)'} is not supported; send multipart/form-data, ` +
        'application/x-www-form-urlencoded or application/json.',
    );
  }
}

export class InvalidPackageFormatError extends ServiceError {
  constructor(detail: string) {
    super('INVALID_PACKAGE_FORMAT', detail);
  }
}

export class PackageTooLargeError extends ServiceError {
  constructor(limitBytes: number) {
    super('PACKAGE_TOO_LARGE', `The package exceeds the size limit of ${sizeText(limitBytes)}.`);
  }
}

export class ChecksumMismatchError extends ServiceError {
  constructor(expected: string, actual: string) {
    super('CHECKSUM_MISMATCH', `The package's SHA-256 is ${actual}, not the expected ${expected}; nothing was stored.`);
  }
}

export class PackageDownloadFailedError extends ServiceError {
  /** Worth another try later: the remote answered 5xx, 408 or 429, or the connection broke. */
  readonly transient: boolean;

  constructor(detail: string, options: { cause?: unknown; transient?: boolean; retryAfterSeconds?: number } = {}) {
    super('PACKAGE_DOWNLOAD_FAILED', detail, { cause: options.cause, retryAfterSeconds: options.retryAfterSeconds });
    this.transient = options.transient ?? false;
  }
}

/**
 * The remote said, in a way that will not change by itself, that the URL cannot give a package:
 * a 4xx another try will not change (404, 403, 410, 401, …), a redirect that cannot be followed,
 * a host that does not exist. A 422, so that a client that retries every 5xx does not retry a
 * URL that cannot work (docs/api.md#what-to-retry).
 */
export class PackageUrlUnavailableError extends ServiceError {
  constructor(what: string, options: { cause?: unknown } = {}) {
    super('PACKAGE_URL_UNAVAILABLE', `${what}; it will answer the same until the URL or what it serves changes.`, options);
  }
}

export class PackageDownloadTimeoutError extends ServiceError {
  constructor(detail: string) {
    super('PACKAGE_DOWNLOAD_TIMEOUT', detail);
  }
}

export class StorageUnavailableError extends ServiceError {
  constructor(what: 'S3' | 'DynamoDB' | 'SQS', cause: unknown) {
    super('STORAGE_UNAVAILABLE', `The package storage (${what}) is unavailable; the request is safe to retry.`, {
      cause,
    });
  }
}

/**
 * The package worker could not be started, or stopped before it finished: killed, past its
 * timeout or out of memory on every attempt, or its event expired before a run began. Our failure,
 * not the storage's; safe to retry.
 */
export class WorkerFailedError extends ServiceError {
  constructor(detail: string, options: { cause?: unknown } = {}) {
    super('WORKER_FAILED', detail, options);
  }
}

/**
 * A DynamoDB item lacks an attribute its table's mapping needs, or holds one of another type:
 * refused loudly (an INTERNAL_ERROR to a client) rather than read as a plausible default.
 */
export class MalformedItemError extends AppError {
  constructor(
    readonly table: string,
    detail: string,
  ) {
    super(`Malformed ${table} item: ${detail}`);
  }
}

/** A run of the worker lost its job (its lease), or could not confirm it: it stops without writing. */
export class TransferAbortedError extends AppError {
  constructor() {
    super('The transfer was aborted.');
  }
}

/** A transient failure of an asynchronous job, thrown so that Lambda delivers the event again. */
export class RetryableJobError extends AppError {
  // Named here as well as by the class: Lambda reports it by name to the on-failure destination.
  override readonly name = 'RetryableJobError';

  constructor(
    readonly jobId: string,
    readonly failure: ServiceError,
  ) {
    super(`Job ${jobId} failed transiently (${failure.code}); leaving it to Lambda's retries.`, { cause: failure });
  }
}

/**
 * An asynchronous delivery found its job held by another invocation that keeps renewing its
 * lease. Thrown, not answered: Lambda delivers again later (by then the job has finished or its
 * holder has stopped), and after the last retry the event reaches the on-failure destination.
 */
export class JobBusyError extends AppError {
  // Named here as well as by the class: the on-failure destination tells a live holder by this name.
  override readonly name = 'JobBusyError';

  constructor(readonly jobId: string) {
    super(`Job ${jobId} is running in another invocation; leaving this delivery to Lambda's retries.`);
  }
}

/**
 * Whether a failure may go away by itself, so that an asynchronous event is worth retrying:
 * our storage failing, a timeout, a broken connection or a remote 5xx, 408 or 429. Validation,
 * conflicts, bad archives and a remote's other 4xx will fail the same way every time.
 */
export function isTransient(error: ServiceError): boolean {
  if (error.code === 'STORAGE_UNAVAILABLE' || error.code === 'WORKER_FAILED' || error.code === 'PACKAGE_DOWNLOAD_TIMEOUT') return true;
  return error instanceof PackageDownloadFailedError && error.transient;
}

/**
 * How loudly to log a failure: our own storage failing is an error; a remote server failing
 * is a warning (nothing for us to fix); a client mistake is information.
 */
export function severityOf(error: ServiceError): 'info' | 'warn' | 'error' {
  if (error.code === 'STORAGE_UNAVAILABLE' || error.code === 'WORKER_FAILED') return 'error';
  return error.status >= 500 ? 'warn' : 'info';
}

/** Rebuilds a ServiceError from its wire form (the worker's result, read by `link`). */
export function serviceErrorFromWire(code: ErrorCode, detail: string, fieldsDetail?: FieldsDetail, retryAfterSeconds?: number): ServiceError {
  return new ServiceError(code, detail, { fieldsDetail, retryAfterSeconds });
}
