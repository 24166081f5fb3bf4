/**
 * The listings' opaque cursors: base64url of the index key where a page ended, as JSON, with the
 * module it belongs to. A cursor comes back from the client, so it is checked like any input:
 * what we could not have issued for this module's listing is a 400, and never reaches DynamoDB
 * as a key (another module's, or a malformed one).
 */
import { ValidationError } from './errors';
import type { JobPosition } from './jobs';
import { isValidVersion } from './link-request';
import type { ListPosition, ModuleKey } from './version-records';

const MAX_CURSOR_LENGTH = 1024;
const CURSOR_CHARACTERS = /^[A-Za-z0-9_-]+$/;
const ISO_INSTANT = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/;
const JOB_ID = /^[A-Za-z0-9_-]{1,128}$/;

function moduleKey(module: ModuleKey): string {
  return `${module.code}/${module.module}`;
}

function encode(fields: Record<string, string>): string {
  return Buffer.from(JSON.stringify(fields), 'utf8').toString('base64url');
}

function invalidCursor(): ValidationError {
  const detail = 'The cursor is not one this listing issued; start again without it.';
  return new ValidationError(detail, { cursor: [detail] });
}

/** The cursor's fields when it has exactly `names` (plus module_key, which must be `module`'s). */
function decode(raw: string, module: ModuleKey, names: string[]): Record<string, string> {
  if (raw.length > MAX_CURSOR_LENGTH || !CURSOR_CHARACTERS.test(raw)) throw invalidCursor();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
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

export function encodeCursor(position: ListPosition): string {
  return encode({ module_key: moduleKey(position), version: position.version, updated: position.updated });
}

/** The position a cursor names in `module`'s package listing; a ValidationError for anything else. */
export function decodeCursor(raw: string, module: ModuleKey): ListPosition {
  const { version = '', updated = '' } = decode(raw, module, ['version', 'updated']);
  if (!isValidVersion(version) || !isInstant(updated)) throw invalidCursor();
  return { code: module.code, module: module.module, version, updated };
}

export function encodeJobCursor(module: ModuleKey, position: JobPosition): string {
  return encode({ module_key: moduleKey(module), job_id: position.jobId, created: position.created });
}

/** The position a cursor names in `module`'s job listing; a ValidationError for anything else. */
export function decodeJobCursor(raw: string, module: ModuleKey): JobPosition {
  const { job_id: jobId = '', created = '' } = decode(raw, module, ['job_id', 'created']);
  if (!JOB_ID.test(jobId) || !isInstant(created)) throw invalidCursor();
  return { jobId, created };
}
