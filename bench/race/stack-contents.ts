/**
 * What the local stack holds for one application module: its version records and its package
 * objects. (test/helpers/storage.ts has the same reads, but it imports vitest's `expect`.)
 */
import { QueryCommand } from '@aws-sdk/client-dynamodb';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { StorageView } from '../../test/helpers/storage';

export interface ModuleContents {
  recordObjectKeys: string[];
  objectKeys: string[];
}

export async function moduleContents(storage: StorageView, code: string, module: string): Promise<ModuleContents> {
  const { Items = [] } = await storage.dynamodb.send(
    new QueryCommand({
      TableName: storage.table,
      KeyConditionExpression: 'module_key = :k',
      ExpressionAttributeValues: { ':k': { S: `${code}/${module}` } },
      ConsistentRead: true,
    }),
  );
  const { Contents = [] } = await storage.s3.send(
    new ListObjectsV2Command({ Bucket: storage.bucket, Prefix: `packages/${code}/${module}/` }),
  );
  return {
    recordObjectKeys: Items.map((item) => item.object_key?.S ?? '').sort(),
    objectKeys: Contents.map((object) => object.Key ?? '').sort(),
  };
}
