/**
 * A package's parsed app description and logo in S3, beside the package, so the read routes serve it without the archive. A DynamoDB
 * item holds at most 400 KB; a 1 MiB description parsed, or a 1 MiB logo, does not fit, and
 * one place for both sizes keeps one path to test. The record keeps the small fields (spec and
 * app version for the list) and names these objects; they are written before the record and
 * removed with the package on every path (loser, replaced, failed, abandoned, deleted).
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { AppDescription } from '../archive/app-description';
import type { Logger } from '../core/logger';
import type { StoredAppDescription } from './package-record';
import { getObjectBytes, putObject, sidecarKeysFor } from './package-store';

export async function storeAppDescription(
  s3: S3Client,
  bucket: string,
  objectKey: string,
  description: AppDescription,
): Promise<StoredAppDescription> {
  const keys = sidecarKeysFor(objectKey);
  await putObject(s3, bucket, keys.metaInfo, description.metaInfoJson, 'application/json');
  if (description.logo) await putObject(s3, bucket, keys.logo, description.logo, 'image/png');
  return {
    path: description.path,
    relativePath: description.relativePath,
    specVersion: description.specVersion,
    appCode: description.appCode,
    appVersion: description.appVersion,
    metaInfoKey: keys.metaInfo,
    logoKey: description.logo ? keys.logo : undefined,
  };
}

/**
 * The parsed document; undefined (and logged) when its object is missing, which only an
 * interrupted delete leaves (the record is put back for a retried delete to finish).
 */
export async function readMetaInfo(s3: S3Client, bucket: string, stored: StoredAppDescription, log: Logger): Promise<Record<string, unknown> | undefined> {
  const bytes = await getObjectBytes(s3, bucket, stored.metaInfoKey);
  if (bytes === undefined) {
    log.error('the app description object a record names is missing', { object_key: stored.metaInfoKey });
    return undefined;
  }
  return JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
}

/** The logo as the platform serves it in meta_info: `base64,` and the PNG in base64. */
export async function readLogoB64(s3: S3Client, bucket: string, stored: StoredAppDescription, log: Logger): Promise<string | null> {
  if (!stored.logoKey) return null;
  const bytes = await getObjectBytes(s3, bucket, stored.logoKey);
  if (bytes === undefined) {
    log.error('the logo object a record names is missing', { object_key: stored.logoKey });
    return null;
  }
  return `base64,${bytes.toString('base64')}`;
}
