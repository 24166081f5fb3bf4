/**
 * What AWS does that an emulator might not, checked against the running local stack: every
 * answer, the malformed and the misrouted ones included, has the contract's shape and
 * `bkapi-error-code`; the authorizer failing is a 503 through the template's gateway response;
 * its answers are cached as API Gateway caches them; asynchronous events are retried as Lambda
 * retries them, and what still fails lands in the on-failure queue that `npm run redrive` drains.
 */
import { CreateTableCommand, DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_APPS, createToken, revokeToken } from '../../lib/auth/token-store';
import { tablesOf } from '../../scripts/local-aws/packaging';
import { startArchiveServer, type ArchiveServer } from '../helpers/archive-server';
import { sampleEntries, sha256Of, tarGzArchive } from '../helpers/archives';
import { freePorts, startLocalStack, type LocalStack } from '../helpers/local-stack';
import { runScript } from '../helpers/run-script';
import { expectInvariants, localTemplate } from '../helpers/storage';

let stack: LocalStack;
let server: ArchiveServer;
let dataDir: string;
const token = `bkpaas_parity_${randomUUID()}`;
// Lambda waits about a minute, then two, between retries; the test stack a fraction of a second.
const STACK_ENV = { LOCAL_ASYNC_RETRY_DELAYS_MS: '200,400', SYNC_BUDGET_MS: '3000' };

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'bkpaas-parity-'));
  server = await startArchiveServer();
  stack = await startLocalStack({ dataDir, token, ports: await freePorts(), env: STACK_ENV });
});

afterAll(async () => {
  await stack?.stop();
  await server?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

const auth = (value = token) => ({ 'X-BKAPI-AUTHORIZATION': JSON.stringify({ access_token: value }) });
const routeUrl = (rest: string) => `${stack.baseUrl}/bkapps/applications/${rest}`;

function uniqueCode(): string {
  return `parity-${randomUUID().slice(0, 8)}`;
}

/** The contract's error answer: JSON `{code, detail, fields_detail?}`, the code again in the header. */
async function expectContractError(response: Response, status: number, code: string): Promise<Record<string, unknown>> {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  expect(response.headers.get('bkapi-error-code')).toBe(code);
  const body = (await response.json()) as Record<string, unknown>;
  expect(body).toMatchObject({ code, detail: expect.any(String) });
  expect(Object.keys(body).every((key) => ['code', 'detail', 'fields_detail'].includes(key))).toBe(true);
  return body;
}

/** An operator script against the running stack, as `npm run <script> -- --stage local` reaches it. */
const tool = (script: string, args: string[], env: NodeJS.ProcessEnv = {}) =>
  runScript(script, args, {
    ...process.env,
    STAGE: 'local',
    TOKENS_TABLE: stack.storage.tokensTable,
    DYNAMODB_PORT: String(stack.ports.dynamodb),
    LAMBDA_PORT: String(stack.ports.lambda),
    SQS_PORT: String(stack.ports.sqs),
    ...env,
  });

describe('answers the local API gives itself, in the contract\'s shape', () => {
  const linkPath = (code = 'sundy820') => `${code}/modules/default/source_package/link/`;
  const json = { 'Content-Type': 'application/json' };
  const cases: [string, () => Promise<Response>, number, string][] = [
    ['no X-BKAPI-AUTHORIZATION header', () => fetch(routeUrl(linkPath()), { method: 'POST', headers: json, body: '{}' }), 401, 'UNAUTHENTICATED'],
    ['an empty X-BKAPI-AUTHORIZATION header', () => fetch(routeUrl(linkPath()), { method: 'POST', headers: { ...json, 'X-BKAPI-AUTHORIZATION': '' }, body: '{}' }), 401, 'UNAUTHENTICATED'],
    ['multipart without a boundary', () => fetch(routeUrl(linkPath()), { method: 'POST', headers: { ...auth(), 'Content-Type': 'multipart/form-data' }, body: 'x' }), 400, 'VALIDATION_ERROR'],
    ['an invalid Content-Type', () => fetch(routeUrl(linkPath()), { method: 'POST', headers: { ...auth(), 'Content-Type': ';;;//' }, body: 'x' }), 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ['bad %-encoding in the path', () => fetch(routeUrl(linkPath('%zz')), { method: 'POST', headers: { ...auth(), ...json }, body: '{}' }), 400, 'VALIDATION_ERROR'],
    ['a malformed JSON body', () => fetch(routeUrl(linkPath()), { method: 'POST', headers: { ...auth(), ...json }, body: '{"package_url":' }), 400, 'VALIDATION_ERROR'],
    ['an unknown route', () => fetch(`${stack.baseUrl}/bkapps/nothing/here`, { headers: auth() }), 404, 'ROUTE_NOT_FOUND'],
    ['a path outside the base path', () => fetch(stack.baseUrl.replace('/stag', '/prod') + '/bkapps/applications/a/modules/b/source_package/', { headers: auth() }), 404, 'ROUTE_NOT_FOUND'],
    ['PUT on the link route', () => fetch(routeUrl(linkPath()), { method: 'PUT', headers: auth(), body: 'x' }), 405, 'METHOD_NOT_ALLOWED'],
    ['GET on the link route (a version cannot be named "link")', () => fetch(routeUrl(linkPath()), { headers: auth() }), 405, 'METHOD_NOT_ALLOWED'],
    ['PATCH on a version', () => fetch(routeUrl('sundy820/modules/default/source_package/v1/'), { method: 'PATCH', headers: auth(), body: '{}' }), 405, 'METHOD_NOT_ALLOWED'],
    ['a body over the link limit (64 KiB)', () => fetch(routeUrl(linkPath()), { method: 'POST', headers: { ...auth(), ...json }, body: `{"x":"${'a'.repeat(70 * 1024)}"}` }), 413, 'PAYLOAD_TOO_LARGE'],
    ["a body over API Gateway's 10 MB", () => fetch(routeUrl(linkPath()), { method: 'POST', headers: { ...auth(), ...json }, body: 'a'.repeat(10 * 1024 * 1024 + 1) }), 413, 'PAYLOAD_TOO_LARGE'],
    ['a listing limit that is not a number', () => fetch(routeUrl('sundy820/modules/default/source_package/?limit=lots'), { headers: auth() }), 400, 'VALIDATION_ERROR'],
  ];

  it.each(cases)('answers %s with its status and code', async (_name, send, status, code) => {
    await expectContractError(await send(), status, code);
  });

  it('names the methods a route serves in Allow', async () => {
    const response = await fetch(routeUrl('sundy820/modules/default/source_package/v1/'), { method: 'PATCH', headers: auth() });

    expect(response.headers.get('allow')).toBe('GET, DELETE');
  });
});

describe('the authorizer', () => {
  it('answers 503 STORAGE_UNAVAILABLE when the token store is down, through the AUTHORIZER_CONFIGURATION_ERROR response', async () => {
    const tokensTable = stack.storage.tokensTable;
    await stack.storage.dynamodb.send(new DeleteTableCommand({ TableName: tokensTable }));
    try {
      // A header value the authorizer has not answered yet: nothing cached stands in for the table.
      const response = await fetch(routeUrl('sundy820/modules/default/source_package/'), { headers: auth(`bkpaas_${randomUUID()}`) });

      await expectContractError(response, 503, 'STORAGE_UNAVAILABLE');
    } finally {
      const spec = tablesOf(localTemplate()).find((table) => table.TableName === tokensTable);
      await stack.storage.dynamodb.send(new CreateTableCommand(spec ?? { TableName: tokensTable, KeySchema: [], AttributeDefinitions: [] }));
      await createToken(stack.storage.dynamodb, tokensTable, { principal: 'local-developer', apps: [ALL_APPS], token });
    }
  });

  it("keeps answering from its cache for the template's TTL, so a token revoked after use still works for a while", async () => {
    const leaver = await createToken(stack.storage.dynamodb, stack.storage.tokensTable, { principal: 'leaver', apps: [ALL_APPS] });
    const list = () => fetch(routeUrl(`${uniqueCode()}/modules/default/source_package/`), { headers: auth(leaver.token) });
    expect((await list()).status).toBe(200);

    await revokeToken(stack.storage.dynamodb, stack.storage.tokensTable, leaver.record.tokenId);

    // API Gateway's behaviour, documented as the revocation delay (AUTHORIZER_CACHE_TTL, 60 s).
    expect((await list()).status).toBe(200);
  });
});

async function followJob(location: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 150; i++) {
    const response = await fetch(new URL(location, stack.baseUrl), { headers: auth() });
    const job = (await response.json()) as Record<string, unknown>;
    if (job.state === 'succeeded' || job.state === 'failed') return job;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`job at ${location} did not finish`);
}

async function postAsync(code: string, url: string, version = 'v1'): Promise<string> {
  const response = await fetch(routeUrl(`${code}/modules/default/source_package/link/`), {
    method: 'POST',
    headers: { ...auth(), 'Content-Type': 'application/json', Prefer: 'respond-async' },
    body: JSON.stringify({ package_url: url, version }),
  });
  expect(response.status).toBe(202);
  return response.headers.get('location') ?? '';
}

describe('asynchronous invocation, as Lambda runs it', () => {
  it('retries a download that failed transiently, and the job succeeds once the remote recovers', async () => {
    const code = uniqueCode();
    const archive = await tarGzArchive(sampleEntries(code));
    let calls = 0;
    server.route(`/${code}/flaky.tar.gz`, (_req, res) => {
      calls += 1;
      if (calls === 1) res.writeHead(503).end('busy');
      else res.writeHead(200, { 'content-length': archive.length }).end(archive);
    });

    const job = await followJob(await postAsync(code, server.url(`/${code}/flaky.tar.gz`)));

    expect(job).toMatchObject({ state: 'succeeded', package: { sha256_signature: sha256Of(archive) } });
    expect(calls).toBe(2);
    expect(await expectInvariants(stack.storage, code, 'default')).toHaveLength(1);
  });

  it('ends a job failed after the last retry, leaves its event in the failure queue, and redrive runs it again', async () => {
    const code = uniqueCode();
    const archive = await tarGzArchive(sampleEntries(code));
    let down = true;
    server.route(`/${code}/down.tar.gz`, (_req, res) => {
      if (down) res.writeHead(503).end('down');
      else res.writeHead(200, { 'content-length': archive.length }).end(archive);
    });
    const location = await postAsync(code, server.url(`/${code}/down.tar.gz`));

    const failed = await followJob(location);
    expect(failed).toMatchObject({ state: 'failed', error: { code: 'PACKAGE_DOWNLOAD_FAILED' } });
    expect(server.hits(`/${code}/down.tar.gz`)).toBe(3);
    expect(await stack.failureRecordOf(code)).toMatchObject({ requestContext: { condition: 'RetriesExhausted', approximateInvokeCount: 3 } });

    down = false;
    const redrive = (...args: string[]) => tool('redrive.ts', ['--stage', 'local', ...args]);
    const jobId = location.split('/').filter(Boolean).pop();

    // A dry run lists the job and leaves its message visible: the real run right after finds it.
    const dry = await redrive('--dry-run');
    expect(JSON.parse(dry.stdout.slice(dry.stdout.indexOf('{')))).toEqual(expect.objectContaining({ wouldResubmit: expect.arrayContaining([jobId]) }));
    expect(dry.stdout).not.toContain('"resubmitted"');
    expect(await followJob(location)).toMatchObject({ state: 'failed' });
    const { stdout } = await redrive();

    expect(JSON.parse(stdout.slice(stdout.indexOf('{')))).toMatchObject({ resubmitted: expect.arrayContaining([jobId]) });
    expect(await followJob(location)).toMatchObject({ state: 'succeeded', package: { sha256_signature: sha256Of(archive) } });
    expect(await expectInvariants(stack.storage, code, 'default')).toHaveLength(1);
    expect((await fetch(routeUrl(`${code}/modules/default/source_package/`), { headers: auth() })).status).toBe(200);
  });
});

describe('the operator tools against the running stack', () => {

  it('npm run token lists the tokens of the local stack', async () => {
    const { stdout } = await tool('token.ts', ['list']);

    expect(stdout).toMatch(/\tlocal-developer\t\*\t/);
  });

  it('npm run token says the credentials were refused, in one line, when the key is unknown to the account', async () => {
    // A deployed stage's path through the SDK's own settings, pointed at the local stack's IAM gate.
    const failed = tool('token.ts', ['list', '--stage', 'stag'], {
      AWS_ENDPOINT_URL_DYNAMODB: `http://127.0.0.1:${stack.ports.dynamodb}`,
      AWS_ACCESS_KEY_ID: 'AKIAFAKEFAKEFAKEFAKE',
      AWS_SECRET_ACCESS_KEY: 'fake',
      AWS_REGION: 'us-east-1',
    });

    await expect(failed).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(/^token: .* refused the credentials \(UnrecognizedClientException: .*AKIAFAKEFAKEFAKEFAKE.*AWS_PROFILE[^\n]*\n$/) });
  });

  it('npm run invoke runs the sample authorizer event and answers its policy', async () => {
    const { stdout } = await tool('invoke.ts', ['authorize', 'events/authorizer-request.json']);

    expect(JSON.parse(stdout)).toMatchObject({ principalId: 'anonymous', policyDocument: { Statement: [{ Effect: 'Allow' }] }, context: { authenticated: 'false' } });
  });

  it('npm run invoke names what a malformed authorizer event lacks and shows Unauthorized, not a stack trace', async () => {
    const failed = tool('invoke.ts', ['authorize', 'test/fixtures/events/authorizer-without-method-arn.json']);

    await expect(failed).rejects.toMatchObject({
      code: 1,
      stdout: '',
      stderr: expect.stringMatching(/methodArn is missing.*\n.*The function failed \(Unhandled\): Error: Unauthorized\n$/),
    });
    await expect(failed).rejects.toMatchObject({ stderr: expect.not.stringMatching(/TypeError|\n\s+at /) });
  });
});
