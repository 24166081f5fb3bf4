/**
 * The read endpoints (docs/api.md#read-and-delete-packages, beyond the original API), authorized like `link`: list a
 * module's packages newest first, get one version with a short-lived download URL and its app
 * description (the logo with `?include=logo`), delete one.
 * A delete removes the record first, then its object, so no record ever points at nothing
 * (invariant 2); an object left behind by a failed delete is logged by key (invariant 3).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ApiRequest } from '../http/api-event';
import { assertAllowedOn, identifyCaller } from '../auth/auth';
import { signingKeyOf, type Config } from '../core/config';
import { PackageNotFoundError, StorageUnavailableError, ValidationError } from '../core/errors';
import { validatePackagePath } from '../http/link-request';
import { decodeCursor, encodeCursor } from './list-cursor';
import type { Logger } from '../core/logger';
import { formatApiTime, toPackageResponse, type PackageRecord, type PackageResponse } from '../storage/package-record';
import { readLogoB64, readMetaInfo } from '../storage/app-desc-store';
import { deleteObject, presignDownload } from '../storage/package-store';
import { countVersions, deleteVersion, getVersion, listVersions, restoreVersion } from '../storage/version-records';

export interface PackagesDeps {
  dynamodb: DynamoDBClient;
  s3: S3Client;
  config: Config;
  log: Logger;
  now: () => Date;
}

/** A listed version: the link answer's six fields, who registered it, and what its app description says. */
export interface PackageListItem extends PackageResponse {
  operator: string;
  /** The app description's spec version (1 = legacy), null without one. */
  spec_version: number | null;
  /** The version the app description gives (it may differ from `version`, which the request chose). */
  app_version: string | null;
}

export interface PackageList {
  /**
   * How many versions the module holds in all pages, as Django REST framework counts, as of the
   * listing's first page; null past the counting budget.
   */
  count: number | null;
  results: PackageListItem[];
  /** Opaque; pass as `cursor` for the next page. Null on the last page. */
  next: string | null;
}

export interface PackageDetail extends PackageListItem {
  download_url: string;
  download_url_expires: string;
  /** The parsed app description; `{}` without one, as the platform answers. */
  meta_info: Record<string, unknown> | null;
  /** The directory holding the app description: `./` at the root, or without one. */
  relative_path: string;
  /** Only with `?include=logo`: `base64,` and the logo's PNG in base64, or null. */
  logo_b64data?: string | null;
}

/** What `?include=` may ask for beyond the default fields. */
const INCLUDABLE = new Set(['logo']);

export const DOWNLOAD_URL_TTL_SECONDS = 15 * 60;
const DEFAULT_LIMIT = 20;
const MAX_LIMIT = 100;
// The SDK already retries each call; these are whole retries of the object delete, spaced out.
const OBJECT_DELETE_DELAYS_MS = [200, 800];

function toListItem(record: PackageRecord): PackageListItem {
  return {
    ...toPackageResponse(record),
    operator: record.operator,
    spec_version: record.appDescription?.specVersion ?? null,
    app_version: record.appDescription?.appVersion ?? null,
  };
}

function parseInclude(raw: string | undefined): Set<string> {
  const asked = new Set((raw ?? '').split(',').map((part) => part.trim()).filter(Boolean));
  const unknown = [...asked].filter((part) => !INCLUDABLE.has(part));
  if (unknown.length > 0) {
    throw new ValidationError('Invalid request: include.', { fieldsDetail: { include: [`Unknown: ${unknown.join(', ')}. Known: ${[...INCLUDABLE].join(', ')}.`] } });
  }
  return asked;
}

/** 401/403 before anything else is looked at, as on the link route. */
async function authorize(request: ApiRequest, deps: PackagesDeps): Promise<Logger> {
  const caller = await identifyCaller(request, deps);
  assertAllowedOn(caller, request.pathParameters.code ?? '');
  return deps.log.child({ principal: caller.principal, token_id: caller.tokenId });
}

/** API Gateway REST hands path parameters over still percent-encoded; a version has no `%`. */
function decodedPath(request: ApiRequest): Record<string, string> {
  const { version } = request.pathParameters;
  if (version === undefined || !version.includes('%')) return request.pathParameters;
  try {
    return { ...request.pathParameters, version: decodeURIComponent(version) };
  } catch {
    return request.pathParameters;
  }
}

function parseLimit(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_LIMIT;
  const value = /^\d{1,3}$/.test(raw.trim()) ? Number(raw.trim()) : Number.NaN;
  if (!(value >= 1 && value <= MAX_LIMIT)) {
    const detail = `Must be a whole number from 1 to ${MAX_LIMIT}.`;
    throw new ValidationError(`Invalid request: limit.`, { fieldsDetail: { limit: [detail] } });
  }
  return value;
}

export async function listPackages(request: ApiRequest, deps: PackagesDeps): Promise<PackageList> {
  const authorized = await authorize(request, deps);
  const module = validatePackagePath(request.pathParameters, false);
  const limit = parseLimit(request.query.limit);
  const key = signingKeyOf(deps.config);
  // An empty cursor is the first page, as Django REST framework reads it.
  const cursor = request.query.cursor ? decodeCursor(request.query.cursor, key, module) : undefined;
  const table = deps.config.versionsTable;
  const page = await listVersions(deps.dynamodb, table, module, { limit, after: cursor?.position });
  // Counted on the first page only, and only when it is not the whole listing; the cursor carries
  // the total through the later pages.
  const count = cursor ? cursor.count : page.next ? await countVersions(deps.dynamodb, table, module) : page.records.length;
  authorized.child({ code: module.code, module: module.module }).info('packages listed', { shown: page.records.length, count });
  return {
    count,
    results: page.records.map(toListItem),
    next: page.next ? encodeCursor({ position: page.next, count }, key) : null,
  };
}

export async function getPackage(request: ApiRequest, deps: PackagesDeps): Promise<PackageDetail> {
  const authorized = await authorize(request, deps);
  const key = validatePackagePath(decodedPath(request), true);
  const include = parseInclude(request.query.include);
  const record = await getVersion(deps.dynamodb, deps.config.versionsTable, key);
  if (!record) throw new PackageNotFoundError(key.version);
  const log = authorized.child({ code: key.code, module: key.module, version: key.version });
  const description = record.appDescription;
  const bucket = deps.config.packagesBucket;
  const [metaInfo, logoB64] = await Promise.all([
    description ? readMetaInfo(deps.s3, bucket, description, log) : {},
    include.has('logo') && description ? readLogoB64(deps.s3, bucket, description, log) : null,
  ]);
  const logo = include.has('logo') ? { logo_b64data: logoB64 } : {};
  const signedAt = deps.now();
  const downloadUrl = await presignDownload(
    deps.s3,
    deps.config.packagesBucket,
    record.objectKey,
    record.packageName,
    DOWNLOAD_URL_TTL_SECONDS,
    signedAt,
  );
  log.info('download URL issued', { object_key: record.objectKey });
  return {
    ...toListItem(record),
    download_url: downloadUrl,
    download_url_expires: formatApiTime(new Date(signedAt.getTime() + DOWNLOAD_URL_TTL_SECONDS * 1000).toISOString()),
    meta_info: metaInfo ?? null,
    relative_path: description?.relativePath ?? './',
    ...logo,
  };
}

/** Idempotent: an absent version is already deleted. */
export async function deletePackage(request: ApiRequest, deps: PackagesDeps): Promise<void> {
  const authorized = await authorize(request, deps);
  const key = validatePackagePath(decodedPath(request), true);
  const log = authorized.child({ code: key.code, module: key.module, version: key.version });
  const deleted = await deleteVersion(deps.dynamodb, deps.config.versionsTable, key);
  if (!deleted) {
    log.info('package already absent');
    return;
  }
  if (deleted.objectKeys.length === 0) {
    log.warn('deleted a record that named no object');
    return;
  }
  // What lives beside the package first, the package last: a failure part way puts the record
  // back on a package that still matches it (invariant 2), and a retried DELETE finishes.
  for (const key of [...deleted.objectKeys].reverse()) {
    try {
      await deleteObjectPatiently(deps, key, log);
    } catch (error) {
      const restored = await restoreVersion(deps.dynamodb, deps.config.versionsTable, deleted.previous).catch(() => false);
      log.error(restored ? 'object not deleted; record restored, safe to retry' : 'object not deleted and record not restored; the object is orphaned', {
        object_key: key,
      });
      throw error;
    }
  }
  log.info('package deleted', { object_keys: deleted.objectKeys });
}

async function deleteObjectPatiently(deps: PackagesDeps, key: string, log: Logger): Promise<void> {
  const bucket = deps.config.packagesBucket;
  let failure: unknown;
  for (const delayMs of [...OBJECT_DELETE_DELAYS_MS, undefined]) {
    try {
      await deleteObject(deps.s3, bucket, key);
      return;
    } catch (error) {
      failure = error instanceof StorageUnavailableError ? error.cause : error;
      if (delayMs !== undefined) await sleep(delayMs);
    }
  }
  log.warn('could not delete the object', { bucket, object_key: key, error: failure });
  throw new StorageUnavailableError('S3', failure);
}
