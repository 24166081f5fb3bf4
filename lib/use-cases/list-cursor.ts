/**
 * The listings' opaque cursors: base64url of the index key where a page ended, as JSON, with the
 * module it belongs to, then `.` and an HMAC-SHA-256 of that text under CURSOR_SIGNING_KEY. A
 * cursor comes back from the client, so it is checked like any input: one we did not issue, or
 * issued for another module's listing, is a 400 and never reaches DynamoDB as a key. The fields
 * are still checked after the signature, so a leaked or rotated key cannot turn into a bad key.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { ValidationError } from '../core/errors';
import type { JobPosition } from '../jobs/job-store';
import { isValidVersion } from '../http/link-request';
import type { ListPosition, ModuleKey } from '../storage/version-records';

const MAX_CURSOR_LENGTH = 1024;
const CURSOR_SHAPE = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]{43})$/;
const ISO_INSTANT = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/;
const JOB_ID = /^[A-Za-z0-9_-]{1,128}$/;

function moduleKey(module: ModuleKey): string {
  return `${module.code}/${module.module}`;
}

function signatureOf(payload: string, key: string): Buffer {
  return createHmac('sha256', key).update(payload, 'utf8').digest();
}

function encode(fields: Record<string, string>, key: string): string {
  const payload = Buffer.from(JSON.stringify(fields), 'utf8').toString('base64url');
  return `${payload}.${signatureOf(payload, key).toString('base64url')}`;
}

/** The payload of a cursor this key signed; undefined for anything else. */
function verified(raw: string, key: string): string | undefined {
  const shape = raw.length <= MAX_CURSOR_LENGTH ? CURSOR_SHAPE.exec(raw) : null;
  if (!shape?.[1] || !shape[2]) return undefined;
  const given = Buffer.from(shape[2], 'base64url');
  const expected = signatureOf(shape[1], key);
  return given.length === expected.length && timingSafeEqual(given, expected) ? shape[1] : undefined;
}

function invalidCursor(): ValidationError {
  const detail = 'The cursor is not one this listing issued; start again without it.';
  return new ValidationError(detail, { cursor: [detail] });
}

/** The cursor's fields when it has exactly `names` (plus module_key, which must be `module`'s). */
function decode(raw: string, key: string, module: ModuleKey, names: string[]): Record<string, string> {
  const payload = verified(raw, key);
  if (payload === undefined) throw invalidCursor();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    throw invalidCursor();
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw invalidCursor();
  const fields = parsed as Record<string, unknown>;
  if (Object.keys(fields).sort().join() !== ['module_key', ...names].sort().join()) throw invalidCursor();
  if (fields.module_key !== moduleKey(module)) throw invalidCursor();
  const out: Record<string, string> = {};
  for (const name of names) {
    const value = fields[name];
    if (typeof value !== 'string') throw invalidCursor();
    out[name] = value;
  }
  return out;
}

function isInstant(value: string): boolean {
  return ISO_INSTANT.test(value) && !Number.isNaN(Date.parse(value));
}

export function encodeCursor(position: ListPosition, key: string): string {
  return encode({ module_key: moduleKey(position), version: position.version, updated: position.updated }, key);
}

/** The position a cursor names in `module`'s package listing; a ValidationError for anything else. */
export function decodeCursor(raw: string, key: string, module: ModuleKey): ListPosition {
  const { version = '', updated = '' } = decode(raw, key, module, ['version', 'updated']);
  if (!isValidVersion(version) || !isInstant(updated)) throw invalidCursor();
  return { code: module.code, module: module.module, version, updated };
}

export function encodeJobCursor(module: ModuleKey, position: JobPosition, key: string): string {
  return encode({ module_key: moduleKey(module), job_id: position.jobId, created: position.created }, key);
}

/** The position a cursor names in `module`'s job listing; a ValidationError for anything else. */
export function decodeJobCursor(raw: string, key: string, module: ModuleKey): JobPosition {
  const { job_id: jobId = '', created = '' } = decode(raw, key, module, ['job_id', 'created']);
  if (!JOB_ID.test(jobId) || !isInstant(created)) throw invalidCursor();
  return { jobId, created };
}
