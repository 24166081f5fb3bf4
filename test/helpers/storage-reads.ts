/**
 * Plain reads of what a table and bucket hold, for the invariant checks (test/helpers/storage.ts)
 * and the benchmark's race (bench/race), without vitest.
 */
import { QueryCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';

/** What the invariant checks read: any table and bucket, the test's own or the local stack's. */
export interface StorageView {
  s3: S3Client;
  dynamodb: DynamoDBClient;
  table: string;
  tokensTable: string;
  jobsTable: string;
  bucket: string;
}

export interface StoredRecord {
  version: string;
  package_name: string;
  package_size: number;
  sha256: string;
  object_key: string;
  /** The objects beside the package: its parsed app description and logo. */
  meta_info_key?: string;
  logo_key?: string;
  app_version?: string;
  spec_version?: number;
  relative_path?: string;
  created: string;
  updated: string;
  operator: string;
}

export async function recordsOf(storage: StorageView, code: string, module: string): Promise<StoredRecord[]> {
  const { Items = [] } = await storage.dynamodb.send(
    new QueryCommand({
      TableName: storage.table,
      KeyConditionExpression: 'module_key = :k',
      ExpressionAttributeValues: { ':k': { S: `${code}/${module}` } },
      ConsistentRead: true,
    }),
  );
  return Items.map((item) => ({
    version: item.version?.S ?? '',
    package_name: item.package_name?.S ?? '',
    package_size: Number(item.package_size?.N),
    sha256: item.sha256?.S ?? '',
    object_key: item.object_key?.S ?? '',
    ...(item.meta_info_key?.S ? { meta_info_key: item.meta_info_key.S } : {}),
    ...(item.logo_key?.S ? { logo_key: item.logo_key.S } : {}),
    ...(item.app_version?.S ? { app_version: item.app_version.S } : {}),
    ...(item.spec_version?.N ? { spec_version: Number(item.spec_version.N) } : {}),
    ...(item.relative_path?.S ? { relative_path: item.relative_path.S } : {}),
    created: item.created?.S ?? '',
    updated: item.updated?.S ?? '',
    operator: item.operator?.S ?? '',
  }));
}

/** Every object a record points to: its package, and what lives beside it. */
export function keysOfRecord(record: StoredRecord): string[] {
  return [record.object_key, ...(record.meta_info_key ? [record.meta_info_key] : []), ...(record.logo_key ? [record.logo_key] : [])];
}

export async function objectKeysOf(storage: StorageView, code: string, module: string): Promise<string[]> {
  const { Contents = [] } = await storage.s3.send(
    new ListObjectsV2Command({ Bucket: storage.bucket, Prefix: `packages/${code}/${module}/` }),
  );
  return Contents.map((object) => object.Key ?? '').sort();
}

export async function objectBytes(storage: StorageView, key: string): Promise<Buffer> {
  const { Body } = await storage.s3.send(new GetObjectCommand({ Bucket: storage.bucket, Key: key }));
  if (!Body) throw new Error(`no body for ${key}`);
  return Buffer.from(await Body.transformToByteArray());
}

export async function multipartUploadsInProgress(storage: StorageView): Promise<number> {
  const { Uploads = [] } = await storage.s3.send(new ListMultipartUploadsCommand({ Bucket: storage.bucket }));
  return Uploads.length;
}

