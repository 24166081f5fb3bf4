/**
 * Version records in DynamoDB: one item per (application code, module, version).
 * Partition key `module_key` = "code/module", sort key `version`.
 *
 * The write is a single-item conditional UpdateItem (dynalite has no transactions:
 * docs/design.md#dependencies-and-why):
 * - create: succeeds only if the version is absent, or was written by this same request (a
 *   retried event must reach the same outcome, invariant 6);
 * - overwrite: always succeeds; `created` keeps its first value through `if_not_exists`.
 * ReturnValues ALL_OLD names the object the write replaced, so the caller can delete it.
 *
 * Listing reads the `by_module_updated` index (module_key, updated), newest first; deleting is
 * one DeleteItem whose ALL_OLD names the object to delete after it.
 */
import { DeleteItemCommand, GetItemCommand, PutItemCommand, QueryCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SpecVersion } from '../archive/app-description';
import { conditionalWrite, dynamoCall, itemReader, toAttributes, type Item } from '../core/dynamodb-calls';
import { PackageAlreadyExistsError } from '../core/errors';
import type { PackageFormat } from '../archive/archive-listing';
import { objectKeysOf, type PackageRecord, type StoredAppDescription } from './package-record';
import { countMatching } from './query-count';

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
  return toAttributes({ module_key: moduleKeyOf({ code, module }), version });
}

/** The app description's attributes, each optional; names and types as the item stores them. */
const DESCRIPTION_ATTRIBUTES = ['app_desc_path', 'relative_path', 'spec_version', 'app_code', 'app_version', 'meta_info_key', 'logo_key'] as const;

type DescriptionValues = Partial<Record<(typeof DESCRIPTION_ATTRIBUTES)[number], string | number>>;

function descriptionOf(read: ReturnType<typeof itemReader>): StoredAppDescription | undefined {
  const path = read.optionalText('app_desc_path');
  const metaInfoKey = read.optionalText('meta_info_key');
  if (path === undefined || metaInfoKey === undefined) return undefined;
  return {
    path,
    relativePath: read.optionalText('relative_path') ?? './',
    specVersion: read.optionalNumber('spec_version') as SpecVersion | undefined,
    appCode: read.optionalText('app_code'),
    appVersion: read.optionalText('app_version'),
    metaInfoKey,
    logoKey: read.optionalText('logo_key'),
  };
}

function descriptionValues(description: StoredAppDescription | undefined): DescriptionValues {
  if (!description) return {};
  const values: DescriptionValues = {
    app_desc_path: description.path,
    relative_path: description.relativePath,
    meta_info_key: description.metaInfoKey,
    spec_version: description.specVersion,
    app_code: description.appCode,
    app_version: description.appVersion,
    logo_key: description.logoKey,
  };
  return Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined));
}

/** The versions table's one mapping from an item: a missing or mistyped attribute is refused loudly. */
function fromItem(item: Item): PackageRecord {
  const read = itemReader('versions', item);
  const [code = '', module = ''] = read.text('module_key').split('/');
  const appDescription = descriptionOf(read);
  return {
    code,
    module,
    version: read.text('version'),
    packageName: read.text('package_name'),
    packageSize: read.number('package_size'),
    sha256: read.text('sha256'),
    format: read.text('format') as PackageFormat,
    entryCount: read.optionalNumber('entry_count') ?? 0,
    uncompressedSize: read.optionalNumber('uncompressed_size') ?? 0,
    objectKey: read.text('object_key'),
    ...(appDescription ? { appDescription } : {}),
    requestId: read.text('request_id'),
    operator: read.optionalText('operator') ?? 'unknown',
    created: read.text('created'),
    updated: read.text('updated'),
  };
}

export async function getVersion(
  dynamodb: DynamoDBClient,
  table: string,
  key: VersionKey,
): Promise<PackageRecord | undefined> {
  const { Item } = await dynamoCall(() => dynamodb.send(new GetItemCommand({ TableName: table, Key: keyOf(key), ConsistentRead: true })));
  return Item ? fromItem(Item) : undefined;
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
  const write = await conditionalWrite(() =>
    dynamodb.send(
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
        ExpressionAttributeValues: toAttributes({
          ':name': record.packageName,
          ':size': record.packageSize,
          ':sha': record.sha256,
          ':format': record.format,
          ':entries': record.entryCount,
          ':uncompressed': record.uncompressedSize,
          ':key': record.objectKey,
          ':rid': record.requestId,
          ':operator': record.operator,
          ':now': record.updated,
          ...Object.fromEntries(Object.entries(described).map(([name, value]) => [`:${name}`, value])),
        }),
        ReturnValues: 'ALL_OLD',
      }),
    ),
  );
  if (!write.written) throw new PackageAlreadyExistsError(record.version);
  const previous = write.output.Attributes;
  const created = (previous && itemReader('versions', previous).optionalText('created')) ?? record.updated;
  const kept = new Set(objectKeysOf(record));
  return {
    record: { ...record, created },
    replacedObjectKeys: previousObjectKeys(previous).filter((key) => !kept.has(key)),
  };
}

/** The objects an item (as ALL_OLD returns it) points to. */
function previousObjectKeys(previous: Item | undefined): string[] {
  if (!previous) return [];
  const read = itemReader('versions', previous);
  const objectKey = read.optionalText('object_key');
  if (objectKey === undefined) return [];
  return objectKeysOf({ objectKey, appDescription: descriptionOf(read) });
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
  const result = await dynamoCall(() =>
    dynamodb.send(
      new QueryCommand({
        TableName: table,
        ...moduleQuery(module),
        ScanIndexForward: false,
        Limit: page.limit + 1,
        ...(page.after
          ? { ExclusiveStartKey: toAttributes({ module_key: moduleKeyOf(module), version: page.after.version, updated: page.after.updated }) }
          : {}),
      }),
    ),
  );
  const items = result.Items ?? [];
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
    ExpressionAttributeValues: toAttributes({ ':k': moduleKeyOf(module) }),
  };
}

/** How many versions `module` holds (null: more than a listing may afford to count). */
export async function countVersions(dynamodb: DynamoDBClient, table: string, module: ModuleKey): Promise<number | null> {
  return dynamoCall(() => countMatching(dynamodb, { TableName: table, ...moduleQuery(module) }));
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
  const { Attributes: previous } = await dynamoCall(() =>
    dynamodb.send(new DeleteItemCommand({ TableName: table, Key: keyOf(key), ReturnValues: 'ALL_OLD' })),
  );
  return previous ? { objectKeys: previousObjectKeys(previous), previous } : undefined;
}

/**
 * Puts back a record whose object could not be deleted, unless the version was written again
 * meanwhile: then the record and its object stay paired, and a retried delete finds them.
 */
export async function restoreVersion(dynamodb: DynamoDBClient, table: string, previous: Item): Promise<boolean> {
  const put = await conditionalWrite(() =>
    dynamodb.send(new PutItemCommand({ TableName: table, Item: previous, ConditionExpression: 'attribute_not_exists(version)' })),
  );
  return put.written;
}
