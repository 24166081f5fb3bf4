/**
 * Access-token administration: `npm run token -- create|list|revoke`.
 *
 *   npm run token -- create --principal NAME --apps code1,code2|* [--ttl 30d]
 *   npm run token -- list
 *   npm run token -- revoke ID
 *
 * The same configuration reaches the local stack and AWS: `--stage` (or STAGE, default
 * `local`) names the table `bkpaas-source-package-link-<stage>-tokens` (TOKENS_TABLE overrides);
 * the local stage talks to the local DynamoDB (DYNAMODB_ENDPOINT, or 127.0.0.1:DYNAMODB_PORT),
 * other stages use the AWS SDK's usual credentials in the region a deploy of the stage takes
 * (--region, else AWS_REGION from the shell or `.env.<stage>`, else us-east-1).
 */
import { parseArgs } from 'node:util';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createDynamoDbClient } from '../lib/core/aws-clients';
import { ALL_APPS, createToken, listTokens, revokeToken } from '../lib/auth/token-store';
import { explainFailure, type CallTarget } from './aws-failure';
import { regionFor } from './deploy/settings';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from './local-emulators';

const USAGE = `usage:
  npm run token -- create --principal NAME --apps code1,code2|* [--ttl 30d] [--stage STAGE] [--region REGION]
  npm run token -- list [--stage STAGE] [--region REGION]
  npm run token -- revoke TOKEN_ID [--stage STAGE] [--region REGION]`;

const APP_CODE = /^[a-z0-9][a-z0-9-]{0,31}$/;
const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

class UsageError extends Error {}

export function parseTtl(text: string): number {
  const match = /^(\d+)([smhd])$/.exec(text.trim());
  const unit = match?.[2] === undefined ? undefined : UNIT_MS[match[2]];
  if (!match?.[1] || unit === undefined || Number(match[1]) === 0) {
    throw new UsageError(`--ttl must be a positive number with s, m, h or d (e.g. 30d), not "${text}".`);
  }
  return Number(match[1]) * unit;
}

export function parseApps(text: string): string[] {
  const apps = text.split(',').map((app) => app.trim()).filter(Boolean);
  if (apps.length === 0) throw new UsageError('--apps needs at least one application code, or *.');
  if (apps.includes(ALL_APPS)) {
    if (apps.length > 1) throw new UsageError('--apps is either * alone or a list of codes.');
    return [ALL_APPS];
  }
  const bad = apps.filter((app) => !APP_CODE.test(app));
  if (bad.length > 0) throw new UsageError(`Not application codes: ${bad.join(', ')}.`);
  return apps;
}

function tokenStore(stage: string, region: string | undefined): { dynamodb: DynamoDBClient; table: string; target: CallTarget } {
  const table = process.env.TOKENS_TABLE?.trim() || `bkpaas-source-package-link-${stage}-tokens`;
  if (stage === 'local') {
    const endpoint = process.env.DYNAMODB_ENDPOINT?.trim() || `http://127.0.0.1:${process.env.DYNAMODB_PORT ?? '4567'}`;
    return {
      table,
      target: { service: 'DynamoDB', resource: `The table ${table}`, stage, region: LOCAL_REGION, endpoint },
      dynamodb: createDynamoDbClient({ region: LOCAL_REGION, endpoints: { dynamodb: endpoint }, credentials: LOCAL_CREDENTIALS }),
    };
  }
  const awsRegion = regionFor(stage, region);
  const endpoint = process.env.AWS_ENDPOINT_URL_DYNAMODB?.trim() || process.env.AWS_ENDPOINT_URL?.trim() || undefined;
  return {
    table,
    target: { service: 'DynamoDB', resource: `The table ${table}`, stage, region: awsRegion, ...(endpoint ? { endpoint } : {}) },
    dynamodb: createDynamoDbClient({ region: awsRegion, endpoints: {} }),
  };
}

/** The failure that stopped the tool: its cause named in one line (exit 1). */
class ToolFailure extends Error {}

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      principal: { type: 'string' },
      apps: { type: 'string' },
      ttl: { type: 'string' },
      stage: { type: 'string' },
      region: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, ...rest] = positionals;
  if (values.help || !command) {
    console.log(USAGE);
    return;
  }
  const { dynamodb, table, target } = tokenStore(values.stage ?? process.env.STAGE ?? 'local', values.region);
  try {
    await run(command, rest, values, dynamodb, table);
  } catch (error) {
    const explained = error instanceof UsageError ? undefined : explainFailure(error, target);
    throw explained ? new ToolFailure(explained) : error;
  } finally {
    dynamodb.destroy();
  }
}

async function run(
  command: string,
  rest: string[],
  values: { principal?: string; apps?: string; ttl?: string },
  dynamodb: DynamoDBClient,
  table: string,
): Promise<void> {
  switch (command) {
    case 'create': {
      const principal = values.principal?.trim();
      if (!principal) throw new UsageError('create needs --principal NAME.');
      if (!values.apps) throw new UsageError('create needs --apps code1,code2 or --apps "*".');
      const { token, record } = await createToken(dynamodb, table, {
        principal,
        apps: parseApps(values.apps),
        ...(values.ttl ? { ttlMs: parseTtl(values.ttl) } : {}),
      });
      console.log(`Created ${record.tokenId} for ${record.principal} on ${record.apps.join(',')}` + (record.expires ? `, expires ${record.expires}` : ', no expiry'));
      console.log('The token is shown only now; store it as a secret:');
      console.log(token);
      return;
    }
    case 'list': {
      const tokens = await listTokens(dynamodb, table);
      console.log(['id', 'principal', 'apps', 'created', 'expires', 'revoked'].join('\t'));
      for (const t of tokens) {
        console.log([t.tokenId, t.principal, t.apps.join(','), t.created, t.expires ?? '-', t.revoked ? 'yes' : 'no'].join('\t'));
      }
      return;
    }
    case 'revoke': {
      const [id] = rest;
      if (!id) throw new UsageError('revoke needs a token id (see list).');
      if (!(await revokeToken(dynamodb, table, id))) throw new UsageError(`No token has the id ${id}.`);
      console.log(`Revoked ${id}. API Gateway may accept it for up to its authorizer cache TTL (default 60 s).`);
      return;
    }
    default:
      throw new UsageError(`Unknown command "${command}".`);
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    if (error instanceof UsageError) {
      console.error(`${error.message}\n${USAGE}`);
      process.exit(2);
    }
    if (error instanceof ToolFailure) console.error(`token: ${error.message}`);
    else console.error('token:', error instanceof Error ? `${error.message}${error.cause instanceof Error ? ` (${error.cause.name}: ${error.cause.message})` : ''}` : error);
    process.exit(1);
  });
}
