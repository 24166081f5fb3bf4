/**
 * The service's error vocabulary (docs/api.md, "Error codes"): every failure the functions answer
 * is one of these codes, and `http-response.ts` is the only place that turns them into HTTP
 * answers (an unexpected one becomes its generic INTERNAL_ERROR there). API Gateway's own answers
 * (throttling, unknown routes, its timeout) carry the codes serverless.yml's gateway responses give.
 */

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
  PACKAGE_DOWNLOAD_FAILED: 502,
  STORAGE_UNAVAILABLE: 503,
  PACKAGE_DOWNLOAD_TIMEOUT: 504,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export type FieldsDetail = Record<string, string[]>;

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_STATUS, value);
}

/** Base of every error the service answers with. `detail` is for the client, `cause` for the log. */
export class ServiceError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly detail: string;
  readonly fieldsDetail: FieldsDetail | undefined;

  constructor(code: ErrorCode, detail: string, options: { cause?: unknown; fieldsDetail?: FieldsDetail } = {}) {
    super(detail, { cause: options.cause });
    this.name = 'ServiceError';
    this.code = code;
    this.status = ERROR_STATUS[code];
    this.detail = detail;
    this.fieldsDetail = options.fieldsDetail;
  }
}

export class ValidationError extends ServiceError {
  /** Problems with the body as a whole go under `non_field_errors`, as Django REST framework puts them. */
  constructor(detail: string, fieldsDetail: FieldsDetail = { non_field_errors: [detail] }, cause?: unknown) {
    super('VALIDATION_ERROR', detail, { fieldsDetail, cause });
    this.name = 'ValidationError';
  }
}

export class UrlNotAllowedError extends ServiceError {
  constructor(detail: string) {
    super('URL_NOT_ALLOWED', detail);
    this.name = 'UrlNotAllowedError';
  }
}

/** Why a token was refused, for the authorizer's metrics (never shown to clients beyond the detail). */
export type RefusalReason = 'missing' | 'malformed' | 'unknown' | 'expired' | 'revoked' | 'refused';

export class UnauthenticatedError extends ServiceError {
  readonly reason: RefusalReason;

  constructor(detail: string, reason: RefusalReason = 'refused') {
    super('UNAUTHENTICATED', detail);
    this.name = 'UnauthenticatedError';
    this.reason = reason;
  }
}

export class PermissionDeniedError extends ServiceError {
  constructor(detail: string) {
    super('PERMISSION_DENIED', detail);
    this.name = 'PermissionDeniedError';
  }
}

export class PackageNotFoundError extends ServiceError {
  constructor(version: string) {
    super('PACKAGE_NOT_FOUND', `Version "${version}" does not exist for this module.`);
    this.name = 'PackageNotFoundError';
  }
}

export class JobNotFoundError extends ServiceError {
  constructor(jobId: string) {
    super('JOB_NOT_FOUND', `No job "${jobId}" exists for this module (jobs are kept for a limited time).`);
    this.name = 'JobNotFoundError';
  }
}

export class MethodNotAllowedError extends ServiceError {
  /** The methods the route serves, for the answer's Allow header. */
  readonly allowed: readonly string[];

  constructor(method: string, allowed: readonly string[]) {
    super('METHOD_NOT_ALLOWED', `${method} is not served on this path; use ${allowed.join(' or ')}.`);
    this.name = 'MethodNotAllowedError';
    this.allowed = allowed;
  }
}

export class PackageAlreadyExistsError extends ServiceError {
  constructor(version: string) {
    super(
      'PACKAGE_ALREADY_EXISTS',
      `Version "${version}" already exists for this module; send allow_overwrite=true to replace it.`,
    );
    this.name = 'PackageAlreadyExistsError';
  }
}

export class PayloadTooLargeError extends ServiceError {
  constructor(limitBytes: number) {
    super('PAYLOAD_TOO_LARGE', `The request body exceeds its limit of ${limitBytes} bytes.`);
    this.name = 'PayloadTooLargeError';
  }
}

export class UnsupportedMediaTypeError extends ServiceError {
  constructor(contentType: string | undefined) {
    super(
      'UNSUPPORTED_MEDIA_TYPE',
      `Content-Type ${contentType ? `"${contentType}"` : '(missing)'} is not supported; send multipart/form-data, ` +
        'application/x-www-form-urlencoded or application/json.',
    );
    this.name = 'UnsupportedMediaTypeError';
  }
}

export class InvalidPackageFormatError extends ServiceError {
  constructor(detail: string) {
    super('INVALID_PACKAGE_FORMAT', detail);
    this.name = 'InvalidPackageFormatError';
  }
}

export class PackageTooLargeError extends ServiceError {
  constructor(limitBytes: number) {
    super('PACKAGE_TOO_LARGE', `The package exceeds the size limit of ${limitBytes} bytes.`);
    this.name = 'PackageTooLargeError';
  }
}

export class ChecksumMismatchError extends ServiceError {
  constructor(expected: string, actual: string) {
    super('CHECKSUM_MISMATCH', `The package's SHA-256 is ${actual}, not the expected ${expected}; nothing was stored.`);
    this.name = 'ChecksumMismatchError';
  }
}

export class PackageDownloadFailedError extends ServiceError {
  /** Worth another try later: the remote answered 5xx or 429, or the connection broke. */
  readonly transient: boolean;

  constructor(detail: string, cause?: unknown, transient = false) {
    super('PACKAGE_DOWNLOAD_FAILED', detail, { cause });
    this.name = 'PackageDownloadFailedError';
    this.transient = transient;
  }
}

export class PackageDownloadTimeoutError extends ServiceError {
  constructor(detail: string) {
    super('PACKAGE_DOWNLOAD_TIMEOUT', detail);
    this.name = 'PackageDownloadTimeoutError';
  }
}

export class StorageUnavailableError extends ServiceError {
  constructor(what: 'S3' | 'DynamoDB' | 'SQS' | 'the package worker', cause: unknown) {
    super('STORAGE_UNAVAILABLE', `The package storage (${what}) is unavailable; the request is safe to retry.`, {
      cause,
    });
    this.name = 'StorageUnavailableError';
  }
}

/**
 * Whether a failure may go away by itself, so that an asynchronous event is worth retrying:
 * our storage failing, a timeout, a broken connection or a remote 5xx. Validation, conflicts,
 * bad archives and a remote 4xx will fail the same way every time.
 */
export function isTransient(error: ServiceError): boolean {
  if (error.code === 'STORAGE_UNAVAILABLE' || error.code === 'PACKAGE_DOWNLOAD_TIMEOUT') return true;
  return error instanceof PackageDownloadFailedError && error.transient;
}

/**
 * How loudly to log a failure: our own storage failing is an error; a remote server failing
 * is a warning (nothing for us to fix); a client mistake is information.
 */
export function severityOf(error: ServiceError): 'info' | 'warn' | 'error' {
  if (error.code === 'STORAGE_UNAVAILABLE') return 'error';
  return error.status >= 500 ? 'warn' : 'info';
}

/** Rebuilds a ServiceError from its wire form (the worker's result, read by `link`). */
export function serviceErrorFromWire(code: ErrorCode, detail: string, fieldsDetail?: FieldsDetail): ServiceError {
  return new ServiceError(code, detail, { fieldsDetail });
}
