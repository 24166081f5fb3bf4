/**
 * The worker's job (DESIGN §4): guarded download → one inspecting pass (which also reads the
 * app description) → S3 multipart upload at a key unique to this request → the version (the
 * request's, else the package's) → the description beside the package → conditional version
 * write → remove whichever objects lost. Whatever fails, no object is left that no record
 * points to (invariant 3).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Config } from '../core/config';
import { openDownload, type Download, type Network } from '../download/download-guard';
import { ChecksumMismatchError, PackageAlreadyExistsError, StorageUnavailableError, TransferAbortedError } from '../core/errors';
import type { Logger } from '../core/logger';
import { PackageInspector } from '../archive/package-inspector';
import type { ListingThreadScript } from '../archive/listing-thread';
import { packageNameFor } from './package-name';
import { objectKeysOf, type PackageRecord } from '../storage/package-record';
import { storeAppDescription } from '../storage/app-desc-store';
import { abortUploadsAt, deleteObjectsQuietly, objectKeyFor, requestKeysFor } from '../storage/package-store';
import { transferPackage, type TransferResult } from './package-transfer';
import { bytes, bytesPerSecond, count, METRIC, milliseconds, type Metrics } from '../core/metrics';
import { checkAppCode, resolveVersion } from './version-resolution';
import { getVersion, writeVersion } from '../storage/version-records';
import type { RegisterRequest } from '../jobs/fetch-contract';

export interface RegisterDeps {
  s3: S3Client;
  dynamodb: DynamoDBClient;
  config: Config;
  log: Logger;
  now: () => Date;
  /** Milliseconds the invocation has left; the download's deadline is taken from it. */
  remainingTimeMs: () => number;
  /** Tests only: name resolution and the address policy of the download guard. */
  network?: Network;
  /** Told of the download once it opens, so that the job can report its progress. */
  onDownload?: (download: { contentLength: number | undefined; bytesReceived: () => number }) => void;
  /**
   * Aborts the run: its job was taken over (its lease lost). The upload is abandoned and the
   * object key, which the job's new run uses, is left alone.
   */
  signal?: AbortSignal;
  /** Asked just before the version write, and before deleting the job's object: false stops the run. */
  stillOwner?: () => Promise<boolean>;
  /** An earlier run of this job died: abort what it left of its upload before starting. */
  abortEarlierUpload?: boolean;
  /** The version an earlier run of this job took from its package (a request without `version`). */
  resolvedVersion?: string;
  /** Notes the version taken from the package before the record is written; false stops the run. */
  noteVersion?: (version: string) => Promise<boolean>;
  /** Where the transfer's figures go (bytes, durations, entries). */
  metrics?: Metrics;
  /** The script a listing thread runs, when `config.listingThread` is on (lib/listing-thread.ts). */
  listingThreadScript?: ListingThreadScript;
}

export async function registerPackage(request: RegisterRequest, deps: RegisterDeps): Promise<PackageRecord> {
  const { config } = deps;
  let { log } = deps;

  // Without `version`, a job's earlier run may have noted the one it took from the package.
  let version = request.version ?? deps.resolvedVersion;
  const readAt = version;
  // The record an overwrite may replace: when the write lands but its answer is lost, its objects
  // are the ones the answer would have named for removal.
  let previous: PackageRecord | undefined;
  if (version) {
    const existing = await getVersion(deps.dynamodb, config.versionsTable, { code: request.code, module: request.module, version });
    // The same job seen again (a retried event) gets its recorded outcome without a download —
    // also when overwriting: another upload would land on the objects its own record points to.
    if (existing?.requestId === request.requestId) return existing;
    if (request.version && existing && !request.allowOverwrite) throw new PackageAlreadyExistsError(request.version);
    previous = existing;
  }

  const objectKey = objectKeyFor(request.code, request.module, request.requestId);
  const ownKeys = requestKeysFor(objectKey);
  if (deps.abortEarlierUpload) {
    await abortUploadsAt(deps.s3, config.packagesBucket, objectKey, log);
    // What a dead run stored beside the package, which this run might not write again. No record
    // points to it: this job's record would have been found above.
    await deleteObjectsQuietly(deps.s3, config.packagesBucket, ownKeys.slice(1), log);
  }
  // The job's object keys are shared by its runs, and a version write whose answer was lost may
  // have landed: the objects go only while the job is this run's and no record names them.
  const deleteUnlessRecorded = async (known?: Awaited<ReturnType<typeof recordNaming>>): Promise<void> => {
    if (deps.stillOwner && !(await deps.stillOwner())) return;
    const recorded = known ?? (await recordNaming(objectKey));
    if (recorded === 'unknown') log.error('kept the objects: no telling whether a version record names them', { object_keys: ownKeys });
    else if (recorded === undefined) await deleteObjectsQuietly(deps.s3, config.packagesBucket, ownKeys, log);
  };
  /**
   * The record naming `objectKey` at the version known so far, undefined when none does (or no
   * version is known yet: a run notes it before writing a record), 'unknown' when DynamoDB cannot say.
   */
  const recordNaming = async (name: string): Promise<PackageRecord | undefined | 'unknown'> => {
    if (!version) return undefined;
    try {
      const record = await getVersion(deps.dynamodb, config.versionsTable, { code: request.code, module: request.module, version });
      return record?.objectKey === name ? record : undefined;
    } catch {
      return 'unknown';
    }
  };
  const limits = { maxEntries: config.maxArchiveEntries, maxUncompressedBytes: config.maxUncompressedBytes };
  let download: Download;
  let inspected: TransferResult;
  const started = Date.now();
  try {
    download = await openDownload(
      request.packageUrl,
      {
        allowPrivate: config.allowPrivateUrls,
        allowedHosts: config.allowedHosts,
        deniedHosts: config.deniedHosts,
        maxBytes: config.maxPackageBytes,
        connectTimeoutMs: config.connectTimeoutMs,
        idleTimeoutMs: config.idleTimeoutMs,
        deadline: Date.now() + Math.min(config.totalTimeoutMs, Math.max(0, deps.remainingTimeMs() - config.cleanupMarginMs)),
      },
      deps.network,
    );
    const inspector = new PackageInspector(
      config.maxPackageBytes,
      download.contentLength,
      limits,
      config.listingThread ? deps.listingThreadScript : undefined,
    );
    deps.onDownload?.({ contentLength: download.contentLength, bytesReceived: () => inspector.bytesSeen });
    inspected = await transferPackage(download, inspector, {
      s3: deps.s3,
      bucket: config.packagesBucket,
      key: objectKey,
      upload: { partBytes: config.uploadPartBytes, queueSize: config.uploadQueueSize },
      maxBytes: config.maxPackageBytes,
      signal: deps.signal,
    });
  } catch (error) {
    // An earlier attempt of this job that crashed after its upload left objects at these keys;
    // no record points to them (checked above), so they go with this failure — unless the job
    // has a new run, which owns the keys now.
    if (!(error instanceof TransferAbortedError)) await deleteUnlessRecorded();
    throw error;
  }
  const description = inspected.appDescription;
  const downloadMs = inspected.bodyEndedAt - started;
  log.info('package uploaded', {
    object_key: objectKey,
    package_size: inspected.size,
    format: inspected.format,
    download_ms: downloadMs,
    upload_ms: inspected.uploadedAt - started,
    app_desc: description?.path,
    app_version: description?.appVersion,
    spec_version: description?.specVersion,
  });
  if (deps.metrics) recordTransfer(deps.metrics, inspected, downloadMs, inspected.uploadedAt - started);

  let stored: Awaited<ReturnType<typeof writeVersion>>;
  let writing = false;
  try {
    if (request.sha256 && request.sha256 !== inspected.sha256) {
      throw new ChecksumMismatchError(request.sha256, inspected.sha256);
    }
    const resolved = resolveVersion(request.version, description, log);
    log = log.child({ version: resolved });
    checkAppCode(request.code, description, config.requireMatchingAppCode, log);
    // Noted before the record exists, so that a later run of this job can find the record.
    if (!request.version && deps.noteVersion && !(await deps.noteVersion(resolved))) throw new TransferAbortedError();
    version = resolved;
    // A version taken from the package was not read above: read what the overwrite may replace.
    if (request.allowOverwrite && resolved !== readAt) {
      previous = await getVersion(deps.dynamodb, config.versionsTable, { code: request.code, module: request.module, version: resolved });
    }
    const appDescription = description ? await storeAppDescription(deps.s3, config.packagesBucket, objectKey, description) : undefined;
    // The last moment to find out that another run has taken the job over (it uploads to the same
    // keys), or that this run cannot tell: either way it must not write.
    if (deps.stillOwner && !(await deps.stillOwner())) throw new TransferAbortedError();
    writing = true;
    stored = await writeVersion(
      deps.dynamodb,
      config.versionsTable,
      {
        code: request.code,
        module: request.module,
        version: resolved,
        packageName: packageNameFor(new URL(request.packageUrl), download.contentDisposition, inspected.format),
        packageSize: inspected.size,
        sha256: inspected.sha256,
        format: inspected.format,
        entryCount: inspected.archive.entryCount,
        uncompressedSize: inspected.archive.uncompressedBytes,
        objectKey,
        ...(appDescription ? { appDescription } : {}),
        requestId: request.requestId,
        operator: request.operator,
        updated: deps.now().toISOString(),
      },
      request.allowOverwrite,
    );
  } catch (error) {
    // DynamoDB may have committed the write and lost only the answer: then this run succeeded.
    const landed = writing && error instanceof StorageUnavailableError ? await recordNaming(objectKey) : undefined;
    if (landed && landed !== 'unknown' && landed.requestId === request.requestId) {
      log.warn('the version write was answered with an error but landed', { object_key: objectKey });
      // What it replaced, as the lost answer would have named it (its keys are its request's alone).
      await removeReplaced(previous && previous.objectKey !== landed.objectKey ? objectKeysOf(previous) : []);
      return landed;
    }
    // A lost race, wrong checksum, no version, S3 or DynamoDB down: this request's objects must
    // not outlive it (unless the job has a new run, which owns the keys now).
    await deleteUnlessRecorded(landed);
    throw error;
  }
  await removeReplaced(stored.replacedObjectKeys);
  return stored.record;

  async function removeReplaced(keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    log.info('removing replaced objects', { object_keys: keys });
    await deleteObjectsQuietly(deps.s3, config.packagesBucket, keys, log);
  }
}

function recordTransfer(metrics: Metrics, stored: TransferResult, downloadMs: number, uploadMs: number): void {
  bytes(metrics, METRIC.packageBytes, stored.size);
  milliseconds(metrics, METRIC.downloadDuration, downloadMs);
  if (downloadMs > 0) bytesPerSecond(metrics, METRIC.downloadThroughput, (stored.size * 1000) / downloadMs);
  milliseconds(metrics, METRIC.uploadDuration, uploadMs);
  count(metrics, METRIC.archiveEntries, stored.archive.entryCount);
}
