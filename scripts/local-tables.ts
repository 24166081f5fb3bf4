/**
 * The tables the local stack creates: the same key schemas as serverless.yml's VersionsTable and
 * TokensTable (test/integration/local-aws/serverless-template.test.ts fails if the two drift apart).
 */
import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import { TOKEN_ID_INDEX } from '../lib/auth/token-store';
import { VERSIONS_BY_UPDATED_INDEX } from '../lib/storage/version-records';

export function versionsTableSpec(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: 'module_key', AttributeType: 'S' },
      { AttributeName: 'version', AttributeType: 'S' },
      { AttributeName: 'updated', AttributeType: 'S' },
    ],
    KeySchema: [
      { AttributeName: 'module_key', KeyType: 'HASH' },
      { AttributeName: 'version', KeyType: 'RANGE' },
    ],
    GlobalSecondaryIndexes: [
      {
        IndexName: VERSIONS_BY_UPDATED_INDEX,
        KeySchema: [
          { AttributeName: 'module_key', KeyType: 'HASH' },
          { AttributeName: 'updated', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      },
    ],
  };
}

export function jobsTableSpec(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [{ AttributeName: 'job_id', AttributeType: 'S' }],
    KeySchema: [{ AttributeName: 'job_id', KeyType: 'HASH' }],
  };
}

export function tokensTableSpec(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: 'token_sha256', AttributeType: 'S' },
      { AttributeName: 'token_id', AttributeType: 'S' },
    ],
    KeySchema: [{ AttributeName: 'token_sha256', KeyType: 'HASH' }],
    GlobalSecondaryIndexes: [
      {
        IndexName: TOKEN_ID_INDEX,
        KeySchema: [{ AttributeName: 'token_id', KeyType: 'HASH' }],
        Projection: { ProjectionType: 'KEYS_ONLY' },
      },
    ],
  };
}
