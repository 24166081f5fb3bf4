/**
 * The read endpoints (list, get one, delete one) through the `packages` handler, against the
 * DynamoDB and S3 emulators, in stage `stag`: authorized by an API Gateway verdict in the request
 * context, or — invoked directly, with no verdict — by the header checked against the token table.
 */
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createFetchHandler } from '../../../handlers/fetch';
import { createPackagesHandler } from '../../../handlers/packages';
import { signingKeyOf } from '../../../lib/core/config';
import type { HttpResponse } from '../../../lib/http/http-response';
import { encodeCursor } from '../../../lib/use-cases/list-cursor';
import { objectKeyFor } from '../../../lib/storage/package-store';
import { createToken } from '../../../lib/auth/token-store';
import { writeVersion } from '../../../lib/storage/version-records';
import { useWorkerRig } from '../../helpers/worker-rig';
import { sampleEntries, sha256Of, tarGzArchive } from '../../helpers/archives';
import { expectInvariants, objectKeysOf, recordsOf } from '../../helpers/storage';

const rig = useWorkerRig();

afterEach(() => {
  vi.restoreAllMocks();
});

const API_TIME = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/;
const context = { awsRequestId: 'direct' };

function uniqueCode(): string {
  return `app-${randomUUID().slice(0, 8)}`;
}

function packages(options: { now?: () => Date; s3?: S3Client; stage?: string; logLevel?: string } = {}) {
  const stage = options.stage ?? 'stag';
  return createPackagesHandler({
    config: rig.storage.config({ STAGE: stage, ALLOW_PRIVATE_URLS: stage === 'local' ? 'true' : 'false', ...(options.logLevel ? { LOG_LEVEL: options.logLevel } : {}) }),
    dynamodb: rig.storage.clientsOf('packages').dynamodb,
    s3: options.s3 ?? rig.storage.clientsOf('packages').s3,
    now: options.now ?? (() => new Date()),
  });
}

/** API Gateway's verdict for a caller allowed on `apps`, as the authorizer hands it over. */
function verdict(apps: string[], principal = 'reader') {
  return { authenticated: 'true', principal, token_id: 'tok_reader', apps: apps.join(',') };
}

interface Call {
  method: 'GET' | 'DELETE' | 'POST';
  code: string;
  module?: string;
  version?: string;
  query?: Record<string, string>;
  /** The authorizer's context; none when invoked directly. */
  authorizer?: Record<string, unknown>;
  headers?: Record<string, string>;
}

/** An API Gateway REST (payload 1.0) proxy event for one of the read routes. */
function restEvent(call: Call) {
  const module = call.module ?? 'default';
  const base = `/bkapps/applications/${call.code}/modules/${module}/source_package`;
  return {
    resource: `/bkapps/applications/{code}/modules/{module_name}/source_package${call.version === undefined ? '' : '/{version}'}`,
    path: call.version === undefined ? `${base}/` : `${base}/${call.version}/`,
    httpMethod: call.method,
    headers: call.headers ?? {},
    queryStringParameters: call.query ?? null,
    pathParameters: { code: call.code, module_name: module, ...(call.version === undefined ? {} : { version: call.version }) },
    requestContext: { requestId: randomUUID(), stage: 'stag', ...(call.authorizer ? { authorizer: call.authorizer } : {}) },
    body: null,
    isBase64Encoded: false,
  };
}

function send(call: Call, handler = packages()): Promise<HttpResponse> {
  return handler(restEvent({ authorizer: verdict([call.code]), ...call }), context);
}

function json(response: HttpResponse): Record<string, unknown> {
  return JSON.parse(response.body) as Record<string, unknown>;
}

/**
 * A version as the worker leaves it, written directly: its object uploaded, then its record,
 * with a chosen `updated` so the order of a listing is known.
 */
async function storeVersion(code: string, version: string, updated: Date, module = 'default'): Promise<Buffer> {
  const bytes = randomBytes(100 + Math.floor(Math.random() * 100));
  const requestId = randomUUID();
  const objectKey = objectKeyFor(code, module, requestId);
  await rig.storage.s3.send(new PutObjectCommand({ Bucket: rig.storage.bucket, Key: objectKey, Body: bytes }));
  await writeVersion(
    rig.storage.dynamodb,
    rig.storage.table,
    {
      code,
      module,
      version,
      packageName: `${version}.tar.gz`,
      packageSize: bytes.length,
      sha256: sha256Of(bytes),
      format: 'tar.gz',
      entryCount: 1,
      uncompressedSize: bytes.length,
      objectKey,
      requestId,
      operator: 'writer',
      updated: updated.toISOString(),
    },
    false,
  );
  return bytes;
}

/** `count` versions v1…vN, each a minute newer than the one before. */
async function storeVersions(code: string, count: number, module = 'default'): Promise<void> {
  const start = Date.parse('2026-01-01T00:00:00.000Z');
  for (let i = 1; i <= count; i += 1) await storeVersion(code, `v${i}`, new Date(start + i * 60_000), module);
}

/** Registers a package the way production does: the fetch worker downloading from a real rig.server. */
async function registerWithWorker(code: string, version: string, fileName: string): Promise<{ archive: Buffer; answer: Record<string, unknown> }> {
  const archive = await tarGzArchive(sampleEntries(`${code}-${version}`));
  rig.server.serve(`/${code}/${fileName}`, archive);
  const worker = createFetchHandler({ config: rig.storage.config(), ...rig.storage.clientsOf('fetch'), now: () => new Date() });
  const result = (await worker(
    {
      request_id: randomUUID(),
      code,
      module: 'default',
      version,
      package_url: rig.server.url(`/${code}/${fileName}`),
      allow_overwrite: false,
      operator: 'worker-principal',
    },
    { awsRequestId: randomUUID(), getRemainingTimeInMillis: () => 120_000 },
  )) as unknown as Record<string, unknown>;
  const answer = result.package as Record<string, unknown> | undefined;
  if (!answer) throw new Error(`the worker did not register the package: ${JSON.stringify(result)}`);
  return { archive, answer };
}

async function listAll(code: string, limit: number): Promise<{ pages: string[][]; nexts: (string | null)[]; counts: number[] }> {
  const pages: string[][] = [];
  const counts: number[] = [];
  const nexts: (string | null)[] = [];
  let cursor: string | null = null;
  do {
    const response = await send({ method: 'GET', code, query: { limit: String(limit), ...(cursor ? { cursor } : {}) } });
    expect(response.statusCode).toBe(200);
    const body = json(response) as { count: number; results: { version: string }[]; next: string | null };
    counts.push(body.count);
    pages.push(body.results.map((item) => item.version));
    nexts.push(body.next);
    cursor = body.next;
    if (pages.length > 10) throw new Error('the listing does not end');
  } while (cursor);
  return { pages, nexts, counts };
}

describe('listing a module\'s packages', () => {
  it('pages through 5 versions 2 at a time, newest first, each exactly once, in 3 pages', async () => {
    const code = uniqueCode();
    await storeVersions(code, 5);

    const { pages, nexts, counts } = await listAll(code, 2);

    expect(pages).toEqual([['v5', 'v4'], ['v3', 'v2'], ['v1']]);
    // `count` is the module's total on every page, as Django REST framework and the platform count.
    expect(counts).toEqual([5, 5, 5]);
    expect(nexts[0]).toEqual(expect.any(String));
    expect(nexts[1]).toEqual(expect.any(String));
    expect(nexts[2]).toBeNull();
  });

  it('answers each item with the link answer\'s fields, its operator, and null spec and app versions without an app description', async () => {
    const code = uniqueCode();
    const bytes = await storeVersion(code, 'v1', new Date('2026-03-04T05:06:07.890Z'));

    const response = await send({ method: 'GET', code });

    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toContain('application/json');
    expect(json(response)).toEqual({
      count: 1,
      results: [
        {
          version: 'v1',
          package_name: 'v1.tar.gz',
          package_size: String(bytes.length),
          sha256_signature: sha256Of(bytes),
          updated: '2026-03-04 05:06:07',
          created: '2026-03-04 05:06:07',
          operator: 'writer',
          spec_version: null,
          app_version: null,
        },
      ],
      next: null,
    });
  });

  it('ends on the last full page when the versions divide evenly, with no empty page after it', async () => {
    const code = uniqueCode();
    await storeVersions(code, 4);

    const { pages, nexts } = await listAll(code, 2);

    expect(pages).toEqual([['v4', 'v3'], ['v2', 'v1']]);
    expect(nexts[1]).toBeNull();
  });

  it('lists 20 by default and only the module in the path, counting only its versions', async () => {
    const code = uniqueCode();
    await storeVersions(code, 22);
    await storeVersion(code, 'elsewhere', new Date('2030-01-01T00:00:00.000Z'), 'other-module');

    const body = json(await send({ method: 'GET', code })) as { count: number; results: { version: string }[]; next: string | null };

    expect(body.count).toBe(22);
    expect(body.results).toHaveLength(20);
    expect(body.results[0]?.version).toBe('v22');
    expect(body.results.map((item) => item.version)).not.toContain('elsewhere');
    expect(body.next).toEqual(expect.any(String));
  });

  it('moves an overwritten version to the front', async () => {
    const code = uniqueCode();
    await storeVersions(code, 3);
    const [v1] = (await recordsOf(rig.storage, code, 'default')).filter((record) => record.version === 'v1');
    await writeVersion(
      rig.storage.dynamodb,
      rig.storage.table,
      {
        code,
        module: 'default',
        version: 'v1',
        packageName: 'v1.tar.gz',
        packageSize: v1?.package_size ?? 0,
        sha256: v1?.sha256 ?? '',
        format: 'tar.gz',
        entryCount: 1,
        uncompressedSize: v1?.package_size ?? 0,
        objectKey: v1?.object_key ?? '',
        requestId: randomUUID(),
        operator: 'writer',
        updated: '2026-06-01T00:00:00.000Z',
      },
      true,
    );

    const { pages } = await listAll(code, 100);

    expect(pages).toEqual([['v1', 'v3', 'v2']]);
  });

  it('answers an empty list for a module with no packages', async () => {
    const response = await send({ method: 'GET', code: uniqueCode() });

    expect(response.statusCode).toBe(200);
    expect(json(response)).toEqual({ count: 0, results: [], next: null });
  });

  it.each(['0', '101', 'abc', '', '2.5', '-1', '1e1', '0x10'])('answers 400 VALIDATION_ERROR for limit=%j', async (limit) => {
    const code = uniqueCode();

    const response = await send({ method: 'GET', code, query: { limit } });

    expect(response.statusCode).toBe(400);
    expect(response.headers['bkapi-error-code']).toBe('VALIDATION_ERROR');
    expect(json(response)).toMatchObject({ code: 'VALIDATION_ERROR', fields_detail: { limit: [expect.any(String)] } });
  });

  it('accepts the limits 1 and 100', async () => {
    const code = uniqueCode();
    await storeVersions(code, 2);

    const one = json(await send({ method: 'GET', code, query: { limit: '1' } }));
    const hundred = json(await send({ method: 'GET', code, query: { limit: '100' } }));

    expect(one).toMatchObject({ count: 2, next: expect.any(String) });
    expect(one.results).toHaveLength(1);
    expect(hundred).toMatchObject({ count: 2, next: null });
  });

  const b64 = (value: unknown): string => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
  /** Signed as the service signs (`payload.HMAC`): what someone holding the key could forge. */
  const signed = (value: unknown, key = signingKeyOf(rig.storage.config())): string =>
    `${b64(value)}.${createHmac('sha256', key).update(b64(value)).digest('base64url')}`;
  const forged = (code: string): [string, string][] => {
    const good = { listing: 'packages', module_key: `${code}/default`, version: 'v1', updated: '2026-01-01T00:00:00.000Z', count: '3' };
    const { updated: _updated, ...withoutUpdated } = good;
    return [
      ['not base64url', 'not a cursor!'],
      ['an unsigned position', b64(good)],
      ['a position signed with another key', signed(good, 'k'.repeat(64))],
      ['base64url of garbage, signed', signed('garbage{')],
      ['a JSON array, signed', signed([1, 2])],
      ['JSON null, signed', signed(null)],
      ['a key with an extra attribute, signed', signed({ ...good, x: '1' })],
      ['a key without updated, signed', signed(withoutUpdated)],
      ['a key in DynamoDB attribute form, signed', signed({ ...good, version: { S: 'v1' } })],
      ['an invalid version, signed', signed({ ...good, version: '.hidden' })],
      ['a time that is not one, signed', signed({ ...good, updated: 'yesterday' })],
      ['a count that is not one, signed', signed({ ...good, count: '-1' })],
      ['a count in exponent form, signed', signed({ ...good, count: '1e3' })],
      ['the job listing\'s cursor, signed', signed({ ...good, listing: 'jobs' })],
      ['an overlong cursor', 'A'.repeat(5000)],
    ];
  };

  it('answers 400 VALIDATION_ERROR, never a 500, for forged and garbled cursors, even ones signed with the key', async () => {
    const code = uniqueCode();
    await storeVersions(code, 3);

    for (const [what, cursor] of forged(code)) {
      const response = await send({ method: 'GET', code, query: { limit: '1', cursor } });

      expect({ what, status: response.statusCode }).toEqual({ what, status: 400 });
      expect(json(response)).toMatchObject({ code: 'VALIDATION_ERROR', fields_detail: { cursor: [expect.any(String)] } });
    }
  });

  it('refuses a cursor it issued once any character of it is altered', async () => {
    const code = uniqueCode();
    await storeVersions(code, 3);
    const issued = json(await send({ method: 'GET', code, query: { limit: '1' } })).next as string;
    const [payload = '', signature = ''] = issued.split('.');
    const position = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, string>;
    // The last base64url character carries 2 unused bits: its other spellings are other cursors too.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const value = alphabet.indexOf(signature.slice(-1));
    const respelled = [1, 2, 3].map((low) => `${payload}.${signature.slice(0, -1)}${alphabet[(value & ~3) | low]}`);
    const altered = [
      `${b64({ ...position, version: 'v1' })}.${signature}`,
      `${b64({ ...position, count: '1000' })}.${signature}`,
      `${payload}.${signature.slice(0, -2)}${signature.endsWith('AA') ? 'BB' : 'AA'}`,
      ...respelled,
      payload,
      `${payload}.`,
    ];

    const answers = await Promise.all(altered.map((cursor) => send({ method: 'GET', code, query: { limit: '1', cursor } })));
    const untouched = await send({ method: 'GET', code, query: { limit: '1', cursor: issued } });

    expect(answers.map((answer) => answer.statusCode)).toEqual(altered.map(() => 400));
    expect(untouched.statusCode).toBe(200);
  });

  it("refuses another module's or another application's cursor, even one it issued", async () => {
    const code = uniqueCode();
    const otherCode = uniqueCode();
    await storeVersions(code, 3);
    await storeVersions(code, 3, 'other-module');
    await storeVersions(otherCode, 3);
    const issued = json(await send({ method: 'GET', code, module: 'other-module', query: { limit: '1' } })).next as string;
    const otherAppCursor = json(await send({ method: 'GET', code: otherCode, query: { limit: '1' } })).next as string;
    expect(issued).toEqual(expect.any(String));

    const sameAppOtherModule = await send({ method: 'GET', code, query: { limit: '1', cursor: issued } });
    const otherApp = await send({ method: 'GET', code, query: { limit: '1', cursor: otherAppCursor } });
    const ownCursor = await send({ method: 'GET', code, module: 'other-module', query: { limit: '1', cursor: issued } });

    expect(sameAppOtherModule.statusCode).toBe(400);
    expect(otherApp.statusCode).toBe(400);
    expect(ownCursor.statusCode).toBe(200);
  });

  it('takes a cursor that names a position in its own module as a position, nothing more', async () => {
    const code = uniqueCode();
    await storeVersions(code, 5);
    const cursor = encodeCursor({ position: { code, module: 'default', version: 'v3', updated: '2026-01-01T00:03:00.000Z' }, count: 5 }, signingKeyOf(rig.storage.config()));

    const body = json(await send({ method: 'GET', code, query: { cursor } })) as { results: { version: string }[] };

    expect(body.results.map((item) => item.version)).toEqual(['v2', 'v1']);
  });
});

describe('authorization', () => {
  const header = (token: string) => ({ 'X-BKAPI-AUTHORIZATION': JSON.stringify({ access_token: token }) });

  it('answers 403 PERMISSION_DENIED on every route when the verdict does not allow the application', async () => {
    const code = uniqueCode();
    await storeVersions(code, 1);
    const authorizer = verdict(['other-app']);

    const responses = await Promise.all([
      send({ method: 'GET', code, authorizer }),
      send({ method: 'GET', code, version: 'v1', authorizer }),
      send({ method: 'DELETE', code, version: 'v1', authorizer }),
    ]);

    for (const response of responses) {
      expect(response.statusCode).toBe(403);
      expect(json(response)).toEqual({ code: 'PERMISSION_DENIED', detail: expect.stringContaining(code) });
    }
    expect(await recordsOf(rig.storage, code, 'default')).toHaveLength(1);
  });

  it('checks the header against the token table when invoked without a verdict', async () => {
    const code = uniqueCode();
    await storeVersions(code, 2);
    const allowed = await createToken(rig.storage.dynamodb, rig.storage.tokensTable, { principal: 'direct-reader', apps: [code] });
    const elsewhere = await createToken(rig.storage.dynamodb, rig.storage.tokensTable, { principal: 'stranger', apps: ['other-app'] });
    const handler = packages();

    const ok = await handler(restEvent({ method: 'GET', code, headers: header(allowed.token) }), context);
    const denied = await handler(restEvent({ method: 'GET', code, headers: header(elsewhere.token) }), context);
    const unknown = await handler(restEvent({ method: 'GET', code, headers: header('bkpaas_unknown') }), context);
    const missing = await handler(restEvent({ method: 'GET', code }), context);

    expect(ok.statusCode).toBe(200);
    expect(json(ok)).toMatchObject({ count: 2 });
    expect(denied.statusCode).toBe(403);
    expect(denied.headers['bkapi-error-code']).toBe('PERMISSION_DENIED');
    expect(unknown.statusCode).toBe(401);
    expect(json(unknown).detail).toContain('not recognised');
    expect(missing.statusCode).toBe(401);
    expect(json(missing).detail).toContain('missing');
  });

  it("passes the authorizer's refusal on as the contract's 401", async () => {
    const response = await send({
      method: 'GET',
      code: uniqueCode(),
      authorizer: { authenticated: 'false', code: 'UNAUTHENTICATED', detail: 'The access token has expired.' },
    });

    expect(response.statusCode).toBe(401);
    expect(json(response)).toEqual({ code: 'UNAUTHENTICATED', detail: 'The access token has expired.' });
  });

  it("takes the authorizer's verdict in the local stage too, whose API Gateway (like AWS's) lets no client write it", async () => {
    const response = await send({ method: 'GET', code: uniqueCode(), authorizer: verdict(['*']) }, packages({ stage: 'local' }));

    expect(response.statusCode).toBe(200);
  });
});

describe('getting one version', () => {
  it('answers the record, the platform\'s defaults without an app description, and a download URL that fetches the exact bytes', async () => {
    const code = uniqueCode();
    const { archive, answer } = await registerWithWorker(code, 'v1.0', 'app-1.0.tar.gz');
    const now = new Date();

    const response = await send({ method: 'GET', code, version: 'v1.0' }, packages({ now: () => now }));

    expect(response.statusCode).toBe(200);
    const body = json(response);
    expect(body).toEqual({
      ...answer,
      operator: 'worker-principal',
      spec_version: null,
      app_version: null,
      meta_info: {},
      relative_path: './',
      download_url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\//),
      download_url_expires: new Date(now.getTime() + 15 * 60_000).toISOString().slice(0, 19).replace('T', ' '),
    });
    expect(body.sha256_signature).toBe(sha256Of(archive));
    const download = await fetch(body.download_url as string);
    expect(download.status).toBe(200);
    expect(Buffer.from(await download.arrayBuffer()).equals(archive)).toBe(true);
    expect(download.headers.get('content-disposition')).toBe('attachment; filename="app-1.0.tar.gz"');
  });

  it('signs the download URL for 15 minutes: valid at 14, refused at 16', async () => {
    const code = uniqueCode();
    await storeVersion(code, 'v1', new Date());
    const signedAgo = (minutes: number) => packages({ now: () => new Date(Date.now() - minutes * 60_000) });

    const fresh = json(await send({ method: 'GET', code, version: 'v1' }, signedAgo(14)));
    const stale = json(await send({ method: 'GET', code, version: 'v1' }, signedAgo(16)));

    expect(new URL(fresh.download_url as string).searchParams.get('X-Amz-Expires')).toBe('900');
    expect((await fetch(fresh.download_url as string)).status).toBe(200);
    expect((await fetch(stale.download_url as string)).status).toBe(403);
    expect(fresh.download_url_expires).toMatch(API_TIME);
  });

  it('answers 404 PACKAGE_NOT_FOUND for a version that does not exist', async () => {
    const code = uniqueCode();
    await storeVersions(code, 1);

    const response = await send({ method: 'GET', code, version: 'v2' });

    expect(response.statusCode).toBe(404);
    expect(response.headers['bkapi-error-code']).toBe('PACKAGE_NOT_FOUND');
    expect(json(response)).toEqual({ code: 'PACKAGE_NOT_FOUND', detail: expect.stringContaining('v2') });
  });

  it.each(['.hidden', 'a'.repeat(129), 'v1%2Fetc', 'v1 v2'])('answers 400 VALIDATION_ERROR for the version %j in the path', async (version) => {
    const response = await send({ method: 'GET', code: uniqueCode(), version });

    expect(response.statusCode).toBe(400);
    expect(json(response)).toMatchObject({ code: 'VALIDATION_ERROR', fields_detail: { version: [expect.any(String)] } });
  });

  it('reads a percent-encoded version in the path as the label it encodes', async () => {
    const code = uniqueCode();
    await storeVersion(code, 'v1+build.7', new Date());

    const response = await send({ method: 'GET', code, version: 'v1%2Bbuild.7' });

    expect(response.statusCode).toBe(200);
    expect(json(response).version).toBe('v1+build.7');
  });
});

describe('deleting one version', () => {
  it('removes the record and its object, leaves the other versions, and answers 204 with no body', async () => {
    const code = uniqueCode();
    await storeVersions(code, 2);
    const [doomed] = (await recordsOf(rig.storage, code, 'default')).filter((record) => record.version === 'v1');

    const response = await send({ method: 'DELETE', code, version: 'v1' });

    expect(response.statusCode).toBe(204);
    expect(response.body).toBe('');
    const remaining = await expectInvariants(rig.storage, code, 'default');
    expect(remaining.map((record) => record.version)).toEqual(['v2']);
    expect(await objectKeysOf(rig.storage, code, 'default')).not.toContain(doomed?.object_key);
    expect((await send({ method: 'GET', code, version: 'v1' })).statusCode).toBe(404);
  });

  it('deletes a package the worker registered, and a second delete still answers 204', async () => {
    const code = uniqueCode();
    await registerWithWorker(code, 'v1', 'app.tar.gz');
    expect(await objectKeysOf(rig.storage, code, 'default')).toHaveLength(1);

    const first = await send({ method: 'DELETE', code, version: 'v1' });
    const second = await send({ method: 'DELETE', code, version: 'v1' });

    expect([first.statusCode, second.statusCode]).toEqual([204, 204]);
    expect(await expectInvariants(rig.storage, code, 'default')).toEqual([]);
  });

  it('answers 204 for a version that never existed', async () => {
    const response = await send({ method: 'DELETE', code: uniqueCode(), version: 'never' });

    expect(response.statusCode).toBe(204);
  });

  it('retries the object delete, so a passing S3 failure still ends in 204 with nothing left', async () => {
    const code = uniqueCode();
    await storeVersions(code, 1);
    let failures = 1;
    const packagesS3 = rig.storage.clientsOf('packages').s3;
    const flaky = {
      send: (command: Parameters<S3Client['send']>[0]) =>
        failures-- > 0 ? Promise.reject(new Error('S3 hiccup')) : packagesS3.send(command),
    } as unknown as S3Client;

    const response = await send({ method: 'DELETE', code, version: 'v1' }, packages({ s3: flaky }));

    expect(response.statusCode).toBe(204);
    expect(await expectInvariants(rig.storage, code, 'default')).toEqual([]);
  });

  it('answers 503 STORAGE_UNAVAILABLE and puts the record back when S3 keeps failing, so a retry can finish', async () => {
    const code = uniqueCode();
    await storeVersions(code, 1);
    const [record] = await recordsOf(rig.storage, code, 'default');
    let attempts = 0;
    const down = { send: () => ((attempts += 1), Promise.reject(new Error('S3 is down'))) } as unknown as S3Client;
    const lines: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });

    const response = await send({ method: 'DELETE', code, version: 'v1' }, packages({ s3: down, logLevel: 'error' }));
    vi.restoreAllMocks();

    expect(response.statusCode).toBe(503);
    expect(json(response)).toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
    expect(attempts).toBe(3);
    const logged = lines.map((line) => JSON.parse(line) as Record<string, unknown>).find((line) => line.object_key === record?.object_key && line.level === 'error');
    expect(logged).toMatchObject({ message: expect.stringContaining('record restored'), code, version: 'v1' });
    // The invariants hold: the record is back with its object.
    expect(await expectInvariants(rig.storage, code, 'default')).toEqual([record]);

    const retried = await send({ method: 'DELETE', code, version: 'v1' });

    expect(retried.statusCode).toBe(204);
    expect(await expectInvariants(rig.storage, code, 'default')).toEqual([]);
  });
});

describe('routing', () => {
  it('refuses a method the read routes do not serve with 405 METHOD_NOT_ALLOWED and an Allow header, touching nothing', async () => {
    const code = uniqueCode();
    await storeVersions(code, 1);

    const post = await send({ method: 'POST', code, version: 'v1' });
    const deleteAll = await send({ method: 'DELETE', code });

    expect(post).toMatchObject({ statusCode: 405, headers: { 'bkapi-error-code': 'METHOD_NOT_ALLOWED', allow: 'GET, DELETE' } });
    expect(deleteAll).toMatchObject({ statusCode: 405, headers: { allow: 'GET' } });
    expect(await expectInvariants(rig.storage, code, 'default')).toHaveLength(1);
  });
});
