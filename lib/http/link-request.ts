/**
 * Validation of a link request (DESIGN §2): path parameters and form fields to a typed request,
 * or one ValidationError that lists every problem in `fields_detail`.
 */
import { UrlNotAllowedError, ValidationError, type FieldsDetail } from '../core/errors';
import type { FormFields } from './form-parser';

export interface LinkRequest {
  code: string;
  module: string;
  packageUrl: string;
  /** Absent: the version is taken from the package's app description (issue 12). */
  version: string | undefined;
  allowOverwrite: boolean;
  sha256: string | undefined;
}

// BlueKing application codes and module names: lower-case letters, digits and hyphens.
const CODE = /^[a-z0-9][a-z0-9-]{0,31}$/;
const MODULE = /^[a-z0-9][a-z0-9-]{0,31}$/;
const VERSION = /^[A-Za-z0-9_+-][A-Za-z0-9._+-]{0,127}$/;
const SHA256 = /^[0-9a-fA-F]{64}$/;
const MAX_URL_LENGTH = 2048;
const NAME_RULE = 'Must be 1–32 lower-case letters, digits or hyphens.';
/** The rule for version labels, in words, for a field's problem. */
export const VERSION_RULE = 'Must be 1–128 letters, digits, ".", "_", "-" or "+", not starting with ".".';

const TRUE_WORDS = new Set(['true', '1', 'yes', 'on']);
const FALSE_WORDS = new Set(['false', '0', 'no', 'off', '', 'null']);
const ALLOW_OVERWRITE_RULE =
  'Must be true or false: true, 1, yes or on for true; false, 0, no, off, null or empty for false (any case).';
const ALLOWED_SCHEMES = new Set(['http:', 'https:']);

export function parseAllowOverwrite(raw: string | undefined): boolean | undefined {
  const word = (raw ?? '').trim().toLowerCase();
  if (TRUE_WORDS.has(word)) return true;
  if (FALSE_WORDS.has(word)) return false;
  return undefined;
}

export function validateLinkRequest(pathParameters: Record<string, string>, fields: FormFields): LinkRequest {
  const problems: FieldsDetail = {};
  const problem = (field: string, message: string): void => {
    (problems[field] ??= []).push(message);
  };

  const code = pathParameters.code ?? '';
  if (!CODE.test(code)) problem('code', NAME_RULE);
  const module = pathParameters.module_name ?? '';
  if (!MODULE.test(module)) problem('module_name', NAME_RULE);

  const packageUrl = (fields.package_url ?? '').trim();
  if (!packageUrl) problem('package_url', 'This field is required.');
  else if (packageUrl.length > MAX_URL_LENGTH) problem('package_url', `Must be at most ${MAX_URL_LENGTH} characters.`);
  else if (!isAbsoluteUrl(packageUrl)) problem('package_url', 'Must be an absolute http or https URL.');

  // Optional, as in the original API: without it the package's app description names the version.
  const version = (fields.version ?? '').trim();
  if (version && !VERSION.test(version)) problem('version', VERSION_RULE);

  const allowOverwrite = parseAllowOverwrite(fields.allow_overwrite);
  if (allowOverwrite === undefined) problem('allow_overwrite', ALLOW_OVERWRITE_RULE);

  const sha256 = (fields.sha256 ?? '').trim();
  if (sha256 && !SHA256.test(sha256)) problem('sha256', 'Must be a SHA-256 digest: 64 hexadecimal characters.');

  if (Object.keys(problems).length > 0) {
    throw new ValidationError(`Invalid request: ${Object.keys(problems).join(', ')}.`, { fieldsDetail: problems });
  }
  // A link in another scheme is refused by policy, as a forbidden address is: URL_NOT_ALLOWED.
  const scheme = new URL(packageUrl).protocol;
  if (!ALLOWED_SCHEMES.has(scheme)) {
    throw new UrlNotAllowedError(`The scheme "${scheme.slice(0, -1)}" is not allowed: package_url must be http or https.`);
  }
  return {
    code,
    module,
    packageUrl,
    version: version || undefined,
    allowOverwrite: allowOverwrite === true,
    sha256: sha256 ? sha256.toLowerCase() : undefined,
  };
}

export interface ModulePath {
  code: string;
  module: string;
}

export interface VersionPath extends ModulePath {
  version: string;
}

/** A version label as stored: the `version` field's rule, after its trimming. */
export function isValidVersion(version: string): boolean {
  return VERSION.test(version);
}

/**
 * The path of the read routes (`.../modules/{module_name}/source_package/[{version}/]`), by the
 * same rules as a link request's path and `version` field; one ValidationError for every problem.
 */
export function validatePackagePath(pathParameters: Record<string, string>, withVersion: false): ModulePath;
export function validatePackagePath(pathParameters: Record<string, string>, withVersion: true): VersionPath;
export function validatePackagePath(pathParameters: Record<string, string>, withVersion: boolean): ModulePath | VersionPath {
  const problems: FieldsDetail = {};
  const code = pathParameters.code ?? '';
  if (!CODE.test(code)) problems.code = [NAME_RULE];
  const module = pathParameters.module_name ?? '';
  if (!MODULE.test(module)) problems.module_name = [NAME_RULE];
  const version = (pathParameters.version ?? '').trim();
  if (withVersion && !version) problems.version = ['This field is required.'];
  else if (withVersion && !VERSION.test(version)) problems.version = [VERSION_RULE];
  if (Object.keys(problems).length > 0) {
    throw new ValidationError(`Invalid request: ${Object.keys(problems).join(', ')}.`, { fieldsDetail: problems });
  }
  return withVersion ? { code, module, version } : { code, module };
}

// Schemes written without `//` that are links all the same; anything else before a colon
// (`localhost:8080/a.tgz`, `C:\\pkgs\\a.tgz`) is a typo, not a scheme.
const OPAQUE_SCHEMES = new Set(['data:', 'javascript:', 'mailto:', 'blob:', 'about:', 'urn:', 'tel:', 'view-source:', 'jar:']);

/**
 * An absolute URL, so that its scheme can be judged apart (`ftp:` is refused as a policy): one
 * WHATWG URL parses, whose scheme is http(s), written `scheme://`, or a known opaque one.
 */
function isAbsoluteUrl(raw: string): boolean {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return false;
  }
  return ALLOWED_SCHEMES.has(url.protocol) || /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(raw) || OPAQUE_SCHEMES.has(url.protocol);
}
