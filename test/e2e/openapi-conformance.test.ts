/**
 * openapi.yaml against what the service does, so the two cannot drift apart: the file is valid
 * OpenAPI 3.1 (swagger-parser); it lists every route and method the packaged template serves and
 * exactly the error codes the service and its gateway responses answer; and every answer the
 * running local stack gives — each success, each error code — has a status the operation
 * documents and a body its schema accepts (ajv, JSON Schema 2020-12).
 */
import SwaggerParser from '@apidevtools/swagger-parser';
import { CreateTableCommand, DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_STATUS } from '../../lib/core/errors';
import { ALL_APPS, createToken } from '../../lib/auth/token-store';
import { tablesOf } from '../../scripts/local-aws/packaging';
import { startArchiveServer, type ArchiveServer } from '../helpers/archive-server';
import { sampleEntries, sha256Of, tarGzArchive } from '../helpers/archives';
import { freePorts, startLocalStack, type LocalStack } from '../helpers/local-stack';
import { localTemplate } from '../helpers/storage';

const root = path.resolve(__dirname, '../..');
// Small limits, so that each error is cheap to provoke; throttling low enough to reach.
const STACK_ENV = { MAX_PACKAGE_BYTES: String(256 * 1024), DOWNLOAD_IDLE_TIMEOUT_MS: '500', SYNC_BUDGET_MS: '3000', API_RATE_LIMIT: '40', API_BURST_LIMIT: '20' };

type Schema = Record<string, unknown>;
interface Operation {
  responses: Record<string, { content?: { 'application/json'?: { schema: Schema } } }>;
}
interface Document {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema> };
}

let api: Document;
let stack: LocalStack;
let server: ArchiveServer;
let dataDir: string;
const token = `bkpaas_openapi_${randomUUID()}`;
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);

beforeAll(async () => {
  api = (await SwaggerParser.dereference(path.join(root, 'openapi.yaml'))) as unknown as Document;
  dataDir = mkdtempSync(path.join(tmpdir(), 'bkpaas-openapi-'));
  server = await startArchiveServer();
  stack = await startLocalStack({ dataDir, token, ports: await freePorts(), env: STACK_ENV });
});

afterAll(async () => {
  await stack?.stop();
  await server?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

const ROUTES = {
  link: '/bkapps/applications/{code}/modules/{module_name}/source_package/link/',
  jobs: '/bkapps/applications/{code}/modules/{module_name}/source_package/link/jobs/',
  job: '/bkapps/applications/{code}/modules/{module_name}/source_package/link/jobs/{job_id}/',
  packages: '/bkapps/applications/{code}/modules/{module_name}/source_package/',
  package: '/bkapps/applications/{code}/modules/{module_name}/source_package/{version}/',
};

/** Checks one real answer against the operation: documented status, body matching its schema. */
async function conforms(route: keyof typeof ROUTES, method: string, response: Response): Promise<Record<string, unknown>> {
  const operation = api.paths[ROUTES[route]]?.[method];
  expect(operation, `${method} ${ROUTES[route]} in openapi.yaml`).toBeDefined();
  const documented = operation?.responses[String(response.status)];
  expect(documented, `${response.status} documented for ${method} ${ROUTES[route]}`).toBeDefined();
  const text = await response.text();
  const schema = documented?.content?.['application/json']?.schema;
  if (!schema) {
    expect(text).toBe('');
    return {};
  }
  const body = JSON.parse(text) as Record<string, unknown>;
  const validate = ajv.compile(schema);
  expect(validate(body), `${response.status} body: ${JSON.stringify(validate.errors)} for ${text.slice(0, 300)}`).toBe(true);
  if (response.status >= 400) expect(response.headers.get('bkapi-error-code')).toBe(body.code);
  return body;
}

const auth = (value = token) => ({ 'X-BKAPI-AUTHORIZATION': JSON.stringify({ access_token: value }) });
const url = (code: string, rest = 'link/') => `${stack.baseUrl}/bkapps/applications/${code}/modules/default/source_package/${rest}`;
const uniqueCode = (): string => `oas-${randomUUID().slice(0, 8)}`;

function link(code: string, body: Record<string, unknown>, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url(code), { method: 'POST', headers: { ...auth(), 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

describe('openapi.yaml', () => {
  it('is valid OpenAPI 3.1', async () => {
    await expect(SwaggerParser.validate(path.join(root, 'openapi.yaml'))).resolves.toBeDefined();
  });

  it('describes every route and method the packaged template serves', () => {
    const template = localTemplate();
    const resources = new Map(template.ofType('AWS::ApiGateway::Resource').map((r) => [r.logicalId, r.properties]));
    const pathOf = (id: string): string => {
      const resource = resources.get(id);
      return resource ? `${pathOf(String(resource.ParentId))}/${String(resource.PathPart)}` : '';
    };
    const served = template
      .ofType('AWS::ApiGateway::Method')
      .filter((method) => method.properties.HttpMethod !== 'ANY')
      .map((method) => `${String(method.properties.HttpMethod).toLowerCase()} ${pathOf(String(method.properties.ResourceId))}/`);
    const described = Object.entries(api.paths).flatMap(([route, operations]) => Object.keys(operations).filter((key) => key !== 'parameters').map((method) => `${method} ${route}`));
    expect(described.sort()).toEqual(served.sort());
  });

  it('names exactly the error codes the functions and the gateway responses answer', () => {
    const gateway = localTemplate()
      .ofType('AWS::ApiGateway::GatewayResponse')
      .map((response) => String((response.properties.ResponseParameters as Record<string, string>)['gatewayresponse.header.bkapi-error-code']).replace(/'/g, ''));
    const answered = new Set([...Object.keys(ERROR_STATUS), ...gateway, 'INTERNAL_ERROR']);
    const named = (api.components.schemas.ErrorCode as { enum: string[] }).enum;
    expect([...named].sort()).toEqual([...answered].sort());
  });
});

describe('the local stack answers as openapi.yaml says', () => {
  it('registers a package (200), accepts a job (202), and serves both jobs and packages', async () => {
    const code = uniqueCode();
    const archive = await tarGzArchive(sampleEntries(code));
    server.serve(`/${code}/a.tar.gz`, archive);

    const registered = await conforms('link', 'post', await link(code, { package_url: server.url(`/${code}/a.tar.gz`), version: 'v1' }));
    const accepted = await link(code, { package_url: server.url(`/${code}/a.tar.gz`), version: 'v2' }, { Prefer: 'respond-async' });
    const job = await conforms('link', 'post', accepted);

    expect(registered).toMatchObject({ sha256_signature: sha256Of(archive) });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await conforms('job', 'get', await fetch(String(job.location), { headers: auth() }));
    await conforms('jobs', 'get', await fetch(url(code, 'link/jobs/?limit=5'), { headers: auth() }));
    await conforms('packages', 'get', await fetch(url(code, ''), { headers: auth() }));
    await conforms('package', 'get', await fetch(url(code, 'v1/'), { headers: auth() }));
    await conforms('package', 'delete', await fetch(url(code, 'v1/'), { method: 'DELETE', headers: auth() }));
  });

  it.each([
    ['VALIDATION_ERROR', 400, (code: string) => link(code, { version: 'v1' })],
    ['URL_NOT_ALLOWED', 400, (code: string) => link(code, { package_url: 'http://169.254.169.254/latest/meta-data/', version: 'v1' })],
    ['UNAUTHENTICATED', 401, (code: string) => fetch(url(code), { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' })],
    ['PERMISSION_DENIED', 403, async (code: string) => link(code, { package_url: 'https://example.com/a.tar.gz', version: 'v1' }, auth((await createToken(stack.storage.dynamodb, stack.storage.tokensTable, { principal: 'other', apps: ['another-app'] })).token))],
    ['METHOD_NOT_ALLOWED', 405, (code: string) => fetch(url(code), { method: 'PUT', headers: auth() })],
    ['PAYLOAD_TOO_LARGE', 413, (code: string) => link(code, { package_url: `https://example.com/${'a'.repeat(70 * 1024)}` })],
    ['UNSUPPORTED_MEDIA_TYPE', 415, (code: string) => fetch(url(code), { method: 'POST', headers: { ...auth(), 'Content-Type': 'text/plain' }, body: 'x' })],
    ['INVALID_PACKAGE_FORMAT', 422, (code: string) => {
      server.serve(`/${code}/page.html`, Buffer.from('<html>sign in</html>'));
      return link(code, { package_url: server.url(`/${code}/page.html`), version: 'v1' });
    }],
    ['PACKAGE_TOO_LARGE', 422, async (code: string) => {
      server.serve(`/${code}/big.tar.gz`, await tarGzArchive(sampleEntries(code, 512 * 1024)));
      return link(code, { package_url: server.url(`/${code}/big.tar.gz`), version: 'v1' });
    }],
    ['CHECKSUM_MISMATCH', 422, async (code: string) => {
      server.serve(`/${code}/a.tar.gz`, await tarGzArchive(sampleEntries(code)));
      return link(code, { package_url: server.url(`/${code}/a.tar.gz`), version: 'v1', sha256: '0'.repeat(64) });
    }],
    ['PACKAGE_URL_UNAVAILABLE', 422, (code: string) => link(code, { package_url: server.url(`/${code}/missing.tar.gz`), version: 'v1' })],
    ['PACKAGE_DOWNLOAD_FAILED', 502, (code: string) => {
      server.route(`/${code}/busy.tar.gz`, (_req, res) => res.writeHead(503, { 'retry-after': '7' }).end());
      return link(code, { package_url: server.url(`/${code}/busy.tar.gz`), version: 'v1' });
    }],
    ['PACKAGE_DOWNLOAD_TIMEOUT', 504, (code: string) => {
      server.route(`/${code}/stalled.tar.gz`, (_req, res) => res.writeHead(200, { 'content-length': 1000 }).write('x'));
      return link(code, { package_url: server.url(`/${code}/stalled.tar.gz`), version: 'v1' });
    }],
  ] as const)('answers %s (%i) on the link route in its documented shape', async (errorCode, status, send) => {
    const response = await send(uniqueCode());

    expect(response.status).toBe(status);
    expect(await conforms('link', 'post', response)).toMatchObject({ code: errorCode });
  });

  it('answers PACKAGE_ALREADY_EXISTS (409), PACKAGE_NOT_FOUND, JOB_NOT_FOUND (404) and a bad cursor (400) in their documented shapes', async () => {
    const code = uniqueCode();
    server.serve(`/${code}/a.tar.gz`, await tarGzArchive(sampleEntries(code)));
    expect((await link(code, { package_url: server.url(`/${code}/a.tar.gz`), version: 'v1' })).status).toBe(200);

    expect(await conforms('link', 'post', await link(code, { package_url: server.url(`/${code}/a.tar.gz`), version: 'v1' }))).toMatchObject({ code: 'PACKAGE_ALREADY_EXISTS' });
    expect(await conforms('package', 'get', await fetch(url(code, 'v9/'), { headers: auth() }))).toMatchObject({ code: 'PACKAGE_NOT_FOUND' });
    expect(await conforms('job', 'get', await fetch(url(code, 'link/jobs/nope/'), { headers: auth() }))).toMatchObject({ code: 'JOB_NOT_FOUND' });
    expect(await conforms('packages', 'get', await fetch(url(code, '?cursor=bm9wZQ'), { headers: auth() }))).toMatchObject({ code: 'VALIDATION_ERROR' });
    expect(await conforms('jobs', 'get', await fetch(url(code, 'link/jobs/?state=lost'), { headers: auth() }))).toMatchObject({ code: 'VALIDATION_ERROR' });
  });

  it('answers STORAGE_UNAVAILABLE (503) in its documented shape when the token store is down', async () => {
    const tokensTable = stack.storage.tokensTable;
    await stack.storage.dynamodb.send(new DeleteTableCommand({ TableName: tokensTable }));
    try {
      const response = await fetch(url(uniqueCode(), ''), { headers: auth(`bkpaas_${randomUUID()}`) });
      expect(await conforms('packages', 'get', response)).toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
    } finally {
      const spec = tablesOf(localTemplate()).find((table) => table.TableName === tokensTable);
      await stack.storage.dynamodb.send(new CreateTableCommand(spec ?? { TableName: tokensTable, KeySchema: [], AttributeDefinitions: [] }));
      await createToken(stack.storage.dynamodb, tokensTable, { principal: 'local-developer', apps: [ALL_APPS], token });
    }
  });

  it('answers THROTTLED (429) in its documented shape past the stage\'s throttling', async () => {
    const code = uniqueCode();
    // One connection each, all at once (fetch's pool would queue them behind a few connections).
    const burst = () =>
      new Promise<Response>((resolve, reject) => {
        http
          .get(url(code, ''), { headers: auth(), agent: false }, (answer) => {
            const chunks: Buffer[] = [];
            answer.on('data', (chunk: Buffer) => chunks.push(chunk));
            answer.on('end', () => resolve(new Response(Buffer.concat(chunks), { status: answer.statusCode ?? 0, headers: answer.headers as Record<string, string> })));
          })
          .on('error', reject);
      });
    // 240 at 40 per second plus 20 of burst: all would have to arrive over 5.5 s to pass (a loaded machine is slow, not that slow).
    const answers = await Promise.all(Array.from({ length: 240 }, burst));
    const throttled = answers.find((response) => response.status === 429);

    expect(throttled, `statuses: ${answers.map((answer) => answer.status).join(' ')}`).toBeDefined();
    if (throttled) expect(await conforms('packages', 'get', throttled)).toMatchObject({ code: 'THROTTLED' });
  });
});
