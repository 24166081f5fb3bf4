/**
 * Version records in DynamoDB: one item per (application code, module, version).
 * Partition key `module_key` = "code/module", sort key `version`.
 *
 * The write is a single-item conditional UpdateItem (dynalite has no transactions, DESIGN §6):
 * - create: succeeds only if the version is absent, or was written by this same request (a
 *   retried event must reach the same outcome, invariant 6);
 * - overwrite: always succeeds; `created` keeps its first value through `if_not_exists`.
 * ReturnValues ALL_OLD names the object the write replaced, so the caller can delete it.
 *
 * Listing reads the `by_module_updated` index (module_key, updated), newest first; deleting is
 * one DeleteItem whose ALL_OLD names the object to delete after it.
 */
import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import type { SpecVersion } from '../archive/app-description';
import { PackageAlreadyExistsError, StorageUnavailableError } from '../core/errors';
import type { PackageFormat } from '../archive/archive-listing';
import { objectKeysOf, type PackageRecord, type StoredAppDescription } from './package-record';
import { countMatching } from './query-count';

type Item = Record<string, AttributeValue>;

/** A module's versions, most recently written first. */
export const VERSIONS_BY_UPDATED_INDEX = 'by_module_updated';

export interface VersionKey {
  code: string;
  module: string;
  version: string;
}

export interface WriteOutcome {
  record: PackageRecord;
  /** The objects the previous record pointed to that this record does not. */
  replacedObjectKeys: string[];
}

export interface ModuleKey {
  code: string;
  module: string;
}

/** Where a page of the listing ended: the index's key of its last record. */
export interface ListPosition extends VersionKey {
  updated: string;
}

export interface VersionPage {
  records: PackageRecord[];
  /** Where the next page starts; undefined when this page is the last. */
  next: ListPosition | undefined;
}

function moduleKeyOf({ code, module }: ModuleKey): string {
  return `${code}/${module}`;
}

function keyOf({ code, module, version }: VersionKey): Item {
  return { module_key: { S: moduleKeyOf({ code, module }) }, version: { S: version } };
}

function text(item: Item, name: string): string {
  const value = item[name]?.S;
  if (value === undefined) throw new Error(`Version record is missing ${name}`);
  return value;
}

/** The app description's attributes, each optional; names and types as the item stores them. */
const DESCRIPTION_ATTRIBUTES = ['app_desc_path', 'relative_path', 'spec_version', 'app_code', 'app_version', 'meta_info_key', 'logo_key'] as const;

function descriptionOf(item: Item): StoredAppDescription | undefined {
  const path = item.app_desc_path?.S;
  const metaInfoKey = item.meta_info_key?.S;
  if (path === undefined || metaInfoKey === undefined) return undefined;
  const spec = item.spec_version?.N;
  return {
    path,
    relativePath: item.relative_path?.S ?? './',
    specVersion: spec === undefined ? undefined : (Number(spec) as SpecVersion),
    appCode: item.app_code?.S,
    appVersion: item.app_version?.S,
    metaInfoKey,
    logoKey: item.logo_key?.S,
  };
}

function descriptionValues(description: StoredAppDescription | undefined): Partial<Record<(typeof DESCRIPTION_ATTRIBUTES)[number], AttributeValue>> {
  if (!description) return {};
  const values: Partial<Record<(typeof DESCRIPTION_ATTRIBUTES)[number], AttributeValue>> = {
    app_desc_path: { S: description.path },
    relative_path: { S: description.relativePath },
    meta_info_key: { S: description.metaInfoKey },
  };
  if (description.specVersion !== undefined) values.spec_version = { N: String(description.specVersion) };
  if (description.appCode !== undefined) values.app_code = { S: description.appCode };
  if (description.appVersion !== undefined) values.app_version = { S: description.appVersion };
  if (description.logoKey !== undefined) values.logo_key = { S: description.logoKey };
  return values;
}

function fromItem(item: Item): PackageRecord {
  const [code = '', module = ''] = text(item, 'module_key').split('/');
  const appDescription = descriptionOf(item);
  return {
    code,
    module,
    version: text(item, 'version'),
    packageName: text(item, 'package_name'),
    packageSize: Number(item.package_size?.N ?? Number.NaN),
    sha256: text(item, 'sha256'),
    format: text(item, 'format') as PackageFormat,
    entryCount: Number(item.entry_count?.N ?? 0),
    uncompressedSize: Number(item.uncompressed_size?.N ?? 0),
    objectKey: text(item, 'object_key'),
    ...(appDescription ? { appDescription } : {}),
    requestId: text(item, 'request_id'),
    operator: item.operator?.S ?? 'unknown',
    created: text(item, 'created'),
    updated: text(item, 'updated'),
  };
}

export async function getVersion(
  dynamodb: DynamoDBClient,
  table: string,
  key: VersionKey,
): Promise<PackageRecord | undefined> {
  try {
    const { Item } = await dynamodb.send(new GetItemCommand({ TableName: table, Key: keyOf(key), ConsistentRead: true }));
    return Item ? fromItem(Item) : undefined;
  } catch (error) {
    throw new StorageUnavailableError('DynamoDB', error);
  }
}

/**
 * Writes `record` (its `created` is ignored: the stored one wins) and returns what was stored.
 * The app description's attributes the record lacks are removed, so an overwrite never keeps
 * the previous package's.
 */
export async function writeVersion(
  dynamodb: DynamoDBClient,
  table: string,
  record: Omit<PackageRecord, 'created'>,
  allowOverwrite: boolean,
): Promise<WriteOutcome> {
  const described = descriptionValues(record.appDescription);
  const set = Object.keys(described).map((name) => `${name} = :${name}`);
  const removed = DESCRIPTION_ATTRIBUTES.filter((name) => !(name in described));
  let previous: Item | undefined;
  try {
    const result = await dynamodb.send(
      new UpdateItemCommand({
        TableName: table,
        Key: keyOf(record),
        UpdateExpression:
          'SET package_name = :name, package_size = :size, sha256 = :sha, #format = :format, ' +
          'entry_count = :entries, uncompressed_size = :uncompressed, ' +
          'object_key = :key, request_id = :rid, #operator = :operator, updated = :now, created = if_not_exists(created, :now)' +
          set.map((assignment) => `, ${assignment}`).join('') +
          (removed.length > 0 ? ` REMOVE ${removed.join(', ')}` : ''),
        ...(allowOverwrite ? {} : { ConditionExpression: 'attribute_not_exists(version) OR request_id = :rid' }),
        ExpressionAttributeNames: { '#format': 'format', '#operator': 'operator' },
        ExpressionAttributeValues: {
          ':name': { S: record.packageName },
          ':size': { N: String(record.packageSize) },
          ':sha': { S: record.sha256 },
          ':format': { S: record.format },
          ':entries': { N: String(record.entryCount) },
          ':uncompressed': { N: String(record.uncompressedSize) },
          ':key': { S: record.objectKey },
          ':rid': { S: record.requestId },
          ':operator': { S: record.operator },
          ':now': { S: record.updated },
          ...Object.fromEntries(Object.entries(described).map(([name, value]) => [`:${name}`, value])),
        },
        ReturnValues: 'ALL_OLD',
      }),
    );
    previous = result.Attributes;
  } catch (error) {
    // By name as well: a second copy of the SDK in a bundle would defeat instanceof.
    if (error instanceof ConditionalCheckFailedException || (error as Error).name === 'ConditionalCheckFailedException') {
      throw new PackageAlreadyExistsError(record.version);
    }
    throw new StorageUnavailableError('DynamoDB', error);
  }
  const created = previous?.created?.S ?? record.updated;
  const kept = new Set(objectKeysOf(record));
  return {
    record: { ...record, created },
    replacedObjectKeys: previousObjectKeys(previous).filter((key) => !kept.has(key)),
  };
}

/** The objects an item (as ALL_OLD returns it) points to. */
function previousObjectKeys(previous: Item | undefined): string[] {
  const objectKey = previous?.object_key?.S;
  if (!previous || objectKey === undefined) return [];
  return objectKeysOf({ objectKey, appDescription: descriptionOf(previous) });
}

/**
 * One page of a module's versions, most recently updated first, starting after `after`.
 * Reads one record more than `limit` to know whether another page follows, so the last page
 * never points at an empty one. The index is eventually consistent: a write a moment old may
 * be missing or in its previous place.
 */
export async function listVersions(
  dynamodb: DynamoDBClient,
  table: string,
  module: ModuleKey,
  page: { limit: number; after?: ListPosition },
): Promise<VersionPage> {
  let items: Item[];
  try {
    const result = await dynamodb.send(
      new QueryCommand({
        TableName: table,
        ...moduleQuery(module),
        ScanIndexForward: false,
        Limit: page.limit + 1,
        ...(page.after
          ? { ExclusiveStartKey: { ...keyOf({ ...module, version: page.after.version }), updated: { S: page.after.updated } } }
          : {}),
      }),
    );
    items = result.Items ?? [];
  } catch (error) {
    throw new StorageUnavailableError('DynamoDB', error);
  }
  const records = items.slice(0, page.limit).map(fromItem);
  const last = records.at(-1);
  return {
    records,
    next:
      items.length > page.limit && last
        ? { code: module.code, module: module.module, version: last.version, updated: last.updated }
        : undefined,
  };
}

/** The query of a module's versions on the index by update time: the listing's and the count's. */
function moduleQuery(module: ModuleKey) {
  return {
    IndexName: VERSIONS_BY_UPDATED_INDEX,
    KeyConditionExpression: 'module_key = :k',
    ExpressionAttributeValues: { ':k': { S: moduleKeyOf(module) } },
  };
}

/** How many versions `module` holds (null: more than a listing may afford to count). */
export async function countVersions(dynamodb: DynamoDBClient, table: string, module: ModuleKey): Promise<number | null> {
  try {
    return await countMatching(dynamodb, { TableName: table, ...moduleQuery(module) });
  } catch (error) {
    throw new StorageUnavailableError('DynamoDB', error);
  }
}

/**
 * Deletes the record; answers the object keys it held (to delete those objects next; the package
 * first in the list, then what lives beside it), or undefined when there was no record. Read straight from
 * ALL_OLD, so nothing can fail between the delete and naming the objects.
 */
export async function deleteVersion(
  dynamodb: DynamoDBClient,
  table: string,
  key: VersionKey,
): Promise<{ objectKeys: string[]; previous: Item } | undefined> {
  let previous: Item | undefined;
  try {
    const result = await dynamodb.send(new DeleteItemCommand({ TableName: table, Key: keyOf(key), ReturnValues: 'ALL_OLD' }));
    previous = result.Attributes;
  } catch (error) {
    throw new StorageUnavailableError('DynamoDB', error);
  }
  return previous ? { objectKeys: previousObjectKeys(previous), previous } : undefined;
}

/**
 * Puts back a record whose object could not be deleted, unless the version was written again
 * meanwhile: then the record and its object stay paired, and a retried delete finds them.
 */
export async function restoreVersion(dynamodb: DynamoDBClient, table: string, previous: Item): Promise<boolean> {
  try {
    await dynamodb.send(new PutItemCommand({ TableName: table, Item: previous, ConditionExpression: 'attribute_not_exists(version)' }));
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException || (error as Error).name === 'ConditionalCheckFailedException') return false;
    throw new StorageUnavailableError('DynamoDB', error);
  }
}
