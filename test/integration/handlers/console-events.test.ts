/**
 * Every sample event in events/ (the ones to paste into the Lambda console or pass to
 * `serverless invoke local -p`) goes through its function against the emulators. The events name
 * the example token and an archive on 127.0.0.1:8000; the test swaps in a token it created and
 * its own archive server. `link` reaches the worker through a stand-in for the Lambda Invoke API
 * that calls the fetch handler in-process (the end-to-end tests go through the real one).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { createFetchHandler } from '../../../handlers/fetch';
import { createLinkHandler } from '../../../handlers/link';
import { ALL_APPS, createToken } from '../../../lib/auth/token-store';
import { useWorkerRig } from '../../helpers/worker-rig';
import { inProcessLambda } from '../../helpers/in-process-lambda';
import { sampleEntries, sha256Of, tarGzArchive } from '../../helpers/archives';
import { expectInvariants } from '../../helpers/storage';

const EXAMPLE_TOKEN = 'bkpaas_local_example_token';
const EXAMPLE_URL = 'http://127.0.0.1:8000/app.tar.gz';

const rig = useWorkerRig();
let token: string;
let archive: Buffer;

beforeAll(async () => {
  token = (await createToken(rig.storage.dynamodb, rig.storage.tokensTable, { principal: 'console', apps: [ALL_APPS] })).token;
  archive = await tarGzArchive(sampleEntries('sundy820'));
  rig.server.serve('/app.tar.gz', archive);
});

/** The event file with the test's token and archive URL (also form-encoded, and inside base64 bodies). */
function sampleEvent(name: string): unknown {
  const text = readFileSync(path.join(__dirname, '../../../events', name), 'utf8');
  const url = rig.server.url('/app.tar.gz');
  const swapped = text
    .replaceAll(EXAMPLE_TOKEN, token)
    .replaceAll(EXAMPLE_URL, url)
    .replaceAll(encodeURIComponent(EXAMPLE_URL), encodeURIComponent(url));
  const event = JSON.parse(swapped) as Record<string, unknown>;
  if (event.isBase64Encoded === true && typeof event.body === 'string') {
    const body = Buffer.from(event.body, 'base64').toString('utf8').replaceAll(EXAMPLE_URL, rig.server.url('/app.tar.gz'));
    event.body = Buffer.from(body).toString('base64');
  }
  return event;
}

const context = () => ({ awsRequestId: randomUUID(), getRemainingTimeInMillis: () => 28_000 });

function fetchHandler() {
  return createFetchHandler({ config: rig.storage.config({ STAGE: 'stag', ALLOW_PRIVATE_URLS: 'false' }), ...rig.storage.clientsOf('fetch'), now: () => new Date(), network: { policy: { refusal: () => undefined } } });
}

function linkHandler() {
  const lambda = inProcessLambda(fetchHandler(), { authorize: rig.storage.invokeCheck('link') }).client;
  return createLinkHandler({ config: rig.storage.config({ STAGE: 'stag', ALLOW_PRIVATE_URLS: 'false' }), dynamodb: rig.storage.clientsOf('link').dynamodb, lambda, now: () => new Date() });
}

describe('the documented examples', () => {
  it('each register their own version, so running one after another never answers 409', () => {
    const readme = readFileSync(path.join(__dirname, '../../../README.md'), 'utf8');
    const curlVersion = /name="version"\\r\\n\\r\\n\s*([^\s\\]+)/.exec(readme)?.[1];
    const eventVersions = ['link-rest-api.json', 'link-http-api.json', 'link-console-raw.json', 'fetch-direct.json', 'fetch-async-retry.json'].map((file) => {
      const text = JSON.stringify(sampleEvent(file));
      const event = sampleEvent(file) as { body?: string; isBase64Encoded?: boolean };
      const body = event.isBase64Encoded && event.body ? Buffer.from(event.body, 'base64').toString('utf8') : text;
      return /"version":\s*"(v\d+)"|version=(v\d+)|name=\\?"version\\?"(?:\\r\\n|\r\n){2}\s*(v\d+)/.exec(body)?.slice(1).find(Boolean);
    });

    expect(curlVersion).toBe('v1');
    expect(eventVersions.every((version) => version !== undefined)).toBe(true);
    expect(new Set([curlVersion, ...eventVersions]).size).toBe(eventVersions.length + 1);
  });
});

describe('sample events for the link function', () => {
  it.each([
    ['link-rest-api.json', 'v6'],
    ['link-http-api.json', 'v2'],
    ['link-console-raw.json', 'v5'],
  ])('%s registers version %s', async (file, version) => {
    const response = await linkHandler()(sampleEvent(file) as never, context());

    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body)).toMatchObject({ version, sha256_signature: sha256Of(archive) });
    await expectInvariants(rig.storage, 'sundy820', 'default');
  });
});

describe('sample events for the fetch function', () => {
  it('fetch-direct.json registers its version, as a console test invocation would', async () => {
    const result = await fetchHandler()(sampleEvent('fetch-direct.json'), context());

    expect(result).toMatchObject({ job_id: 'console-test-1', state: 'succeeded', package: { version: 'v3' } });
  });

  it('fetch-async-retry.json, delivered twice as Lambda may, runs once', async () => {
    const before = rig.server.hits('/app.tar.gz');

    const first = await fetchHandler()(sampleEvent('fetch-async-retry.json'), context());
    const second = await fetchHandler()(sampleEvent('fetch-async-retry.json'), context());

    expect(first).toMatchObject({ state: 'succeeded', package: { version: 'v4' } });
    expect(second).toEqual(first);
    expect(rig.server.hits('/app.tar.gz') - before).toBe(1);
    await expectInvariants(rig.storage, 'sundy820', 'default');
  });
});

describe('a sample event sent again', () => {
  it('is a new request each time, though its API Gateway request id is fixed', async () => {
    const event = sampleEvent('link-http-api.json') as { body: string };
    const once = { ...event, body: event.body.replace('version=v2', 'version=v7') };
    const again = { ...event, body: event.body.replace('version=v2', 'version=v8') };

    const first = await linkHandler()(once as never, context());
    const second = await linkHandler()(again as never, context());

    expect(first.statusCode).toBe(200);
    expect(second.statusCode).toBe(200);
    expect(JSON.parse(second.body)).toMatchObject({ version: 'v8' });
  });
});
