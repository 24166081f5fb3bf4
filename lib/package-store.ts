/**
 * Package objects in S3. Each request writes its own key, so concurrent requests never write
 * over each other's bytes; the version record decides which object counts.
 */
import { AbortMultipartUploadCommand, DeleteObjectCommand, GetObjectCommand, ListMultipartUploadsCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { Readable } from 'node:stream';
import { StorageUnavailableError } from './errors';
import type { Logger } from './logger';

export interface UploadSettings {
  partBytes: number;
  queueSize: number;
}

export function objectKeyFor(code: string, module: string, version: string, requestId: string): string {
  const safeRequestId = requestId.replace(/[^A-Za-z0-9-]/g, '_');
  return `packages/${code}/${module}/${encodeURIComponent(version)}/${safeRequestId}`;
}

/**
 * Streams `body` to `key` with a multipart upload whose memory is bounded by
 * partBytes × queueSize. On failure the multipart upload is aborted (lib-storage's default,
 * leavePartsOnError=false) and the error is rethrown as it came.
 */
export async function uploadStream(
  s3: S3Client,
  bucket: string,
  key: string,
  body: Readable,
  settings: UploadSettings,
): Promise<void> {
  const upload = new Upload({
    client: s3,
    params: { Bucket: bucket, Key: key, Body: body, ContentType: 'application/octet-stream' },
    partSize: settings.partBytes,
    queueSize: settings.queueSize,
    leavePartsOnError: false,
  });
  await upload.done();
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
export async function deleteObjectQuietly(s3: S3Client, bucket: string, key: string, log: Logger): Promise<void> {
  try {
    await deleteObject(s3, bucket, key);
  } catch (error) {
    log.error('could not delete object; it is orphaned until removed by hand', { bucket, object_key: key, error });
  }
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
