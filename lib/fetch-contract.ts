/**
 * What `link` sends the `fetch` worker and what the worker answers: plain JSON, so a console
 * test invocation can send the same event and read the same result.
 */
import { isErrorCode, ServiceError, ValidationError, type ErrorCode, type FieldsDetail } from './errors';
import { validateLinkRequest } from './link-request';
import type { PackageResponse } from './package-record';
import type { RegisterRequest } from './register-package';

export interface FetchEvent {
  request_id: string;
  code: string;
  module: string;
  package_url: string;
  version: string;
  allow_overwrite: boolean;
  sha256?: string;
  /** The principal that asked, kept on the record for audit. */
  operator?: string;
}

export type FetchResult =
  | { ok: true; package: PackageResponse }
  | { ok: false; error: { code: ErrorCode; detail: string; fields_detail?: FieldsDetail } };

export function toFetchEvent(request: RegisterRequest): FetchEvent {
  return {
    request_id: request.requestId,
    code: request.code,
    module: request.module,
    package_url: request.packageUrl,
    version: request.version,
    allow_overwrite: request.allowOverwrite,
    ...(request.sha256 ? { sha256: request.sha256 } : {}),
    operator: request.operator,
  };
}

/** Validates a worker event by the same rules as the HTTP request: the worker trusts no caller. */
export function parseFetchEvent(event: unknown, fallbackRequestId: string): RegisterRequest {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) {
    throw new ValidationError('The fetch event must be a JSON object.');
  }
  const fields = event as Record<string, unknown>;
  const text = (value: unknown): string =>
    typeof value === 'string' ? value : typeof value === 'boolean' || typeof value === 'number' ? String(value) : '';
  const requestId = text(fields.request_id).trim() || fallbackRequestId;
  const request = validateLinkRequest(
    { code: text(fields.code), module_name: text(fields.module) },
    {
      package_url: text(fields.package_url),
      version: text(fields.version),
      allow_overwrite: text(fields.allow_overwrite),
      sha256: text(fields.sha256),
    },
  );
  const operator = text(fields.operator).trim().slice(0, 256) || 'unknown';
  return { ...request, requestId, operator };
}

export function failureResult(error: ServiceError): FetchResult {
  return {
    ok: false,
    error: {
      code: error.code,
      detail: error.detail,
      ...(error.fieldsDetail ? { fields_detail: error.fieldsDetail } : {}),
    },
  };
}

/** Reads the worker's answer; anything that is not a well-formed result is the worker failing. */
export function parseFetchResult(payload: unknown): FetchResult | undefined {
  if (typeof payload !== 'object' || payload === null) return undefined;
  const result = payload as Record<string, unknown>;
  if (result.ok === true && typeof result.package === 'object' && result.package !== null) {
    return { ok: true, package: result.package as PackageResponse };
  }
  const error = result.error as Record<string, unknown> | undefined;
  if (result.ok === false && error && isErrorCode(error.code) && typeof error.detail === 'string') {
    return {
      ok: false,
      error: { code: error.code, detail: error.detail, ...(error.fields_detail ? { fields_detail: error.fields_detail as FieldsDetail } : {}) },
    };
  }
  return undefined;
}
