/**
 * Downloads over TLS: the guard connects to the address it checked while verifying the
 * certificate against the URL's host name (SNI), and refuses a redirect from https to http.
 * The certificate (test/fixtures/tls, CN and SAN packages.example.test) is self-signed, so the
 * test hands the guard its CA; a resolver maps the name to the server on 127.0.0.1, which the
 * address policy treats as public (these machines reach no other host).
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFetchHandler } from '../../../handlers/fetch';
import { addressPolicy } from '../../../lib/download/address-policy';
import type { Network } from '../../../lib/download/download-guard';
import { sampleEntries, sha256Of, tarGzArchive } from '../../helpers/archives';
import { expectInvariants, startTestStorage, type TestStorage } from '../../helpers/storage';

const tls = (name: string) => readFileSync(path.join(__dirname, '../../fixtures/tls', name), 'utf8');
const HOST = 'packages.example.test';

let storage: TestStorage;
let secure: https.Server;
let plain: http.Server;
let archive: Buffer;

function listen(server: http.Server | https.Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

let securePort = 0;
let plainPort = 0;

beforeAll(async () => {
  storage = await startTestStorage();
  archive = await tarGzArchive(sampleEntries('tls'));
  plain = http.createServer((_req, res) => res.writeHead(200, { 'content-length': archive.length }).end(archive));
  plainPort = await listen(plain);
  secure = https.createServer({ cert: tls('cert.pem'), key: tls('key.pem') }, (req, res) => {
    if (req.url === '/downgrade') res.writeHead(302, { location: `http://${HOST}:${plainPort}/a.tar.gz` }).end();
    else res.writeHead(200, { 'content-length': archive.length }).end(archive);
  });
  securePort = await listen(secure);
});

afterAll(async () => {
  secure?.closeAllConnections();
  plain?.closeAllConnections();
  await Promise.all([new Promise((r) => secure?.close(r)), new Promise((r) => plain?.close(r))]);
  await storage?.close();
});

function invoke(url: string, network: Network) {
  const code = `tls-${randomUUID().slice(0, 8)}`;
  const handler = createFetchHandler({
    config: storage.config({ STAGE: 'stag', ALLOW_PRIVATE_URLS: 'false' }),
    ...storage.clientsOf('fetch'),
    now: () => new Date(),
    network,
  });
  const result = handler(
    { request_id: randomUUID(), code, module: 'default', version: 'v1', allow_overwrite: false, package_url: url },
    { awsRequestId: randomUUID(), getRemainingTimeInMillis: () => 30_000 },
  );
  return { code, result };
}

const network: Network = {
  resolve: (hostname, callback) =>
    hostname === HOST ? callback(null, [{ address: '127.0.0.1', family: 4 }]) : callback(new Error('ENOTFOUND'), []),
  policy: { refusal: (address) => (address === '127.0.0.1' ? undefined : addressPolicy(false).refusal(address)) },
  ca: tls('cert.pem'),
};

describe('downloads over TLS', () => {
  it('verifies the certificate against the host name while connecting to the checked address', async () => {
    const { code, result } = invoke(`https://${HOST}:${securePort}/a.tar.gz`, network);

    expect(await result).toMatchObject({ state: 'succeeded', package: { sha256_signature: sha256Of(archive) } });
    expect(await expectInvariants(storage, code, 'default')).toHaveLength(1);
  });

  it('refuses a certificate it cannot verify', async () => {
    const { code, result } = invoke(`https://${HOST}:${securePort}/a.tar.gz`, { ...network, ca: undefined });

    expect(await result).toMatchObject({ state: 'failed', error: { code: 'PACKAGE_DOWNLOAD_FAILED' } });
    expect(await expectInvariants(storage, code, 'default')).toEqual([]);
  });

  it('refuses a redirect from https to http with URL_NOT_ALLOWED', async () => {
    const { code, result } = invoke(`https://${HOST}:${securePort}/downgrade`, network);

    expect(await result).toMatchObject({ state: 'failed', error: { code: 'URL_NOT_ALLOWED', detail: expect.stringContaining('https to http') } });
    expect(await expectInvariants(storage, code, 'default')).toEqual([]);
  });
});
