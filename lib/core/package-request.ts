/**
 * A package request, parsed once: the field rules (docs/api.md#request-body) and the one shape
 * the service uses from `link` to S3. `link` validates the HTTP form by these rules, and the worker
 * validates its event by the same ones (it trusts no caller); neither imports the other's edge.
 */
import { UrlNotAllowedError, ValidationError, type FieldsDetail } from './errors';

/** The validated fields of a request to register a package. */
export interface PackageFields {
  code: string;
  module: string;
  packageUrl: string;
  /** Absent: the version is taken from the package's app description. */
  version: string | undefined;
  allowOverwrite: boolean;
  sha256: string | undefined;
}

/** `sync`: a client waits for the answer; `async`: Lambda's retries stand behind the job. */
export type InvocationMode = 'sync' | 'async';

/** The request as the job runs it: its fields, its job and who asked. */
export interface PackageRequest extends PackageFields {
  /** Names the job, its S3 object and its record's writer, so that every run lands on the same key. */
  jobId: string;
  /** Who asked (the token's principal), recorded as the version's operator. */
  operator: string;
  mode: InvocationMode;
}

/** The fields as they arrive, as text: a form's fields, or a worker event's members. */
export interface RawPackageFields {
  code?: string;
  module_name?: string;
  package_url?: string;
  version?: string;
  allow_overwrite?: string;
  sha256?: string;
}

// BlueKing application codes and module names: lower-case letters, digits and hyphens.
const NAME = /^[a-z0-9][a-z0-9-]{0,31}$/;
const VERSION = /^[A-Za-z0-9_+-][A-Za-z0-9._+-]{0,127}$/;
const SHA256 = /^[0-9a-fA-F]{64}$/;
const MAX_URL_LENGTH = 2048;
export const NAME_RULE = 'Must be 1–32 lower-case letters, digits or hyphens.';
/** The rule for version labels, in words, for a field's problem. */
export const VERSION_RULE = 'Must be 1–128 letters, digits, ".", "_", "-" or "+", not starting with ".".';

const TRUE_WORDS = new Set(['true', '1', 'yes', 'on']);
const FALSE_WORDS = new Set(['false', '0', 'no', 'off', '', 'null']);
const ALLOW_OVERWRITE_RULE =
  'Must be true or false: true, 1, yes or on for true; false, 0, no, off, null or empty for false (any case).';
const ALLOWED_SCHEMES = new Set(['http:', 'https:']);

/** An application code or module name. */
export function isValidName(name: string): boolean {
  return NAME.test(name);
}

/** A version label as stored: the `version` field's rule, after its trimming. */
export function isValidVersion(version: string): boolean {
  return VERSION.test(version);
}

export function parseAllowOverwrite(raw: string | undefined): boolean | undefined {
  const word = (raw ?? '').trim().toLowerCase();
  if (TRUE_WORDS.has(word)) return true;
  if (FALSE_WORDS.has(word)) return false;
  return undefined;
}

/**
 * The one check of a package URL's scheme, for the link and for every redirect: a well-formed link
 * in another scheme is refused by policy, as a forbidden address is (URL_NOT_ALLOWED).
 */
export function checkScheme(url: URL): void {
  if (!ALLOWED_SCHEMES.has(url.protocol)) {
    throw new UrlNotAllowedError(`The scheme "${url.protocol.slice(0, -1)}" is not allowed: package URLs must be http or https.`);
  }
}

export function validatePackageFields(raw: RawPackageFields): PackageFields {
  const problems: FieldsDetail = {};
  const problem = (field: string, message: string): void => {
    (problems[field] ??= []).push(message);
  };

  const code = raw.code ?? '';
  if (!isValidName(code)) problem('code', NAME_RULE);
  const module = raw.module_name ?? '';
  if (!isValidName(module)) problem('module_name', NAME_RULE);

  const packageUrl = (raw.package_url ?? '').trim();
  if (!packageUrl) problem('package_url', 'This field is required.');
  else if (packageUrl.length > MAX_URL_LENGTH) problem('package_url', `Must be at most ${MAX_URL_LENGTH} characters.`);
  else if (!isAbsoluteUrl(packageUrl)) problem('package_url', 'Must be an absolute http or https URL.');

  // Optional, as in the original API: without it the package's app description names the version.
  const version = (raw.version ?? '').trim();
  if (version && !isValidVersion(version)) problem('version', VERSION_RULE);

  const allowOverwrite = parseAllowOverwrite(raw.allow_overwrite);
  if (allowOverwrite === undefined) problem('allow_overwrite', ALLOW_OVERWRITE_RULE);

  const sha256 = (raw.sha256 ?? '').trim();
  if (sha256 && !SHA256.test(sha256)) problem('sha256', 'Must be a SHA-256 digest: 64 hexadecimal characters.');

  if (Object.keys(problems).length > 0) {
    throw new ValidationError(`Invalid request: ${Object.keys(problems).join(', ')}.`, { fieldsDetail: problems });
  }
  checkScheme(new URL(packageUrl));
  return {
    code,
    module,
    packageUrl,
    version: version || undefined,
    allowOverwrite: allowOverwrite === true,
    sha256: sha256 ? sha256.toLowerCase() : undefined,
  };
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
