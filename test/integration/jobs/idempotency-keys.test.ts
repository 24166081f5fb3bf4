/**
 * Idempotency-Key at the link function, against the emulators, with the worker reached through an
 * in-process stand-in for the Lambda Invoke API (test/helpers/in-process-lambda.ts) that can be
 * made to fail like a throttled Lambda.
 */
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { createFetchHandler } from '../../../handlers/fetch';
import { createLinkHandler } from '../../../handlers/link';
import { ALL_APPS, createToken } from '../../../lib/auth/token-store';
import { useWorkerRig } from '../../helpers/worker-rig';
import { sampleEntries, tarGzArchive } from '../../helpers/archives';
import { inProcessLambda } from '../../helpers/in-process-lambda';
import { expectInvariants } from '../../helpers/storage';

const rig = useWorkerRig();
let token: string;

beforeAll(async () => {
  token = (await createToken(rig.storage.dynamodb, rig.storage.tokensTable, { principal: 'idem', apps: [ALL_APPS] })).token;
});

function setup() {
  const config = rig.storage.config();
  const worker = createFetchHandler({ config, ...rig.storage.clientsOf('fetch'), now: () => new Date() });
  const lambda = inProcessLambda(worker, { authorize: rig.storage.invokeCheck('link') });
  const link = createLinkHandler({ config, dynamodb: rig.storage.clientsOf('link').dynamodb, lambda: lambda.client, now: () => new Date() });
  return { link, lambda };
}

function request(code: string, key: string, url: string) {
  return {
    headers: { 'x-bkapi-authorization': JSON.stringify({ access_token: token }), 'content-type': 'application/json', 'idempotency-key': key },
    body: JSON.stringify({ package_url: url, version: 'v1' }),
    pathParameters: { code, module_name: 'default' },
    requestContext: { requestId: randomUUID() },
  };
}

const context = () => ({ awsRequestId: randomUUID(), getRemainingTimeInMillis: () => 28_000 });

describe('Idempotency-Key', () => {
  it('lets a retry under the same key run when the first attempt never reached the worker', async () => {
    const code = `idem-${randomUUID().slice(0, 8)}`;
    rig.server.serve(`/${code}/a.tar.gz`, await tarGzArchive(sampleEntries(code)));
    const { link, lambda } = setup();
    const key = randomUUID();
    lambda.failNext();

    const throttled = await link(request(code, key, rig.server.url(`/${code}/a.tar.gz`)), context());
    const retried = await link(request(code, key, rig.server.url(`/${code}/a.tar.gz`)), context());

    expect(throttled.statusCode).toBe(503);
    expect(retried.statusCode).toBe(200);
    expect(lambda.invocations).toHaveLength(1);
    expect(await expectInvariants(rig.storage, code, 'default')).toHaveLength(1);
  });

  it('runs a request again under the same key when the first failed in a way that is safe to retry', async () => {
    const code = `idem-${randomUUID().slice(0, 8)}`;
    const archive = await tarGzArchive(sampleEntries(code));
    let calls = 0;
    rig.server.route(`/${code}/a.tar.gz`, (_req, res) => {
      calls += 1;
      if (calls === 1) {
        res.writeHead(200, { 'content-length': archive.length });
        res.write(archive.subarray(0, 10)); // then stalls past the idle limit
      } else res.writeHead(200, { 'content-length': archive.length }).end(archive);
    });
    const config = rig.storage.config({ DOWNLOAD_IDLE_TIMEOUT_MS: '300' });
    const worker = createFetchHandler({ config, ...rig.storage.clientsOf('fetch'), now: () => new Date() });
    const link = createLinkHandler({ config, dynamodb: rig.storage.clientsOf('link').dynamodb, lambda: inProcessLambda(worker, { authorize: rig.storage.invokeCheck('link') }).client, now: () => new Date() });
    const key = randomUUID();

    const timedOut = await link(request(code, key, rig.server.url(`/${code}/a.tar.gz`)), context());
    const retried = await link(request(code, key, rig.server.url(`/${code}/a.tar.gz`)), context());
    const replayed = await link(request(code, key, rig.server.url(`/${code}/a.tar.gz`)), context());

    expect(timedOut.statusCode).toBe(504);
    expect(retried.statusCode).toBe(200);
    expect(replayed.body).toBe(retried.body);
    expect(calls).toBe(2);
    expect(await expectInvariants(rig.storage, code, 'default')).toHaveLength(1);
  });
});
