/**
 * What a package's app description says, read as the BlueKing platform reads it:
 * the spec version (`spec_version` or `specVersion`: 1, 2 or 3; none but an `app_code` key: the
 * legacy format, 1), and by spec the application code and version —
 *
 * | spec | app code | app version |
 * | --- | --- | --- |
 * | 3 | `app.bkAppCode` | `appVersion` |
 * | 2 | `app.bk_app_code` | `app_version` |
 * | 1 (legacy) | `app_code` | `version` |
 *
 * A code or version is a string or a number (a number as written in the file: `1.10` stays
 * `1.10`); anything else counts as absent; one over MAX_FIELD_CHARS is refused. The description must be a regular file within the
 * size caps, its YAML valid (`app-desc-yaml.ts`); its logo must be within its cap.
 */
import { MAX_APP_DESC_BYTES, MAX_LOGO_BYTES, type FoundDescription } from './app-desc-finder';
import { parseAppDescYaml } from './app-desc-yaml';
import { quote } from './archive-safety';
import { InvalidPackageFormatError } from '../core/errors';
import { sizeText } from '../core/byte-sizes';

export type SpecVersion = 1 | 2 | 3;

/** The app code and version go on the version record and into logs: far longer than any real one is refused. */
export const MAX_FIELD_CHARS = 256;

export interface AppDescription {
  /** The entry's name in the archive. */
  path: string;
  /** The directory holding it: `./` at the root, else `dir/` (without a leading `./`). */
  relativePath: string;
  /** The parsed document (without the logo). */
  metaInfo: Record<string, unknown>;
  /** `metaInfo` as JSON, size-checked. */
  metaInfoJson: string;
  specVersion: SpecVersion | undefined;
  appCode: string | undefined;
  /** As the file gives it; not yet checked against the rule for version labels. */
  appVersion: string | undefined;
  logo: Buffer | undefined;
}

const FIELDS: Record<SpecVersion, { code: (meta: Record<string, unknown>) => unknown; version: string }> = {
  3: { code: (meta) => member(meta.app, 'bkAppCode'), version: 'appVersion' },
  2: { code: (meta) => member(meta.app, 'bk_app_code'), version: 'app_version' },
  1: { code: (meta) => meta.app_code, version: 'version' },
};

function member(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>)[key] : undefined;
}

export function specVersionOf(meta: Record<string, unknown>): SpecVersion | undefined {
  // The platform takes the first truthy of the two, and knows only these numbers.
  const declared = meta.spec_version || meta.specVersion;
  if (declared) return declared === 1 || declared === 2 || declared === 3 ? declared : undefined;
  return 'app_code' in meta ? 1 : undefined;
}

function relativePathOf(dir: string): string {
  const relative = dir.replace(/^(\.[/\\])+/, '');
  return relative === '' ? './' : relative;
}

function textOf(value: unknown, asWritten: string | undefined): string | undefined {
  if (typeof value === 'string') return value.trim() || undefined;
  if (typeof value === 'number' && Number.isFinite(value)) return asWritten ?? String(value);
  return undefined;
}

export function describePackage(found: FoundDescription): AppDescription {
  const { name } = found;
  if (found.kind !== 'file') {
    throw new InvalidPackageFormatError(`The app description ${quote(name)} is a ${found.kind}; it must be a regular file.`);
  }
  if (found.content === 'too large') {
    throw new InvalidPackageFormatError(`The app description ${quote(name)} is larger than ${sizeText(MAX_APP_DESC_BYTES)} (the limit).`);
  }
  if (found.logo === 'too large') {
    throw new InvalidPackageFormatError(`The logo ${quote(`${found.dir}logo.png`)} is larger than ${sizeText(MAX_LOGO_BYTES)} (the limit).`);
  }
  const parsed = parseAppDescYaml(found.content, name);
  const meta = parsed.data;
  const specVersion = specVersionOf(meta);
  const fields = specVersion === undefined ? undefined : FIELDS[specVersion];
  const code = fields?.code(meta);
  const appCode = typeof code === 'string' || typeof code === 'number' ? String(code) : undefined;
  const appVersion = fields ? textOf(meta[fields.version], parsed.numbersAsWritten.get(fields.version)) : undefined;
  for (const [what, value] of [['app code', appCode], ['app version', appVersion]] as const) {
    if (value !== undefined && value.length > MAX_FIELD_CHARS) {
      throw new InvalidPackageFormatError(`The app description ${quote(name)} gives an ${what} of ${value.length} characters; the limit is ${MAX_FIELD_CHARS}.`);
    }
  }
  return {
    path: name,
    relativePath: relativePathOf(found.dir),
    metaInfo: meta,
    metaInfoJson: parsed.json,
    specVersion,
    appCode,
    appVersion,
    logo: found.logo,
  };
}
