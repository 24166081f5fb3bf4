/**
 * The listings' opaque cursors: base64url of a JSON object — which listing, its module (and the
 * job listing's state filter), the index key where the page ended, and the `count` the first page
 * found — then `.` and an HMAC-SHA-256 of that text under CURSOR_SIGNING_KEY. Carrying the count
 * lets a walk through every page count once, on its first page. A cursor comes back from the
 * client, so it is checked like any input: one we did not issue, or issued for another listing,
 * module or filter, is a 400 and never reaches DynamoDB as a key. The fields are still checked
 * after the signature, so a leaked or rotated key cannot turn into a bad key.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { ValidationError } from '../core/errors';
import type { JobPosition } from '../jobs/job-listing';
import { isValidVersion } from '../core/package-request';
import type { ListPosition, ModuleKey } from '../storage/version-records';

const MAX_CURSOR_LENGTH = 1024;
const CURSOR_SHAPE = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]{43})$/;
const ISO_INSTANT = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/;
const JOB_ID = /^[A-Za-z0-9_-]{1,128}$/;
// The count as carried: digits, or empty for null (past the counting budget).
const COUNT = /^(0|[1-9]\d{0,15})?$/;

type Listing = 'packages' | 'jobs';

/** Where the next page starts, and the total the listing's first page counted. */
export interface Continuation<Position> {
  position: Position;
  count: number | null;
}

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

/**
 * The payload of a cursor this key signed; undefined for anything else. The signature is compared
 * as text: its last base64url character has two unused bits, so decoding first would take four
 * spellings of one signature.
 */
function verified(raw: string, key: string): string | undefined {
  const shape = raw.length <= MAX_CURSOR_LENGTH ? CURSOR_SHAPE.exec(raw) : null;
  if (!shape?.[1] || !shape[2]) return undefined;
  const given = Buffer.from(shape[2], 'latin1');
  const expected = Buffer.from(signatureOf(shape[1], key).toString('base64url'), 'latin1');
  return given.length === expected.length && timingSafeEqual(given, expected) ? shape[1] : undefined;
}

function invalidCursor(): ValidationError {
  const detail = 'The cursor is not one this listing issued; start again without it.';
  return new ValidationError(detail, { fieldsDetail: { cursor: [detail] } });
}

/**
 * The cursor's fields when it has exactly `names` besides its listing, module key and count, and
 * those name `listing` and `module`.
 */
function decode(raw: string, key: string, listing: Listing, module: ModuleKey, names: string[]): Record<string, string> {
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
  if (Object.keys(fields).sort().join() !== ['listing', 'module_key', 'count', ...names].sort().join()) throw invalidCursor();
  if (fields.listing !== listing || fields.module_key !== moduleKey(module)) throw invalidCursor();
  names = [...names, 'count'];
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

function countText(count: number | null): string {
  return count === null ? '' : String(count);
}

function countOf(text: string): number | null {
  if (!COUNT.test(text)) throw invalidCursor();
  return text === '' ? null : Number(text);
}

export function encodeCursor(next: Continuation<ListPosition>, key: string): string {
  const { position, count } = next;
  return encode({ listing: 'packages', module_key: moduleKey(position), version: position.version, updated: position.updated, count: countText(count) }, key);
}

/** Where a cursor continues `module`'s package listing; a ValidationError for anything else. */
export function decodeCursor(raw: string, key: string, module: ModuleKey): Continuation<ListPosition> {
  const { version = '', updated = '', count = '' } = decode(raw, key, 'packages', module, ['version', 'updated']);
  if (!isValidVersion(version) || !isInstant(updated)) throw invalidCursor();
  return { position: { code: module.code, module: module.module, version, updated }, count: countOf(count) };
}

/** `state` is the listing's filter ('' for none): a cursor continues only the listing it came from. */
export function encodeJobCursor(module: ModuleKey, state: string, next: Continuation<JobPosition>, key: string): string {
  const { position, count } = next;
  return encode({ listing: 'jobs', module_key: moduleKey(module), state, job_id: position.jobId, created: position.created, count: countText(count) }, key);
}

/** Where a cursor continues `module`'s job listing with filter `state`; a ValidationError for anything else. */
export function decodeJobCursor(raw: string, key: string, module: ModuleKey, state: string): Continuation<JobPosition> {
  const fields = decode(raw, key, 'jobs', module, ['state', 'job_id', 'created']);
  const { job_id: jobId = '', created = '', count = '' } = fields;
  if (fields.state !== state || !JOB_ID.test(jobId) || !isInstant(created)) throw invalidCursor();
  return { position: { jobId, created }, count: countOf(count) };
}
