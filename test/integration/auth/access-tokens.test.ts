/**
 * Access tokens against the DynamoDB emulator: the store, the authorizer, the link function's
 * own check when invoked directly, and the administration CLI run as a real process.
 */
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { APIGatewayRequestAuthorizerEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createAuthorizeHandler } from '../../../handlers/authorize';
import { createLinkHandler } from '../../../handlers/link';
import { sha256Hex, TOKEN_PREFIX } from '../../../lib/auth/access-token';
import { createDynamoDbClient } from '../../../lib/core/aws-clients';
import { authenticate, type TokenCheckDeps } from '../../../lib/auth/auth';
import { ALL_APPS, createToken, listTokens, revokeToken } from '../../../lib/auth/token-store';
import { freePorts } from '../../helpers/local-stack';
import { runScript } from '../../helpers/run-script';
import { startTestStorage, type TestStorage } from '../../helpers/storage';

let storage: TestStorage;
let deps: TokenCheckDeps;

beforeAll(async () => {
  storage = await startTestStorage();
  deps = { dynamodb: storage.clientsOf('authorize').dynamodb, tokensTable: storage.tokensTable, now: () => new Date() };
});

afterAll(async () => {
  await storage?.close();
});

const header = (token: string): string => JSON.stringify({ access_token: token, bk_app_code: 'ignored', bk_username: 'x' });

describe('the token store', () => {
  it('reads a token with a consistent read, so a token created a moment ago is never refused (and the refusal cached)', async () => {
    const { token } = await createToken(storage.dynamodb, storage.tokensTable, { principal: 'fresh', apps: ['a'] });
    const reads: { ConsistentRead?: boolean }[] = [];
    const watched = new Proxy(deps.dynamodb, {
      get(target, property, receiver) {
        if (property !== 'send') return Reflect.get(target, property, receiver);
        return (command: { input: { ConsistentRead?: boolean } }) => {
          reads.push(command.input);
          return target.send(command as never);
        };
      },
    });

    await expect(authenticate(header(token), { ...deps, dynamodb: watched })).resolves.toMatchObject({ principal: 'fresh' });

    expect(reads).toEqual([expect.objectContaining({ ConsistentRead: true })]);
  });

  it('issues URL-safe tokens of 32 random bytes behind a recognisable prefix', async () => {
    const tokens = await Promise.all(
      Array.from({ length: 20 }, () => createToken(storage.dynamodb, storage.tokensTable, { principal: 'p', apps: ['a'] })),
    );

    for (const { token } of tokens) expect(token).toMatch(new RegExp(`^${TOKEN_PREFIX}[A-Za-z0-9_-]{43}$`));
    expect(new Set(tokens.map((t) => t.token)).size).toBe(20);
    expect(new Set(tokens.map((t) => t.record.tokenId)).size).toBe(20);
  });

  it('never stores a clear token: a scan of the table finds only digests', async () => {
    const { token } = await createToken(storage.dynamodb, storage.tokensTable, { principal: 'scan-me', apps: [ALL_APPS] });

    const { Items = [] } = await storage.dynamodb.send(new ScanCommand({ TableName: storage.tokensTable }));

    expect(Items.length).toBeGreaterThan(0);
    const everything = JSON.stringify(Items);
    expect(everything).not.toContain(token);
    expect(everything).not.toContain(token.slice(TOKEN_PREFIX.length));
    expect(Items.map((item) => item.token_sha256?.S)).toContain(sha256Hex(token));
  });

  it('lists ids, principals, apps, expiry and revocation, never secrets or digests', async () => {
    const { token, record } = await createToken(storage.dynamodb, storage.tokensTable, {
      principal: 'lister',
      apps: ['app-a', 'app-b'],
      ttlMs: 60_000,
    });

    const listed = (await listTokens(storage.dynamodb, storage.tokensTable)).find((t) => t.tokenId === record.tokenId);

    expect(listed).toEqual({ ...record, revoked: false });
    expect(JSON.stringify(await listTokens(storage.dynamodb, storage.tokensTable))).not.toContain(sha256Hex(token));
  });

  it('reports revoking an unknown id as not found', async () => {
    expect(await revokeToken(storage.dynamodb, storage.tokensTable, 'tok_doesnotexist')).toBe(false);
  });
});

describe('authenticating X-BKAPI-AUTHORIZATION', () => {
  it('accepts a valid token and ignores the other keys of the header', async () => {
    const { token, record } = await createToken(storage.dynamodb, storage.tokensTable, { principal: 'alice', apps: ['app-a'] });

    await expect(authenticate(header(token), deps)).resolves.toEqual({ principal: 'alice', tokenId: record.tokenId, apps: ['app-a'] });
  });

  it.each([
    ['the header is missing', undefined, 'missing'],
    ['the header is not JSON', 'access_token=abc', 'not valid JSON'],
    ['the header is a JSON array', '["abc"]', 'JSON object'],
    ['access_token is absent', '{"bk_app_code": "x"}', 'no access_token'],
    ['access_token is empty', '{"access_token": "  "}', 'non-empty string'],
    ['the token is unknown', '{"access_token": "bkpaas_unknownunknownunknown"}', 'not recognised'],
  ])('answers 401 UNAUTHENTICATED when %s, with its own detail', async (_case, value, detail) => {
    await expect(authenticate(value, deps)).rejects.toMatchObject({
      code: 'UNAUTHENTICATED',
      status: 401,
      detail: expect.stringContaining(detail),
    });
  });

  it('refuses an expired token', async () => {
    const { token } = await createToken(storage.dynamodb, storage.tokensTable, { principal: 'old', apps: ['a'], ttlMs: 1000 });
    const later = { ...deps, now: () => new Date(Date.now() + 2000) };

    await expect(authenticate(header(token), later)).rejects.toMatchObject({ code: 'UNAUTHENTICATED', detail: expect.stringContaining('expired') });
  });

  it('refuses a revoked token, and the refusal never echoes the token', async () => {
    const { token, record } = await createToken(storage.dynamodb, storage.tokensTable, { principal: 'gone', apps: ['a'] });
    await expect(authenticate(header(token), deps)).resolves.toMatchObject({ principal: 'gone' });

    expect(await revokeToken(storage.dynamodb, storage.tokensTable, record.tokenId)).toBe(true);

    const refusal = await authenticate(header(token), deps).catch((error: unknown) => error);
    expect(refusal).toMatchObject({ code: 'UNAUTHENTICATED', detail: expect.stringContaining('revoked') });
    expect(JSON.stringify(refusal)).not.toContain(token);
  });
});

describe('the API Gateway authorizer', () => {
  const authorizer = () => createAuthorizeHandler({ ...deps, config: { logLevel: 'error', stage: 'test' } });
  const methodArn = 'arn:aws:execute-api:us-east-1:123456789012:abcdef1234/stag/POST/bkapps/applications/app-a/modules/default/source_package/link';
  const event = (value: string | undefined) =>
    ({ type: 'REQUEST', methodArn, headers: value === undefined ? {} : { 'X-Bkapi-Authorization': value } }) as unknown as APIGatewayRequestAuthorizerEvent;

  it('hands the principal, token id and apps to the function for the whole API, so one cached answer serves every route', async () => {
    const { token, record } = await createToken(storage.dynamodb, storage.tokensTable, { principal: 'bob', apps: ['app-a', 'app-b'] });

    const result = await authorizer()(event(header(token)));

    expect(result.principalId).toBe('bob');
    expect(result.policyDocument.Statement).toEqual([
      { Action: 'execute-api:Invoke', Effect: 'Allow', Resource: 'arn:aws:execute-api:us-east-1:123456789012:abcdef1234/stag/*' },
    ]);
    expect(result.context).toEqual({ authenticated: 'true', principal: 'bob', token_id: record.tokenId, apps: 'app-a,app-b' });
  });

  it('passes a refusal on as a verdict carrying its detail', async () => {
    const result = await authorizer()(event('{"access_token": "bkpaas_nope"}'));

    expect(result.context).toEqual({ authenticated: 'false', code: 'UNAUTHENTICATED', detail: 'The access token is not recognised.' });
  });

  it("refuses an event API Gateway would never send (no methodArn, not an object) with 'Unauthorized', API Gateway's 401, and logs what it lacks", async () => {
    const lines: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    const noisy = createAuthorizeHandler({ ...deps, config: { logLevel: 'warn', stage: 'test' } });
    try {
      const handMade = JSON.parse(readFileSync(path.join(__dirname, '../../fixtures/events/authorizer-without-method-arn.json'), 'utf8')) as unknown;
      await expect(noisy(handMade)).rejects.toThrow(/^Unauthorized$/);
      await expect(noisy(null)).rejects.toThrow(/^Unauthorized$/);
      await expect(noisy({ ...event(undefined), methodArn: 'POST /link' })).rejects.toThrow(/^Unauthorized$/);
    } finally {
      spy.mockRestore();
    }

    const refusals = lines.map((line) => JSON.parse(line) as { message: string; detail: string });
    expect(refusals.map((line) => line.detail)).toEqual([
      expect.stringContaining('methodArn is missing'),
      expect.stringContaining('the event is null'),
      expect.stringContaining('methodArn is not an execute-api method ARN'),
    ]);
  });

  it('fails (so API Gateway caches nothing) when the token store is unavailable', async () => {
    // Nothing listens on port 1: the token store cannot be reached at all.
    const unreachable = createDynamoDbClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' }, endpoints: { dynamodb: 'http://127.0.0.1:1' } });
    const broken = createAuthorizeHandler({ ...deps, dynamodb: unreachable, config: { logLevel: 'error', stage: 'test' } });

    await expect(broken(event('{"access_token": "bkpaas_x"}'))).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
  });
});

describe('the link function', () => {
  const context = { awsRequestId: 'direct', getRemainingTimeInMillis: () => 10_000 };
  // The worker is never reached in these cases: a client that throws proves it.
  const unreachableLambda = { send: () => Promise.reject(new Error('the worker must not be invoked')) } as never;
  const link = (stage: string) =>
    createLinkHandler({ config: storage.config({ STAGE: stage, ALLOW_PRIVATE_URLS: 'false' }), dynamodb: storage.clientsOf('link').dynamodb, lambda: unreachableLambda, now: () => new Date() });
  const body = JSON.stringify({ package_url: 'https://example.com/a.tar.gz', version: 'v1' });
  const apiEvent = (headers: Record<string, string>, authorizer?: Record<string, unknown>, code = 'app-a') => ({
    headers: { 'Content-Type': 'application/json', ...headers },
    body,
    pathParameters: { code, module_name: 'default' },
    requestContext: { requestId: randomUUID(), ...(authorizer ? { authorizer } : {}) },
  });

  it('checks the header itself when invoked without an authorizer verdict', async () => {
    const missing = await link('stag')(apiEvent({}), context);
    const unknown = await link('stag')(apiEvent({ 'X-BKAPI-AUTHORIZATION': '{"access_token": "bkpaas_x"}' }), context);
    // serverless-offline fills in a placeholder principal when no authorizer ran: not a verdict.
    const placeholder = await link('stag')(apiEvent({}, { principalId: 'offlineContext_authorizer_principalId' }), context);

    for (const response of [missing, unknown, placeholder]) {
      expect(response.statusCode).toBe(401);
      expect(response.headers['bkapi-error-code']).toBe('UNAUTHENTICATED');
    }
    expect(JSON.parse(missing.body).detail).toContain('missing');
    expect(JSON.parse(unknown.body).detail).toContain('not recognised');
  });

  it('answers 403 PERMISSION_DENIED when the token is valid but not allowed on the application', async () => {
    const { token } = await createToken(storage.dynamodb, storage.tokensTable, { principal: 'carol', apps: ['other-app'] });

    const response = await link('stag')(apiEvent({ 'x-bkapi-authorization': header(token) }), context);

    expect(response.statusCode).toBe(403);
    expect(JSON.parse(response.body)).toEqual({ code: 'PERMISSION_DENIED', detail: expect.stringContaining('app-a') });
  });

  it("takes API Gateway's verdict outside the local stage: a refusal becomes the contract's 401", async () => {
    const refused = await link('stag')(
      apiEvent({}, { authenticated: 'false', code: 'UNAUTHENTICATED', detail: 'The access token has been revoked.' }),
      context,
    );
    const otherApp = await link('stag')(apiEvent({}, { authenticated: 'true', principal: 'dave', token_id: 'tok_1', apps: 'app-b' }), context);

    expect(refused.statusCode).toBe(401);
    expect(JSON.parse(refused.body)).toEqual({ code: 'UNAUTHENTICATED', detail: 'The access token has been revoked.' });
    expect(otherApp.statusCode).toBe(403);
  });

  it("takes the authorizer's verdict in the local stage too, whose API Gateway (like AWS's) lets no client write it", async () => {
    const otherApp = await link('local')(apiEvent({}, { authenticated: 'true', principal: 'erin', token_id: 'tok_2', apps: 'app-b' }), context);

    expect(otherApp.statusCode).toBe(403);
  });
});

describe('the token CLI', () => {
  const localEnv = (): NodeJS.ProcessEnv => ({ ...process.env, TOKENS_TABLE: storage.tokensTable, DYNAMODB_ENDPOINT: storage.emulators.dynamodbEndpoint, STAGE: 'local' });
  const run = (...args: string[]) => runScript('token.ts', args, localEnv());

  it('creates a token shown once, lists it without its secret, and revokes it', async () => {
    const created = await run('create', '--principal', 'ci-bot', '--apps', 'app-a,app-b', '--ttl', '30d');
    const token = created.stdout.trim().split('\n').pop() ?? '';
    const tokenId = /Created (tok_[0-9a-f]+)/.exec(created.stdout)?.[1] ?? '';
    expect(token.startsWith(TOKEN_PREFIX)).toBe(true);
    await expect(authenticate(header(token), deps)).resolves.toMatchObject({ principal: 'ci-bot', apps: ['app-a', 'app-b'] });

    const listed = await run('list');
    expect(listed.stdout).toContain(tokenId);
    expect(listed.stdout).toContain('ci-bot');
    expect(listed.stdout).not.toContain(token);

    await run('revoke', tokenId);
    await expect(authenticate(header(token), deps)).rejects.toMatchObject({ detail: expect.stringContaining('revoked') });
  });

  /** One line on stderr, exit code 1: what a failure of the tool must look like. */
  const oneLine = (pattern: RegExp) => ({ code: 1, stderr: expect.stringMatching(new RegExp(`^token: ${pattern.source}[^\\n]*\\n$`)) });

  it('names the endpoint and npm start when nothing listens there', async () => {
    const { dynamodb: port } = await freePorts();
    const env = { ...process.env, DYNAMODB_ENDPOINT: '', DYNAMODB_PORT: String(port), STAGE: 'local' };
    const failed = runScript('token.ts', ['list'], env);

    await expect(failed).rejects.toMatchObject(oneLine(new RegExp(`Nothing answers at http://127\\.0\\.0\\.1:${port} .*npm start`)));
  });

  it('names the table and the stage when the table does not exist', async () => {
    const failed = runScript('token.ts', ['list'], { ...localEnv(), TOKENS_TABLE: 'no-such-tokens-table' });

    await expect(failed).rejects.toMatchObject(oneLine(/The table no-such-tokens-table does not exist in stage local .*ResourceNotFoundException/));
  });

  it('says where it looked when a deployed stage has no credentials at all', async () => {
    const home = mkdtempSync(path.join(tmpdir(), 'bkpaas-no-credentials-'));
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: home, AWS_REGION: 'us-east-1', AWS_EC2_METADATA_DISABLED: 'true' };
    try {
      const failed = runScript('token.ts', ['list', '--stage', 'stag'], env);

      await expect(failed).rejects.toMatchObject(oneLine(/No AWS credentials for stage stag: .*AWS_ACCESS_KEY_ID.*AWS_PROFILE/));
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('refuses bad arguments with a usage message and exit code 2', async () => {
    await expect(run('create', '--principal', 'x', '--apps', 'Not_A_Code')).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('usage') });
    await expect(run('create', '--principal', 'x', '--apps', 'a', '--ttl', 'forever')).rejects.toMatchObject({ code: 2 });
    await expect(run('revoke', 'tok_unknown')).rejects.toMatchObject({ code: 2 });
  });
});
