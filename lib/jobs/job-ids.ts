/**
 * How jobs are named. Without an Idempotency-Key, the link invocation's id (unique even when a
 * console test event replays a fixed API Gateway request id); with one, a digest of the key and
 * the caller's principal, so one principal's key never names another's job and the key itself
 * is not stored.
 */
import { sha256Hex } from '../auth/access-token';
import { ValidationError } from '../core/errors';
import type { PackageFields } from '../core/package-request';

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

export function jobIdForKey(principal: string, key: string): string {
  return `idem-${sha256Hex(`${principal}\n${key}`).slice(0, 40)}`;
}

export function jobIdForInvocation(invocationId: string): string {
  return invocationId.replace(/[^A-Za-z0-9_-]/g, '_');
}

/** A key as given (header or query); undefined when absent, a ValidationError when empty or malformed. */
export function parseIdempotencyKey(raw: string | undefined, field: string): string | undefined {
  if (raw === undefined) return undefined;
  const key = raw.trim();
  if (!IDEMPOTENCY_KEY.test(key)) {
    throw new ValidationError(`Invalid ${field}.`, { fieldsDetail: { [field]: [key === '' ? 'Must not be empty: send 1–255 visible ASCII characters, or leave it out.' : 'Must be 1–255 visible ASCII characters.'] } });
  }
  return key;
}

/**
 * The request a job was made for, digested: an Idempotency-Key sent again with other fields is
 * refused (docs/api.md). Kept on the job record, and rebuilt from the event when redrive
 * re-creates an expired one.
 */
export function requestFingerprint(fields: PackageFields): string {
  return sha256Hex(JSON.stringify([fields.code, fields.module, fields.version, fields.packageUrl, fields.allowOverwrite, fields.sha256 ?? '']));
}
