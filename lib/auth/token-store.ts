/**
 * The token table: one item per access token, keyed by the token's SHA-256 (the clear token is
 * never stored), with a `token_id` index for listing and revoking.
 */
import { GetItemCommand, PutItemCommand, QueryCommand, ScanCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { generateAccessToken, generateTokenId, sha256Hex } from './access-token';
import { conditionalWrite, dynamoCall as call, itemReader, toAttributes, type Item } from '../core/dynamodb-calls';

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

/** The tokens table's one mapping: a token's item, and back (a missing or mistyped attribute is refused loudly). */
function toItem(digest: string, record: TokenRecord): Item {
  return toAttributes({
    token_sha256: digest,
    token_id: record.tokenId,
    principal: record.principal,
    apps: record.apps,
    created: record.created,
    expires: record.expires,
    revoked: record.revoked,
  });
}

function fromItem(item: Item): TokenRecord {
  const read = itemReader('tokens', item);
  return {
    tokenId: read.text('token_id'),
    principal: read.text('principal'),
    apps: read.texts('apps').filter(Boolean),
    created: read.text('created'),
    expires: read.optionalText('expires'),
    revoked: read.optionalBoolean('revoked') === true,
  };
}

function keyOf(digest: string): Item {
  return toAttributes({ token_sha256: digest });
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
    dynamodb.send(new GetItemCommand({ TableName: table, Key: keyOf(sha256Hex(token)), ConsistentRead: true })),
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
        ExpressionAttributeValues: toAttributes({ ':id': tokenId }),
      }),
    ),
  );
  const digest = Items[0] && itemReader('tokens', Items[0]).optionalText('token_sha256');
  if (!digest) return false;
  const update = await conditionalWrite(() =>
    dynamodb.send(
      new UpdateItemCommand({
        TableName: table,
        Key: keyOf(digest),
        UpdateExpression: 'SET revoked = :true',
        ConditionExpression: 'attribute_exists(token_sha256)',
        ExpressionAttributeValues: toAttributes({ ':true': true }),
      }),
    ),
  );
  return update.written;
}

export function isAllowedOn(record: Pick<TokenRecord, 'apps'>, code: string): boolean {
  return record.apps.includes(ALL_APPS) || record.apps.includes(code);
}
