/**
 * The worker's job (DESIGN §4): guarded download → one inspecting pass → S3 multipart upload
 * at a key unique to this request → conditional version write → remove whichever object lost.
 * Whatever fails, no object is left that no record points to (invariant 3).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import { pipeline } from 'node:stream/promises';
import type { Config } from './config';
import type { Readable } from 'node:stream';
import { asDownloadError, openDownload, type Download, type Network } from './download-guard';
import { ChecksumMismatchError, PackageAlreadyExistsError, StorageUnavailableError } from './errors';
import type { Logger } from './logger';
import { PackageInspector, type InspectionResult } from './package-inspector';
import { packageNameFor } from './package-name';
import type { PackageRecord } from './package-record';
import { deleteObjectQuietly, objectKeyFor, uploadStream } from './package-store';
import { getVersion, writeVersion } from './version-records';
import type { LinkRequest } from './link-request';

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
}

export interface RegisterRequest extends LinkRequest {
  requestId: string;
  /** Who asked (the token's principal), recorded as the version's operator. */
  operator: string;
}

export async function registerPackage(request: RegisterRequest, deps: RegisterDeps): Promise<PackageRecord> {
  const { config, log } = deps;
  const key = { code: request.code, module: request.module, version: request.version };

  const existing = await getVersion(deps.dynamodb, config.versionsTable, key);
  // The same job seen again (a retried event) gets its recorded outcome without a download —
  // also when overwriting: another upload would land on the object its own record points to.
  if (existing?.requestId === request.requestId) return existing;
  if (existing && !request.allowOverwrite) throw new PackageAlreadyExistsError(request.version);

  const objectKey = objectKeyFor(request.code, request.module, request.version, request.requestId);
  const limits = { maxEntries: config.maxArchiveEntries, maxUncompressedBytes: config.maxUncompressedBytes };
  let download: Download;
  let inspected: InspectionResult;
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
    const inspector = new PackageInspector(config.maxPackageBytes, download.contentLength, limits);
    inspected = await streamToS3(download.body, inspector, objectKey, deps);
  } catch (error) {
    // An earlier attempt of this job that crashed after its upload left an object at this key;
    // no record points to it (checked above), so it goes with this failure.
    await deleteObjectQuietly(deps.s3, config.packagesBucket, objectKey, log);
    throw error;
  }
  log.info('package uploaded', { object_key: objectKey, package_size: inspected.size, format: inspected.format });

  let stored: Awaited<ReturnType<typeof writeVersion>>;
  try {
    if (request.sha256 && request.sha256 !== inspected.sha256) {
      throw new ChecksumMismatchError(request.sha256, inspected.sha256);
    }
    stored = await writeVersion(
      deps.dynamodb,
      config.versionsTable,
      {
        ...key,
        packageName: packageNameFor(new URL(request.packageUrl), download.contentDisposition, inspected.format),
        packageSize: inspected.size,
        sha256: inspected.sha256,
        format: inspected.format,
        entryCount: inspected.archive.entryCount,
        uncompressedSize: inspected.archive.uncompressedBytes,
        objectKey,
        requestId: request.requestId,
        operator: request.operator,
        updated: deps.now().toISOString(),
      },
      request.allowOverwrite,
    );
  } catch (error) {
    // A lost race, wrong checksum or DynamoDB down: this request's object must not outlive it.
    await deleteObjectQuietly(deps.s3, config.packagesBucket, objectKey, log);
    throw error;
  }

  if (stored.replacedObjectKey) {
    log.info('removing replaced object', { object_key: stored.replacedObjectKey });
    await deleteObjectQuietly(deps.s3, config.packagesBucket, stored.replacedObjectKey, log);
  }
  return stored.record;
}

/**
 * Pipes the download through the inspector into S3. The first failure of the download or the
 * inspection is the one reported (the upload only sees it as a broken body); an upload that
 * completed before an error was noticed is deleted.
 */
async function streamToS3(
  body: Readable,
  inspector: PackageInspector,
  objectKey: string,
  deps: RegisterDeps,
): Promise<InspectionResult> {
  let sourceError: unknown;
  const remember = (error: unknown): void => {
    sourceError ??= error;
  };
  body.once('error', remember);
  inspector.once('error', remember);
  const piped = pipeline(body, inspector).catch(remember);
  try {
    await uploadStream(deps.s3, deps.config.packagesBucket, objectKey, inspector, {
      partBytes: deps.config.uploadPartBytes,
      queueSize: deps.config.uploadQueueSize,
    });
  } catch (error) {
    const cause = sourceError;
    body.destroy();
    await piped;
    throw cause === undefined ? new StorageUnavailableError('S3', error) : asDownloadError(cause);
  }
  await piped;
  if (sourceError !== undefined) {
    await deleteObjectQuietly(deps.s3, deps.config.packagesBucket, objectKey, deps.log);
    throw asDownloadError(sourceError);
  }
  return inspector.result();
}
