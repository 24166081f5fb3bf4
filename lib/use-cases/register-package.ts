/**
 * The worker's job, as its steps (docs/design.md#the-flow): find what exists → transfer (the
 * guarded download through one inspecting pass into an S3 multipart upload at the job's own key)
 * → resolve the version and write the record → clean up unless recorded. Each step takes plain
 * inputs and gives one result; nothing is shared between them but what they return. Whatever
 * fails, no object is left that no record points to (docs/design.md#invariants).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Config } from '../core/config';
import { openDownload, type Download, type Network } from '../download/download-guard';
import { ChecksumMismatchError, PackageAlreadyExistsError, StorageUnavailableError, TransferAbortedError } from '../core/errors';
import type { Logger } from '../core/logger';
import { PackageInspector } from '../archive/package-inspector';
import { packageNameFor } from './package-name';
import { objectKeysOf, type PackageRecord } from '../storage/package-record';
import { storeAppDescription } from '../storage/app-desc-store';
import { abortUploadsAt, deleteObjectsQuietly, objectKeyFor, requestKeysFor } from '../storage/package-store';
import { transferPackage, type TransferResult } from './package-transfer';
import { bytes, bytesPerSecond, count, METRIC, milliseconds, type Metrics } from '../core/metrics';
import { checkAppCode, resolveVersion } from './version-resolution';
import { getVersion, writeVersion } from '../storage/version-records';
import type { PackageRequest } from '../core/package-request';
import type { JobRun } from './job-run';

/** What the worker works with; what belongs to one run of a job is its `JobRun`. */
export interface WorkerDeps {
  s3: S3Client;
  dynamodb: DynamoDBClient;
  config: Config;
  log: Logger;
  now: () => Date;
  /** Milliseconds the invocation has left; the download's deadline is taken from it. */
  remainingTimeMs: () => number;
  /** Tests only: name resolution and the address policy of the download guard. */
  network?: Network;
  /** Where the transfer's figures go (bytes, durations, entries). */
  metrics?: Metrics;
  /** Where a job's end is announced (`config.eventBusName`); absent, nothing is (tests not about events). */
  events?: EventBridgeClient;
}

/** Where this job's objects go: the package's key and every key beside it, shared by the job's runs. */
interface Place {
  objectKey: string;
  ownKeys: string[];
}

/** What exists before the transfer: the version known so far, and the record an overwrite may replace. */
interface Existing {
  version: string | undefined;
  previous: PackageRecord | undefined;
}

interface Transferred {
  download: Download;
  inspected: TransferResult;
}

/** How resolving and writing ended: the record stored, or the error and the version known by then. */
type Written =
  | { stored: true; record: PackageRecord; replacedObjectKeys: string[] }
  | { stored: false; error: unknown; version: string | undefined; landed?: RecordNaming };

/** The record naming the job's object: none, one, or 'unknown' when DynamoDB cannot say. */
type RecordNaming = PackageRecord | undefined | 'unknown';

export async function registerPackage(request: PackageRequest, run: JobRun, deps: WorkerDeps): Promise<PackageRecord> {
  const objectKey = objectKeyFor(request.code, request.module, request.jobId);
  const place: Place = { objectKey, ownKeys: requestKeysFor(objectKey) };
  const existing = await findExisting(request, run, deps);
  // The same job seen again (a retried event) gets its recorded outcome without a download.
  if ('recorded' in existing) return existing.recorded;

  let transferred: Transferred;
  try {
    transferred = await transfer(request, place, run, deps);
  } catch (error) {
    // An earlier run that crashed after its upload left objects at these keys; no record points to
    // them (checked above), so they go with this failure — unless the job has a new run, which owns
    // the keys now (then the transfer was aborted).
    if (!(error instanceof TransferAbortedError)) await cleanUpUnlessRecorded(request, place, existing.version, run, deps);
    throw error;
  }

  const written = await resolveAndWrite(request, place, transferred, existing, run, deps);
  if (!written.stored) {
    // A lost race, wrong checksum, no version, S3 or DynamoDB down: this request's objects must not
    // outlive it (unless the job has a new run, which owns the keys now).
    await cleanUpUnlessRecorded(request, place, written.version, run, deps, written.landed);
    throw written.error;
  }
  await removeReplaced(written.replacedObjectKeys, deps);
  return written.record;
}

/**
 * The record at the version known before the download (the request's, else one an earlier run of
 * the job noted): this job's own record is its outcome; another one may not be replaced without
 * `allow_overwrite`, and is what an overwrite replaces.
 */
async function findExisting(request: PackageRequest, run: JobRun, deps: WorkerDeps): Promise<Existing | { recorded: PackageRecord }> {
  const version = request.version ?? run.resolvedVersion;
  if (!version) return { version, previous: undefined };
  const found = await getVersion(deps.dynamodb, deps.config.versionsTable, { code: request.code, module: request.module, version });
  // Also when overwriting: another upload would land on the objects its own record points to.
  if (found?.requestId === request.jobId) return { recorded: found };
  if (request.version && found && !request.allowOverwrite) throw new PackageAlreadyExistsError(request.version);
  return { version, previous: found };
}

/** The download piped through the inspector into the upload; what a dead earlier run left goes first. */
async function transfer(request: PackageRequest, place: Place, run: JobRun, deps: WorkerDeps): Promise<Transferred> {
  const { config, log } = deps;
  if (run.isRetry) {
    await abortUploadsAt(deps.s3, config.packagesBucket, place.objectKey, log);
    // What a dead run stored beside the package, which this run might not write again. No record
    // points to it: this job's record would have been found.
    await deleteObjectsQuietly(deps.s3, config.packagesBucket, place.ownKeys.slice(1), log);
  }
  // Durations and the download's deadline on the monotonic clock; wall time comes from `deps.now`.
  const started = performance.now();
  const download = await openDownload(
    request.packageUrl,
    {
      allowPrivate: config.allowPrivateUrls,
      allowedHosts: config.allowedHosts,
      deniedHosts: config.deniedHosts,
      maxBytes: config.maxPackageBytes,
      connectTimeoutMs: config.connectTimeoutMs,
      idleTimeoutMs: config.idleTimeoutMs,
      deadline: performance.now() + Math.min(config.totalTimeoutMs, Math.max(0, deps.remainingTimeMs() - config.cleanupMarginMs)),
    },
    deps.network,
  );
  const limits = { maxEntries: config.maxArchiveEntries, maxUncompressedBytes: config.maxUncompressedBytes };
  const inspector = new PackageInspector(config.maxPackageBytes, download.contentLength, limits);
  run.progress({ contentLength: download.contentLength, bytesReceived: () => inspector.bytesSeen });
  const inspected = await transferPackage(download, inspector, {
    s3: deps.s3,
    bucket: config.packagesBucket,
    key: place.objectKey,
    upload: { partBytes: config.uploadPartBytes, queueSize: config.uploadQueueSize },
    maxBytes: config.maxPackageBytes,
    signal: run.signal,
  });
  reportTransfer(place, inspected, started, deps);
  return { download, inspected };
}

function reportTransfer(place: Place, inspected: TransferResult, started: number, deps: WorkerDeps): void {
  const description = inspected.appDescription;
  const downloadMs = inspected.bodyEndedAt - started;
  const uploadMs = inspected.uploadedAt - started;
  deps.log.info('package uploaded', {
    object_key: place.objectKey,
    package_size: inspected.size,
    format: inspected.format,
    download_ms: downloadMs,
    upload_ms: uploadMs,
    app_desc: description?.path,
    app_version: description?.appVersion,
    spec_version: description?.specVersion,
  });
  const { metrics } = deps;
  if (!metrics) return;
  bytes(metrics, METRIC.packageBytes, inspected.size);
  milliseconds(metrics, METRIC.downloadDuration, downloadMs);
  if (downloadMs > 0) bytesPerSecond(metrics, METRIC.downloadThroughput, (inspected.size * 1000) / downloadMs);
  milliseconds(metrics, METRIC.uploadDuration, uploadMs);
  count(metrics, METRIC.archiveEntries, inspected.archive.entryCount);
}

/** The version (the request's, else the package's), checked and noted on the job before any record names it. */
async function resolve(request: PackageRequest, inspected: TransferResult, run: JobRun, deps: WorkerDeps): Promise<string> {
  if (request.sha256 && request.sha256 !== inspected.sha256) throw new ChecksumMismatchError(request.sha256, inspected.sha256);
  const version = resolveVersion(request.version, inspected.appDescription, deps.log);
  checkAppCode(request.code, inspected.appDescription, deps.config.requireMatchingAppCode, deps.log.child({ version }));
  // Noted before the record exists, so that a later run of this job can find the record.
  if (!request.version && !(await run.noteVersion(version))) throw new TransferAbortedError();
  return version;
}

/**
 * Resolves the version, stores the app description beside the package and writes the record,
 * fenced by the lease. A write answered with an error may have landed: then this run succeeded,
 * and what it replaced goes as the lost answer would have named it.
 */
async function resolveAndWrite(
  request: PackageRequest,
  place: Place,
  { download, inspected }: Transferred,
  existing: Existing,
  run: JobRun,
  deps: WorkerDeps,
): Promise<Written> {
  const { config } = deps;
  let version: string;
  try {
    version = await resolve(request, inspected, run, deps);
  } catch (error) {
    return { stored: false, error, version: existing.version };
  }
  const log = deps.log.child({ version });
  const key = { code: request.code, module: request.module, version };
  try {
    // A version taken from the package was not read before: read what the overwrite may replace.
    const previous = request.allowOverwrite && version !== existing.version ? await getVersion(deps.dynamodb, config.versionsTable, key) : existing.previous;
    const appDescription = inspected.appDescription ? await storeAppDescription(deps.s3, config.packagesBucket, place.objectKey, inspected.appDescription) : undefined;
    // The last moment to find out that another run has taken the job over (it uploads to the same
    // keys), or that this run cannot tell: either way it must not write.
    if (!(await run.confirm())) throw new TransferAbortedError();
    const record = {
      ...key,
      packageName: packageNameFor(new URL(request.packageUrl), download.contentDisposition, inspected.format),
      packageSize: inspected.size,
      sha256: inspected.sha256,
      format: inspected.format,
      entryCount: inspected.archive.entryCount,
      uncompressedSize: inspected.archive.uncompressedBytes,
      objectKey: place.objectKey,
      ...(appDescription ? { appDescription } : {}),
      requestId: request.jobId,
      operator: request.operator,
      updated: deps.now().toISOString(),
    };
    try {
      return { stored: true, ...(await writeVersion(deps.dynamodb, config.versionsTable, record, request.allowOverwrite)) };
    } catch (error) {
      if (!(error instanceof StorageUnavailableError)) throw error;
      // DynamoDB may have committed the write and lost only the answer.
      const landed = await recordNaming(place, key, deps);
      if (landed === 'unknown' || landed?.requestId !== request.jobId) return { stored: false, error, version, landed };
      log.warn('the version write was answered with an error but landed', { object_key: place.objectKey });
      const replaced = previous && previous.objectKey !== landed.objectKey ? objectKeysOf(previous) : [];
      return { stored: true, record: landed, replacedObjectKeys: replaced };
    }
  } catch (error) {
    return { stored: false, error, version };
  }
}

/** The record at `key` when it names the job's object; 'unknown' when DynamoDB cannot say. */
async function recordNaming(place: Place, key: { code: string; module: string; version: string }, deps: WorkerDeps): Promise<RecordNaming> {
  try {
    const record = await getVersion(deps.dynamodb, deps.config.versionsTable, key);
    return record?.objectKey === place.objectKey ? record : undefined;
  } catch {
    return 'unknown';
  }
}

/**
 * The job's object keys are shared by its runs, and a version write whose answer was lost may
 * have landed: the objects go only while the job is this run's and no record names them (at the
 * version known so far; none known, no record of this job can exist yet).
 */
async function cleanUpUnlessRecorded(
  request: PackageRequest,
  place: Place,
  version: string | undefined,
  run: JobRun,
  deps: WorkerDeps,
  known?: RecordNaming,
): Promise<void> {
  if (!(await run.confirm())) return;
  const recorded = known ?? (version ? await recordNaming(place, { code: request.code, module: request.module, version }, deps) : undefined);
  if (recorded === 'unknown') deps.log.error('kept the objects: no telling whether a version record names them', { object_keys: place.ownKeys });
  else if (recorded === undefined) await deleteObjectsQuietly(deps.s3, deps.config.packagesBucket, place.ownKeys, deps.log);
}

async function removeReplaced(keys: string[], deps: WorkerDeps): Promise<void> {
  if (keys.length === 0) return;
  deps.log.info('removing replaced objects', { object_keys: keys });
  await deleteObjectsQuietly(deps.s3, deps.config.packagesBucket, keys, deps.log);
}
