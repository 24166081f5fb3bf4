/**
 * The listing's opaque cursor: base64url of the index's LastEvaluatedKey as JSON,
 * `{"module_key": "code/module", "version": "...", "updated": "..."}`. It comes back from the
 * client, so it is checked like any input: what we could not have issued for this module's
 * listing is a 400, and never reaches DynamoDB as a key (another module's, or a malformed one).
 */
import { ValidationError } from './errors';
import { isValidVersion } from './link-request';
import type { ListPosition, ModuleKey } from './version-records';

const MAX_CURSOR_LENGTH = 1024;
const CURSOR_CHARACTERS = /^[A-Za-z0-9_-]+$/;
const ISO_INSTANT = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/;
const KEY_NAMES = ['module_key', 'updated', 'version'];

export function encodeCursor(position: ListPosition): string {
  const key = { module_key: `${position.code}/${position.module}`, version: position.version, updated: position.updated };
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

function invalidCursor(): ValidationError {
  const detail = 'The cursor is not one this listing issued; start again without it.';
  return new ValidationError(detail, { cursor: [detail] });
}

function parse(raw: string): unknown {
  if (raw.length > MAX_CURSOR_LENGTH || !CURSOR_CHARACTERS.test(raw)) throw invalidCursor();
  try {
    return JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
  } catch {
    throw invalidCursor();
  }
}

/** The position a cursor names in `module`'s listing; a ValidationError for anything else. */
export function decodeCursor(raw: string, module: ModuleKey): ListPosition {
  const parsed = parse(raw);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw invalidCursor();
  const fields = parsed as Record<string, unknown>;
  if (Object.keys(fields).sort().join() !== KEY_NAMES.join()) throw invalidCursor();
  const { module_key: moduleKey, version, updated } = fields;
  if (moduleKey !== `${module.code}/${module.module}`) throw invalidCursor();
  if (typeof version !== 'string' || !isValidVersion(version)) throw invalidCursor();
  if (typeof updated !== 'string' || !ISO_INSTANT.test(updated) || Number.isNaN(Date.parse(updated))) throw invalidCursor();
  return { code: module.code, module: module.module, version, updated };
}
