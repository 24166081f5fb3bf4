/**
 * The token table: one item per access token, keyed by the token's SHA-256 (the clear token is
 * never stored), with a `token_id` index for listing and revoking.
 */
import {
  ConditionalCheckFailedException,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { generateAccessToken, generateTokenId, sha256Hex } from './access-token';
import { StorageUnavailableError } from '../core/errors';

export const TOKEN_ID_INDEX = 'by_token_id';
export const ALL_APPS = '*';

export interface TokenRecord {
  tokenId: string;
  principal: string;
  /** Application codes the token may act on, or ['*'] for all. */
  apps: string[];
  /** ISO-8601 instants. */
  created: string;
  expires: string | undefined;
  revoked: boolean;
}

type Item = Record<string, AttributeValue>;

function toItem(digest: string, record: TokenRecord): Item {
  return {
    token_sha256: { S: digest },
    token_id: { S: record.tokenId },
    principal: { S: record.principal },
    apps: { L: record.apps.map((app) => ({ S: app })) },
    created: { S: record.created },
    ...(record.expires ? { expires: { S: record.expires } } : {}),
    revoked: { BOOL: record.revoked },
  };
}

function fromItem(item: Item): TokenRecord {
  return {
    tokenId: item.token_id?.S ?? '',
    principal: item.principal?.S ?? '',
    apps: (item.apps?.L ?? []).map((app) => app.S ?? '').filter(Boolean),
    created: item.created?.S ?? '',
    expires: item.expires?.S,
    revoked: item.revoked?.BOOL === true,
  };
}

async function call<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw new StorageUnavailableError('DynamoDB', error);
  }
}

export interface NewToken {
  principal: string;
  apps: string[];
  ttlMs?: number;
  /** A chosen secret (the local stack's LOCAL_ACCESS_TOKEN); generated when absent. */
  token?: string;
  tokenId?: string;
}

/** Stores a new token and returns its secret, which is shown once and never kept. */
export async function createToken(
  dynamodb: DynamoDBClient,
  table: string,
  request: NewToken,
  now: Date = new Date(),
): Promise<{ token: string; record: TokenRecord }> {
  const token = request.token ?? generateAccessToken();
  const record: TokenRecord = {
    tokenId: request.tokenId ?? generateTokenId(),
    principal: request.principal,
    apps: request.apps,
    created: now.toISOString(),
    expires: request.ttlMs === undefined ? undefined : new Date(now.getTime() + request.ttlMs).toISOString(),
    revoked: false,
  };
  await call(() =>
    dynamodb.send(new PutItemCommand({ TableName: table, Item: toItem(sha256Hex(token), record) })),
  );
  return { token, record };
}

export async function findToken(dynamodb: DynamoDBClient, table: string, token: string): Promise<TokenRecord | undefined> {
  const { Item } = await call(() =>
    // Consistent: a token created a moment ago must not be refused (and the refusal cached by API Gateway).
    dynamodb.send(new GetItemCommand({ TableName: table, Key: { token_sha256: { S: sha256Hex(token) } }, ConsistentRead: true })),
  );
  return Item ? fromItem(Item) : undefined;
}

export async function listTokens(dynamodb: DynamoDBClient, table: string): Promise<TokenRecord[]> {
  const records: TokenRecord[] = [];
  let start: Item | undefined;
  do {
    const page = await call(() =>
      dynamodb.send(
        new ScanCommand({
          TableName: table,
          // Never the digest: listings show handles, not key material.
          ProjectionExpression: '#id, #principal, #apps, #created, #expires, #revoked',
          ExpressionAttributeNames: {
            '#id': 'token_id',
            '#principal': 'principal',
            '#apps': 'apps',
            '#created': 'created',
            '#expires': 'expires',
            '#revoked': 'revoked',
          },
          ExclusiveStartKey: start,
        }),
      ),
    );
    records.push(...(page.Items ?? []).map(fromItem));
    start = page.LastEvaluatedKey;
  } while (start);
  return records.sort((a, b) => a.created.localeCompare(b.created));
}

/** Marks the token revoked; false when no token has that id. */
export async function revokeToken(dynamodb: DynamoDBClient, table: string, tokenId: string): Promise<boolean> {
  const { Items = [] } = await call(() =>
    dynamodb.send(
      new QueryCommand({
        TableName: table,
        IndexName: TOKEN_ID_INDEX,
        KeyConditionExpression: 'token_id = :id',
        ExpressionAttributeValues: { ':id': { S: tokenId } },
      }),
    ),
  );
  const digest = Items[0]?.token_sha256?.S;
  if (!digest) return false;
  try {
    await dynamodb.send(
      new UpdateItemCommand({
        TableName: table,
        Key: { token_sha256: { S: digest } },
        UpdateExpression: 'SET revoked = :true',
        ConditionExpression: 'attribute_exists(token_sha256)',
        ExpressionAttributeValues: { ':true': { BOOL: true } },
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException || (error as Error).name === 'ConditionalCheckFailedException') return false;
    throw new StorageUnavailableError('DynamoDB', error);
  }
}

export function isAllowedOn(record: Pick<TokenRecord, 'apps'>, code: string): boolean {
  return record.apps.includes(ALL_APPS) || record.apps.includes(code);
}
