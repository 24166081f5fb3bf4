/**
 * A registered version as the service keeps it, and its public answer shape (docs/api.md#answers).
 */
import type { SpecVersion } from '../archive/app-description';
import type { PackageFormat } from '../archive/archive-listing';

/**
 * What the version record keeps of the package's app description. The parsed
 * document and the logo can be far larger than a DynamoDB item (400 KB), so they live in S3
 * beside the package, under keys the record names.
 */
export interface StoredAppDescription {
  /** The entry's name in the archive. */
  path: string;
  relativePath: string;
  specVersion: SpecVersion | undefined;
  appCode: string | undefined;
  appVersion: string | undefined;
  /** The parsed document as JSON. */
  metaInfoKey: string;
  /** The logo's PNG bytes, when the package has one. */
  logoKey: string | undefined;
}

export interface PackageRecord {
  code: string;
  module: string;
  version: string;
  packageName: string;
  packageSize: number;
  sha256: string;
  format: PackageFormat;
  /** Entries listed in the archive (files, directories, links) and their uncompressed bytes. */
  entryCount: number;
  uncompressedSize: number;
  objectKey: string;
  /** Absent for a package without an app description (and for versions written before descriptions were kept). */
  appDescription?: StoredAppDescription;
  requestId: string;
  /** The principal whose token registered this version, as the original platform records it. */
  operator: string;
  /** ISO-8601 UTC instants. */
  created: string;
  updated: string;
}


/** Every S3 object a record points to: the package, then what lives beside it. */
export function objectKeysOf(record: Pick<PackageRecord, 'objectKey' | 'appDescription'>): string[] {
  const description = record.appDescription;
  return [record.objectKey, ...(description ? [description.metaInfoKey, ...(description.logoKey ? [description.logoKey] : [])] : [])];
}

/** The six fields the original API answers with, in its order and types. */
export interface PackageResponse {
  version: string;
  package_name: string;
  package_size: string;
  sha256_signature: string;
  updated: string;
  created: string;
}

/** `YYYY-MM-DD HH:MM:SS` in UTC, the original API's time format. */
export function formatApiTime(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) throw new RangeError(`Not a time: ${iso}`);
  return date.toISOString().slice(0, 19).replace('T', ' ');
}

export function toPackageResponse(record: PackageRecord): PackageResponse {
  return {
    version: record.version,
    package_name: record.packageName,
    package_size: String(record.packageSize),
    sha256_signature: record.sha256,
    updated: formatApiTime(record.updated),
    created: formatApiTime(record.created),
  };
}
