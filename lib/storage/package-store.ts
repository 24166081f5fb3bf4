/**
 * Package objects in S3. Each request writes its own key, so concurrent requests never write
 * over each other's bytes; the version record decides which object counts. Beside a package,
 * under its key plus a suffix, live its parsed app description and logo.
 */
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListMultipartUploadsCommand,
  NoSuchKey,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { StorageUnavailableError } from '../core/errors';
import type { Logger } from '../core/logger';

export { uploadStream, type UploadSettings } from './multipart-upload';

/**
 * A request's package key: `packages/<code>/<module>/<request id>`. Not the version: a request
 * without one learns it from the archive, after the upload has started. (Versions written before
 * the version could come from the archive keep their `.../<version>/<request id>` keys; records name their objects.)
 */
export function objectKeyFor(code: string, module: string, requestId: string): string {
  const safeRequestId = requestId.replace(/[^A-Za-z0-9-]/g, '_');
  return `packages/${code}/${module}/${safeRequestId}`;
}

/** Where a package's parsed app description and logo go: beside it (request ids hold no dot). */
export function sidecarKeysFor(objectKey: string): { metaInfo: string; logo: string } {
  return { metaInfo: `${objectKey}.app_desc.json`, logo: `${objectKey}.logo.png` };
}

/** Every key a request may write: what its failure or a dead run of its job leaves to remove. */
export function requestKeysFor(objectKey: string): string[] {
  const sidecars = sidecarKeysFor(objectKey);
  return [objectKey, sidecars.metaInfo, sidecars.logo];
}

/** A small object in one PutObject. */
export async function putObject(s3: S3Client, bucket: string, key: string, body: Buffer | string, contentType: string): Promise<void> {
  try {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType }));
  } catch (error) {
    throw new StorageUnavailableError('S3', error);
  }
}

/** A small object's bytes; undefined when it does not exist. */
export async function getObjectBytes(s3: S3Client, bucket: string, key: string): Promise<Buffer | undefined> {
  try {
    const { Body } = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return Body ? Buffer.from(await Body.transformToByteArray()) : Buffer.alloc(0);
  } catch (error) {
    if (error instanceof NoSuchKey || (error as Error).name === 'NoSuchKey') return undefined;
    throw new StorageUnavailableError('S3', error);
  }
}

export async function deleteObject(s3: S3Client, bucket: string, key: string): Promise<void> {
  try {
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  } catch (error) {
    throw new StorageUnavailableError('S3', error);
  }
}

/**
 * A GET URL for the object, signed (locally, no call to S3) to work for `expiresInSeconds` from
 * `signedAt`, that makes a browser save it as `fileName`. On Lambda the role's credentials sign
 * it, so it also stops working when they expire, which may be sooner.
 */
export async function presignDownload(
  s3: S3Client,
  bucket: string,
  key: string,
  fileName: string,
  expiresInSeconds: number,
  signedAt: Date,
): Promise<string> {
  try {
    return await getSignedUrl(
      s3,
      // package_name is sanitised to [A-Za-z0-9._+-]: nothing in it needs quoting.
      new GetObjectCommand({ Bucket: bucket, Key: key, ResponseContentDisposition: `attachment; filename="${fileName}"` }),
      { expiresIn: expiresInSeconds, signingDate: signedAt },
    );
  } catch (error) {
    throw new StorageUnavailableError('S3', error);
  }
}

/** Deletes an object whose removal must not mask the failure being reported; logs if it fails. */
async function deleteObjectQuietly(s3: S3Client, bucket: string, key: string, log: Logger): Promise<void> {
  try {
    await deleteObject(s3, bucket, key);
  } catch (error) {
    log.error('could not delete object; it is orphaned until removed by hand', { bucket, object_key: key, error });
  }
}

/** `deleteObjectQuietly` for each key, in order (deleting a key that does not exist succeeds). */
export async function deleteObjectsQuietly(s3: S3Client, bucket: string, keys: readonly string[], log: Logger): Promise<void> {
  for (const key of keys) await deleteObjectQuietly(s3, bucket, key, log);
}

/**
 * Aborts the multipart uploads in progress at `key`: what a run that died (killed, timed out)
 * left of its upload. The bucket's lifecycle rule would abort them a day later; a retry of the
 * job, or the job's end, does it at once. Answers how many were aborted; logs, never throws.
 */
export async function abortUploadsAt(s3: S3Client, bucket: string, key: string, log: Logger): Promise<number> {
  try {
    const { Uploads = [] } = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: key }));
    const stale = Uploads.filter((upload) => upload.Key === key && upload.UploadId);
    for (const upload of stale) await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: upload.UploadId }));
    if (stale.length > 0) log.info('aborted the upload an earlier run left', { object_key: key, uploads: stale.length });
    return stale.length;
  } catch (error) {
    log.warn('could not abort an earlier run\'s upload; the bucket lifecycle rule will', { object_key: key, error });
    return 0;
  }
}
