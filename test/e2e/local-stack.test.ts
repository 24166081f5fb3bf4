/**
 * End to end through the local stack as `npm start` runs it: its API Gateway,
 * the link function, the Lambda API, the fetch worker, and the DynamoDB and S3 emulators.
 * Requests replay the original API document's curl body, with its padded values.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startArchiveServer, type ArchiveServer } from '../helpers/archive-server';
import { sampleEntries, sha256Of, tarGzArchive } from '../helpers/archives';
import { freePorts, startLocalStack, type LocalStack, type LocalStackPorts } from '../helpers/local-stack';
import { ALL_APPS, createToken, revokeToken } from '../../lib/auth/token-store';
import { expectInvariants, objectBytes, recordsOf } from '../helpers/storage';
import { eventsOfJob, schemaProblems } from '../helpers/event-schemas';
import { waitFor } from '../helpers/eventually';
import { runScript } from '../helpers/run-script';
import type { DeliveredEvent } from '../../scripts/local-aws/event-bus';

const BOUNDARY = '----WebKitFormBoundaryohLfLFHX1EPDP7rB';
const ORIGINAL_BODY = readFileSync(path.join(__dirname, '../fixtures/original-docs-multipart.txt'), 'utf8');

/** The original docs' body with its placeholders filled in; the padding spaces stay. */
function originalDocsBody(packageUrl: string, version: string, allowOverwrite = 'false'): string {
  return ORIGINAL_BODY.replace('Link to your source code package', packageUrl)
    .replace('Your version number', version)
    .replace('\r\n\r\nfalse\r\n', `\r\n\r\n${allowOverwrite}\r\n`);
}

/** The body without its `version` part: the original document marks only package_url as required. */
function withoutVersion(body: string): string {
  return body.replace(/--[^\r]+\r\nContent-Disposition: form-data; name="version"\r\n\r\n[^\r]*\r\n/, '');
}

// A short wait for the worker, so that a slow download turns into a 202 quickly.
const SYNC_BUDGET_MS = 3000;
// LOG_LEVEL as npm start has it, so the log file holds info and metric lines.
const STACK_ENV = { SYNC_BUDGET_MS: String(SYNC_BUDGET_MS), LOG_LEVEL: 'info' };

let stack: LocalStack;
let server: ArchiveServer;
let dataDir: string;
let ports: LocalStackPorts;
const token = `bkpaas_e2e_${randomUUID()}`;

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'bkpaas-e2e-'));
  ports = await freePorts();
  server = await startArchiveServer();
  stack = await startLocalStack({ dataDir, token, ports, env: STACK_ENV });
});

afterAll(async () => {
  await stack?.stop();
  await server?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

function post(code: string, body: string | URLSearchParams, headers: Record<string, string> = {}, module = 'default') {
  return fetch(stack.linkUrl(code, module), {
    method: 'POST',
    headers: {
      'X-BKAPI-AUTHORIZATION': JSON.stringify({ access_token: token }),
      'Content-Type': `multipart/form-data; boundary=${BOUNDARY}`,
      ...headers,
    },
    body,
  });
}

function uniqueCode(): string {
  return `e2e-${randomUUID().slice(0, 8)}`;
}

describe('the documented curl call against the local stack', () => {
  it('registers the package: 200 with exactly the six fields, matching sha256sum and byte count', async () => {
    const code = uniqueCode();
    const archive = await tarGzArchive(sampleEntries(code));
    server.serve(`/${code}/app-1.0.tar.gz`, archive);

    const response = await post(code, originalDocsBody(server.url(`/${code}/app-1.0.tar.gz`), 'v1'));

    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, string>;
    expect(Object.keys(body).sort()).toEqual(['created', 'package_name', 'package_size', 'sha256_signature', 'updated', 'version']);
    expect(body).toMatchObject({
      version: 'v1',
      package_name: 'app-1.0.tar.gz',
      package_size: String(archive.length),
      sha256_signature: sha256Of(archive),
    });
    expect(body.created).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    expect(body.created).toBe(body.updated);
    const [record] = await expectInvariants(stack.storage, code, 'default');
    expect(await objectBytes(stack.storage, record?.object_key ?? '')).toEqual(archive);
    expect(record?.operator).toBe('local-developer');
  });

  it("runs the functions of the call on Node 24, the Node of Lambda's nodejs24.x", async () => {
    const code = uniqueCode();
    server.serve(`/${code}/app.tar.gz`, await tarGzArchive(sampleEntries(code)));
    expect((await post(code, originalDocsBody(server.url(`/${code}/app.tar.gz`), 'v1'))).status).toBe(200);

    // Their containers stay warm after the call, as Lambda keeps an environment.
    const versions = ['authorize', 'link', 'fetch'].flatMap((fn) => stack.containerNodeVersions(`bkpaas-source-package-link-local-${fn}`));
    expect(versions.length).toBeGreaterThanOrEqual(3);
    for (const version of versions) expect(version).toMatch(/^v24\./);
    // fetch starts through its AWS_LAMBDA_EXEC_WRAPPER (handlers/fetch-runtime.sh), as on Lambda; the others do not.
    const fetchCommands = stack.containerCommandLines('bkpaas-source-package-link-local-fetch');
    expect(fetchCommands.length).toBeGreaterThan(0);
    for (const argv of fetchCommands) expect(argv).toEqual(expect.arrayContaining(['--initial-old-space-size=64', '--max-semi-space-size=1']));
    const linkCommands = stack.containerCommandLines('bkpaas-source-package-link-local-link');
    expect(linkCommands.length).toBeGreaterThan(0);
    for (const argv of linkCommands) expect(argv.join(' ')).not.toContain('--initial-old-space-size');
  });

  it('answers 409 PACKAGE_ALREADY_EXISTS for the same request again, and the archive server sees no second download', async () => {
    const code = uniqueCode();
    server.serve(`/${code}/a.tar.gz`, await tarGzArchive(sampleEntries(code)));
    const first = await post(code, originalDocsBody(server.url(`/${code}/a.tar.gz`), 'v1'));
    expect(first.status).toBe(200);

    const again = await post(code, originalDocsBody(server.url(`/${code}/a.tar.gz`), 'v1'));

    expect(again.status).toBe(409);
    expect(again.headers.get('bkapi-error-code')).toBe('PACKAGE_ALREADY_EXISTS');
    expect(await again.json()).toMatchObject({ code: 'PACKAGE_ALREADY_EXISTS' });
    expect(server.hits(`/${code}/a.tar.gz`)).toBe(1);
    expect(await expectInvariants(stack.storage, code, 'default')).toHaveLength(1);
  });

  it('overwrites with allow_overwrite=true: new hash and size, created unchanged, updated later, one object', async () => {
    const code = uniqueCode();
    const changed = await tarGzArchive(sampleEntries(`${code}-v2`, 2048));
    server.serve(`/${code}/one.tar.gz`, await tarGzArchive(sampleEntries(code)));
    server.serve(`/${code}/two.tar.gz`, changed);
    const first = (await (await post(code, originalDocsBody(server.url(`/${code}/one.tar.gz`), 'v1'))).json()) as Record<string, string>;
    const [before] = await expectInvariants(stack.storage, code, 'default');

    const response = await post(code, originalDocsBody(server.url(`/${code}/two.tar.gz`), 'v1', 'true'));

    expect(response.status).toBe(200);
    const second = (await response.json()) as Record<string, string>;
    expect(second).toMatchObject({ sha256_signature: sha256Of(changed), package_size: String(changed.length), created: first.created });
    // The answer's times have second precision; the record's have milliseconds, and show updated moving on.
    expect((second.updated ?? '') >= (first.updated ?? '')).toBe(true);
    const after = await expectInvariants(stack.storage, code, 'default');
    expect(after).toHaveLength(1);
    expect(after[0]?.created).toBe(before?.created);
    expect((after[0]?.updated ?? '') > (before?.updated ?? '')).toBe(true);
  });

  it('accepts the path without its trailing slash, and urlencoded and JSON bodies', async () => {
    const code = uniqueCode();
    server.serve(`/${code}/a.tar.gz`, await tarGzArchive(sampleEntries(code)));
    const url = server.url(`/${code}/a.tar.gz`);

    const urlencoded = await fetch(stack.linkUrl(code, 'default').replace(/\/$/, ''), {
      method: 'POST',
      headers: { 'X-BKAPI-AUTHORIZATION': JSON.stringify({ access_token: token }) },
      body: new URLSearchParams({ package_url: url, version: 'form-1' }),
    });
    const json = await post(code, JSON.stringify({ package_url: url, version: 'json-1', allow_overwrite: null }), {
      'Content-Type': 'application/json',
    });

    expect(urlencoded.status).toBe(200);
    expect(json.status).toBe(200);
    expect((await recordsOf(stack.storage, code, 'default')).map((r) => r.version).sort()).toEqual(['form-1', 'json-1']);
    await expectInvariants(stack.storage, code, 'default');
  });
});

describe("the remote's file name", () => {
  it.each([
    ['/tar.gz/refs/heads/main', 'attachment; filename="repo-main.tar.gz"', 'repo-main.tar.gz'],
    ['/download?id=3', "attachment; filename*=UTF-8''app%20v1.0.tgz; filename=\"fallback.tar.gz\"", 'app_v1.0.tgz'],
    ['/dl/app-1.0.tar.gz', 'attachment; filename="../../release.zip"', 'release.tar.gz'],
  ])('names the package of %s by its Content-Disposition %j: %j', async (tail, disposition, expected) => {
    const code = uniqueCode();
    const archive = await tarGzArchive(sampleEntries(code));
    server.serve(`/${code}${new URL(tail, 'http://x').pathname}`, archive, { 'content-disposition': disposition });

    const response = await post(code, originalDocsBody(server.url(`/${code}${tail}`), 'v1'));

    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ package_name: expected, sha256_signature: sha256Of(archive) });
    const [record] = await expectInvariants(stack.storage, code, 'default');
    expect(record?.package_name).toBe(expected);
  });
});

describe('the start banner', () => {
  it('fits 100 columns, and the curl it prints, run by bash as printed, registers the package', async () => {
    const code = uniqueCode();
    const archive = await tarGzArchive(sampleEntries(code));
    server.serve(`/${code}/app.tar.gz`, archive);
    const output = stack.output();
    const end = 'Press Ctrl-C to stop.';
    const banner = output.slice(output.indexOf('Local stack ready.'), output.indexOf(end) + end.length).split('\n');
    const script = banner
      .filter((line) => /^ {2}(BASE=|TOKEN=|curl |  -[HF] )/.test(line))
      .join('\n')
      .replace('http://127.0.0.1:8000/app.tar.gz', server.url(`/${code}/app.tar.gz`))
      .replace('/applications/sundy820/', `/applications/${code}/`);

    const { stdout } = await promisify(execFile)('bash', ['-c', `${script} --silent --show-error`], { timeout: 30_000 });

    expect(banner.filter((line) => line.length > 100)).toEqual([]);
    expect(script.split('\n')).toHaveLength(5);
    expect(JSON.parse(stdout)).toMatchObject({ version: '1.0.0', sha256_signature: sha256Of(archive) });
    await expectInvariants(stack.storage, code, 'default');
  });
});

describe("the terminal of npm start", () => {
  it('shows one short line per request and per job, and keeps the JSON logs and metric lines in the data directory', async () => {
    const code = uniqueCode();
    const archive = await tarGzArchive(sampleEntries(code));
    server.serve(`/${code}/app.tar.gz`, archive);
    const before = stack.output().length;

    const registered = await post(code, originalDocsBody(server.url(`/${code}/app.tar.gz`), 'v1'));
    expect(registered.status).toBe(200);
    const refused = await fetch(stack.linkUrl(code, 'default'), { method: 'POST' });
    expect(refused.status).toBe(401);
    await new Promise((resolve) => setTimeout(resolve, 200));

    const lines = stack.output().slice(before).split('\n').filter(Boolean);
    const uuid = '[0-9a-f-]{36}';
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(new RegExp(`^job  ${uuid}  succeeded  \\d+ ms$`)),
        expect.stringMatching(new RegExp(`^POST  ${code}/default link/  200  \\d+ ms  job ${uuid}$`)),
        expect.stringMatching(new RegExp(`^POST  ${code}/default link/  401  UNAUTHENTICATED  \\d+ ms  \\(UNAUTHORIZED \\(identity source missing\\)\\)$`)),
      ]),
    );
    expect(lines.filter((line) => line.length > 120 || line.startsWith('{'))).toEqual([]);

    const logFile = path.join(dataDir, 'logs', 'functions.log');
    const logged = readFileSync(logFile, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(logged).toEqual(expect.arrayContaining([expect.objectContaining({ message: 'link upload answered', code }), expect.objectContaining({ _aws: expect.any(Object) })]));
    expect(stack.output()).toContain(`Logs          ${logFile}`);
  });
});

describe('npm run invoke with the sample events', () => {
  it('runs link and fetch through the running stack\'s Lambda API, each registering its own version', async () => {
    const code = uniqueCode();
    const archive = await tarGzArchive(sampleEntries(code));
    server.serve(`/${code}/app.tar.gz`, archive);
    // The samples name sundy820, the example token and an archive on port 8000: point them at this test's.
    const adapt = (file: string): string => {
      const text = readFileSync(path.join(__dirname, '../../events', file), 'utf8')
        .replaceAll('http://127.0.0.1:8000/app.tar.gz', server.url(`/${code}/app.tar.gz`))
        .replaceAll('sundy820', code)
        .replaceAll('bkpaas_local_example_token', token);
      const adapted = path.join(dataDir, `invoke-${file}`);
      writeFileSync(adapted, text);
      return adapted;
    };
    const invoke = (fn: string, file: string) =>
      promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/invoke.ts', fn, adapt(file)], {
        cwd: path.resolve(__dirname, '../..'),
        env: { ...process.env, LAMBDA_PORT: String(ports.lambda) },
        timeout: 60_000,
      });

    const link = JSON.parse((await invoke('link', 'link-console-raw.json')).stdout) as { statusCode: number; body: string };
    const worker = JSON.parse((await invoke('fetch', 'fetch-direct.json')).stdout) as Record<string, unknown>;

    expect(link.statusCode).toBe(200);
    expect(JSON.parse(link.body)).toMatchObject({ version: 'v5', sha256_signature: sha256Of(archive) });
    expect(worker).toMatchObject({ state: 'succeeded', package: { version: 'v3', sha256_signature: sha256Of(archive) } });
    expect((await expectInvariants(stack.storage, code, 'default')).map((record) => record.version).sort()).toEqual(['v3', 'v5']);
  });
});

describe('the documented curl call without its version part, the version taken from the package', () => {
  it('registers a spec-2 package under the app_version of its app_desc.yaml, and serves the description', async () => {
    const code = uniqueCode();
    const archive = readFileSync(path.join(__dirname, '../fixtures/app-desc/files/spec2.tar.gz'));
    server.serve(`/${code}/smart-app.tar.gz`, archive);
    const body = withoutVersion(originalDocsBody(server.url(`/${code}/smart-app.tar.gz`), 'unused'));
    expect(body).not.toContain('name="version"');

    const response = await post(code, body);

    expect(response.status).toBe(200);
    const answer = (await response.json()) as Record<string, string>;
    expect(Object.keys(answer).sort()).toEqual(['created', 'package_name', 'package_size', 'sha256_signature', 'updated', 'version']);
    expect(answer).toMatchObject({ version: '0.0.2', package_name: 'smart-app.tar.gz', sha256_signature: sha256Of(archive) });
    const [record] = await expectInvariants(stack.storage, code, 'default');
    expect(record).toMatchObject({ version: '0.0.2', app_version: '0.0.2', spec_version: 2, relative_path: './' });
    const auth = { 'X-BKAPI-AUTHORIZATION': JSON.stringify({ access_token: token }) };
    const detail = await fetch(`${stack.baseUrl}/bkapps/applications/${code}/modules/default/source_package/0.0.2/?include=logo`, { headers: auth });
    expect(detail.status).toBe(200);
    expect(await detail.json()).toMatchObject({
      version: '0.0.2',
      app_version: '0.0.2',
      spec_version: 2,
      relative_path: './',
      meta_info: { spec_version: 2, app_version: '0.0.2', app: { bk_app_code: 'myapp', bk_app_name: 'My App' } },
      logo_b64data: null,
    });
  });
});

describe('errors through the local API leave nothing behind', () => {
  it('answers 422 INVALID_PACKAGE_FORMAT for a URL serving an HTML page', async () => {
    const code = uniqueCode();
    server.serve(`/${code}/index.html`, Buffer.from('<html><body>Not an archive</body></html>'), { 'content-type': 'text/html' });

    const response = await post(code, originalDocsBody(server.url(`/${code}/index.html`), 'v1'));

    expect(response.status).toBe(422);
    expect(await response.json()).toMatchObject({ code: 'INVALID_PACKAGE_FORMAT' });
    expect(await expectInvariants(stack.storage, code, 'default')).toEqual([]);
  });

  it('answers 422 PACKAGE_URL_UNAVAILABLE, not a 5xx a client would retry, for a URL answering 404', async () => {
    const code = uniqueCode();

    const response = await post(code, originalDocsBody(server.url(`/${code}/nothing.tar.gz`), 'v1'));

    expect(response.status).toBe(422);
    expect(response.headers.get('bkapi-error-code')).toBe('PACKAGE_URL_UNAVAILABLE');
    expect(await response.json()).toMatchObject({ code: 'PACKAGE_URL_UNAVAILABLE', detail: expect.stringContaining('404') });
    expect(response.headers.get('retry-after')).toBeNull();
    expect(server.hits(`/${code}/nothing.tar.gz`)).toBe(1);
    expect(await expectInvariants(stack.storage, code, 'default')).toEqual([]);
  });

  it("answers 502 PACKAGE_DOWNLOAD_FAILED with the remote's Retry-After for a URL answering 503 with Retry-After: 7", async () => {
    const code = uniqueCode();
    server.route(`/${code}/busy.tar.gz`, (_req, res) => res.writeHead(503, { 'retry-after': '7' }).end('busy'));

    const response = await post(code, originalDocsBody(server.url(`/${code}/busy.tar.gz`), 'v1'));

    expect(response.status).toBe(502);
    expect(response.headers.get('bkapi-error-code')).toBe('PACKAGE_DOWNLOAD_FAILED');
    expect(response.headers.get('retry-after')).toBe('7');
    expect(await expectInvariants(stack.storage, code, 'default')).toEqual([]);
  });

  it('answers 400 VALIDATION_ERROR with fields_detail.version when neither the request nor the package names a version', async () => {
    const code = uniqueCode();
    server.serve(`/${code}/a.tar.gz`, await tarGzArchive(sampleEntries(code)));

    const response = await post(code, withoutVersion(originalDocsBody(server.url(`/${code}/a.tar.gz`), 'v1')));

    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({
      code: 'VALIDATION_ERROR',
      fields_detail: { version: [expect.stringContaining('the package has no app description')] },
    });
    // Without a version nothing can be checked before the download.
    expect(server.hits(`/${code}/a.tar.gz`)).toBe(1);
    expect(await expectInvariants(stack.storage, code, 'default')).toEqual([]);
  });

  it('answers 401 UNAUTHENTICATED without the header, with a malformed header, or an unknown or revoked token', async () => {
    const code = uniqueCode();
    const body = originalDocsBody(server.url(`/${code}/a.tar.gz`), 'v1');
    const revoked = await createToken(stack.storage.dynamodb, stack.storage.tokensTable, { principal: 'leaver', apps: [ALL_APPS] });
    await revokeToken(stack.storage.dynamodb, stack.storage.tokensTable, revoked.record.tokenId);

    // API Gateway answers a missing identity header itself (on AWS in the contract's shape,
    // through the UNAUTHORIZED gateway response, locally too: test/e2e/aws-parity.test.ts).
    const missing = await fetch(stack.linkUrl(code, 'default'), {
      method: 'POST',
      headers: { 'Content-Type': `multipart/form-data; boundary=${BOUNDARY}` },
      body,
    });
    const refusals = await Promise.all(
      ['not json', '{"token": "x"}', '{"access_token": "bkpaas_not-a-token"}', JSON.stringify({ access_token: revoked.token })].map(
        (value) => post(code, body, { 'X-BKAPI-AUTHORIZATION': value }),
      ),
    );

    expect(missing.status).toBe(401);
    const details = [];
    for (const response of refusals) {
      expect(response.status).toBe(401);
      expect(response.headers.get('bkapi-error-code')).toBe('UNAUTHENTICATED');
      details.push(((await response.json()) as { detail: string }).detail);
    }
    expect(new Set(details).size).toBe(4);
    expect(details.join(' ')).not.toContain(revoked.token);
    expect(server.hits(`/${code}/a.tar.gz`)).toBe(0);
  });

  it('answers 403 PERMISSION_DENIED for a valid token not allowed on the application', async () => {
    const code = uniqueCode();
    const other = await createToken(stack.storage.dynamodb, stack.storage.tokensTable, { principal: 'team-b', apps: ['team-b-app'] });

    const response = await post(code, originalDocsBody(server.url(`/${code}/a.tar.gz`), 'v1'), {
      'X-BKAPI-AUTHORIZATION': JSON.stringify({ access_token: other.token }),
    });

    expect(response.status).toBe(403);
    expect(await response.json()).toMatchObject({ code: 'PERMISSION_DENIED' });
    expect(server.hits(`/${code}/a.tar.gz`)).toBe(0);
    expect(await expectInvariants(stack.storage, code, 'default')).toEqual([]);
  });

  it('answers 415 UNSUPPORTED_MEDIA_TYPE for a text/plain body', async () => {
    const response = await post(uniqueCode(), 'package_url=x', { 'Content-Type': 'text/plain' });

    expect(response.status).toBe(415);
    expect(await response.json()).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE' });
  });
});

async function followJob(location: string): Promise<Record<string, unknown>> {
  const url = new URL(location, stack.baseUrl);
  for (let i = 0; i < 100; i++) {
    const response = await fetch(url, { headers: { 'X-BKAPI-AUTHORIZATION': JSON.stringify({ access_token: token }) } });
    expect(response.status).toBe(200);
    const job = (await response.json()) as Record<string, unknown>;
    if (job.state === 'succeeded' || job.state === 'failed') return job;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`job at ${location} did not finish`);
}

describe('asynchronous mode and the job resource', () => {
  it('answers 202 with a Location for Prefer: respond-async, and the job ends with the record a synchronous call returns', async () => {
    const code = uniqueCode();
    const archive = await tarGzArchive(sampleEntries(code));
    server.serve(`/${code}/async.tar.gz`, archive);

    const response = await post(code, originalDocsBody(server.url(`/${code}/async.tar.gz`), 'v1'), { Prefer: 'respond-async' });

    expect(response.status).toBe(202);
    const location = response.headers.get('location') ?? '';
    expect(location).toMatch(/\/source_package\/link\/jobs\/[A-Za-z0-9_-]+\/$/);
    expect(await response.json()).toMatchObject({ state: 'pending', location });
    const job = await followJob(location);
    expect(job).toMatchObject({ state: 'succeeded', package: { version: 'v1', sha256_signature: sha256Of(archive), package_size: String(archive.length) } });
    const [record] = await expectInvariants(stack.storage, code, 'default');
    expect(record?.sha256).toBe(sha256Of(archive));
  });

  it('turns a download slower than the budget into a 202, and the job completes', async () => {
    const code = uniqueCode();
    const archive = await tarGzArchive(sampleEntries(code));
    server.route(`/${code}/slow.tar.gz`, (_req, res) => {
      res.writeHead(200, { 'content-length': archive.length });
      res.write(archive.subarray(0, 100));
      setTimeout(() => res.end(archive.subarray(100)), SYNC_BUDGET_MS + 1500);
    });

    const response = await post(code, originalDocsBody(server.url(`/${code}/slow.tar.gz`), 'v1'));

    expect(response.status).toBe(202);
    const job = await followJob(response.headers.get('location') ?? '');
    expect(job).toMatchObject({ state: 'succeeded', package: { sha256_signature: sha256Of(archive) } });
    expect(server.hits(`/${code}/slow.tar.gz`)).toBe(1);
    await expectInvariants(stack.storage, code, 'default');
  });

  it('replays the first answer for a repeated Idempotency-Key, and refuses the key for another request', async () => {
    const code = uniqueCode();
    server.serve(`/${code}/a.tar.gz`, await tarGzArchive(sampleEntries(code)));
    const key = { 'Idempotency-Key': randomUUID() };
    const first = await post(code, originalDocsBody(server.url(`/${code}/a.tar.gz`), 'v1'), key);

    const again = await post(code, originalDocsBody(server.url(`/${code}/a.tar.gz`), 'v1'), key);
    const other = await post(code, originalDocsBody(server.url(`/${code}/a.tar.gz`), 'v2'), key);

    expect(first.status).toBe(200);
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual(await first.json());
    expect(other.status).toBe(400);
    expect(server.hits(`/${code}/a.tar.gz`)).toBe(1);
  });

  it('answers 404 JOB_NOT_FOUND for a job of another module', async () => {
    const code = uniqueCode();
    server.serve(`/${code}/a.tar.gz`, await tarGzArchive(sampleEntries(code)));
    const response = await post(code, originalDocsBody(server.url(`/${code}/a.tar.gz`), 'v1'), { Prefer: 'respond-async' });
    const location = response.headers.get('location') ?? '';
    await followJob(location);

    const elsewhere = await fetch(new URL(location.replace('/modules/default/', '/modules/other/'), stack.baseUrl), {
      headers: { 'X-BKAPI-AUTHORIZATION': JSON.stringify({ access_token: token }) },
    });

    expect(elsewhere.status).toBe(404);
    expect(await elsewhere.json()).toMatchObject({ code: 'JOB_NOT_FOUND' });
  });
});

describe('read endpoints through the local API', () => {
  const auth = () => ({ 'X-BKAPI-AUTHORIZATION': JSON.stringify({ access_token: token }) });
  const packagesUrl = (code: string, rest = '') => `${stack.baseUrl}/bkapps/applications/${code}/modules/default/source_package/${rest}`;

  it('lists a module newest first across pages, serves a working download URL, and deletes record and object', async () => {
    const code = uniqueCode();
    const archives: Buffer[] = [];
    for (const version of ['v1', 'v2', 'v3']) {
      const archive = await tarGzArchive(sampleEntries(`${code}-${version}`));
      archives.push(archive);
      server.serve(`/${code}/${version}.tar.gz`, archive);
      expect((await post(code, originalDocsBody(server.url(`/${code}/${version}.tar.gz`), version))).status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await fetch(`${packagesUrl(code)}?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { headers: auth() });
      expect(page.status).toBe(200);
      const body = (await page.json()) as { results: { version: string }[]; next: string | null };
      seen.push(...body.results.map((r) => r.version));
      cursor = body.next;
      pages += 1;
    } while (cursor);
    expect(seen).toEqual(['v3', 'v2', 'v1']);
    expect(pages).toBe(2);

    const one = await fetch(packagesUrl(code, 'v2/'), { headers: auth() });
    expect(one.status).toBe(200);
    const detail = (await one.json()) as { download_url: string };
    expect(Buffer.from(await (await fetch(detail.download_url)).arrayBuffer())).toEqual(archives[1]);

    const deleted = await fetch(packagesUrl(code, 'v2/'), { method: 'DELETE', headers: auth() });
    expect(deleted.status).toBe(204);
    expect((await expectInvariants(stack.storage, code, 'default')).map((r) => r.version).sort()).toEqual(['v1', 'v3']);
    expect((await fetch(packagesUrl(code, 'v2/'), { headers: auth() })).status).toBe(404);
  });
});

/**
 * The job's events, once its `ends` have landed, in the order put; then a settle period, so that a
 * repeat put moments later (a retried call the bus had stored) is caught: exactly one event per end.
 */
async function settledEventsOfJob(jobId: string, ends = 1): Promise<DeliveredEvent[]> {
  const ofJob = () => eventsOfJob(path.join(dataDir, 'event-bus'), jobId);
  if (!(await waitFor(() => ofJob().length >= ends, 10_000, 100))) throw new Error(`${ofJob().length} of ${ends} events for job ${jobId} on the local bus`);
  // Longer than the publisher's pause between attempts and a refused call's round trip.
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const found = ofJob();
  const endsSeen = found.map((event) => (event.detail as { finished_at?: string }).finished_at);
  expect(endsSeen).toEqual(Array.from({ length: ends }, () => expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/)));
  expect(new Set(endsSeen).size).toBe(ends);
  return found;
}

/** The event the local bus took for `jobId`, once it is there. */
const eventOfJob = async (jobId: string): Promise<DeliveredEvent> => (await settledEventsOfJob(jobId))[0]!;

describe("a job's end on the local event bus", () => {
  it('leaves one Source Package Registered event for a succeeded job, in the documented schema, and npm run events shows it', async () => {
    const code = uniqueCode();
    const entries = [{ name: 'app_desc.yaml', content: `spec_version: 2\napp:\n  bk_app_code: ${code}\napp_version: "2.0.1"\n` }, ...sampleEntries(code)];
    const archive = await tarGzArchive(entries);
    server.serve(`/${code}/evented.tar.gz`, archive);

    const response = await post(code, originalDocsBody(server.url(`/${code}/evented.tar.gz`), 'v1'));

    expect(response.status).toBe(200);
    const answer = (await response.json()) as Record<string, string>;
    const event = await eventOfJob(response.headers.get('x-job-id') ?? '');
    expect(schemaProblems(event)).toEqual([]);
    expect(event).toMatchObject({ source: 'bkpaas.source-package', 'detail-type': 'Source Package Registered' });
    expect(event.detail).toEqual({ ...answer, job_id: response.headers.get('x-job-id'), code, module_name: 'default', finished_at: expect.any(String), app_description: { spec_version: 2, app_code: code, app_version: '2.0.1' } });

    const { stdout } = await runScript('events.ts', [], { ...process.env, LOCAL_DATA_DIR: dataDir });
    expect(stdout).toMatch(new RegExp(`registered {2}${code}/default v1 {2}evented\\.tar\\.gz {2}${archive.length} B .*job ${response.headers.get('x-job-id')}`));
  });

  it('leaves one Source Package Job Failed event for a failed job, with the error and its status', async () => {
    const code = uniqueCode();
    server.serve(`/${code}/pinned.tar.gz`, await tarGzArchive(sampleEntries(code)));
    const body = new URLSearchParams({ package_url: server.url(`/${code}/pinned.tar.gz`), version: 'v1', sha256: '0'.repeat(64) });

    const response = await post(code, body, { 'Content-Type': 'application/x-www-form-urlencoded' });

    expect(response.status).toBe(422);
    const event = await eventOfJob(response.headers.get('x-job-id') ?? '');
    expect(schemaProblems(event)).toEqual([]);
    expect(event).toMatchObject({ 'detail-type': 'Source Package Job Failed', detail: { code, module_name: 'default', version: 'v1', error: { code: 'CHECKSUM_MISMATCH', status: 422 } } });
  });

  it('announces each end of a job that ends twice under one job_id (failed with a 5xx, sent again under its Idempotency-Key), each with its own finished_at', async () => {
    const code = uniqueCode();
    const archive = await tarGzArchive(sampleEntries(code));
    let busy = true;
    server.route(`/${code}/flaky.tar.gz`, (_req, res) => (busy ? res.writeHead(503).end('busy') : res.writeHead(200, { 'content-length': archive.length }).end(archive)));
    const key = { 'Idempotency-Key': randomUUID() };

    const first = await post(code, originalDocsBody(server.url(`/${code}/flaky.tar.gz`), 'v1'), key);
    busy = false;
    const again = await post(code, originalDocsBody(server.url(`/${code}/flaky.tar.gz`), 'v1'), key);

    expect([first.status, again.status]).toEqual([502, 200]);
    expect(again.headers.get('x-job-id')).toBe(first.headers.get('x-job-id'));
    const [failed, registered] = await settledEventsOfJob(first.headers.get('x-job-id') ?? '', 2);
    expect([failed?.['detail-type'], registered?.['detail-type']]).toEqual(['Source Package Job Failed', 'Source Package Registered']);
    const endOf = (event: DeliveredEvent | undefined) => (event?.detail as { finished_at: string }).finished_at;
    expect(endOf(registered) > endOf(failed)).toBe(true);
  });
});

describe('restarting the local stack', () => {
  it('keeps records and objects across a stop and start', async () => {
    const code = uniqueCode();
    const archive = await tarGzArchive(sampleEntries(code));
    server.serve(`/${code}/keep.tar.gz`, archive);
    expect((await post(code, originalDocsBody(server.url(`/${code}/keep.tar.gz`), 'v1'))).status).toBe(200);

    await stack.stop();
    stack = await startLocalStack({ dataDir, token, ports, env: STACK_ENV });

    const [record] = await expectInvariants(stack.storage, code, 'default');
    expect(await objectBytes(stack.storage, record?.object_key ?? '')).toEqual(archive);
    const again = await post(code, originalDocsBody(server.url(`/${code}/keep.tar.gz`), 'v1'));
    expect(again.status).toBe(409);
    expect(server.hits(`/${code}/keep.tar.gz`)).toBe(1);
  });
});
