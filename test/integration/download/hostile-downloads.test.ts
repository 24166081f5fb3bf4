/**
 * The worker against hostile URLs and lying or stalling servers: a real server on
 * 127.0.0.1, the DynamoDB and S3 emulators, and after every case the invariants (docs/design.md#invariants) plus
 * "an existing record for that version is untouched".
 *
 * Two seams stand in for the Internet, which these machines cannot reach: the guard's resolver
 * (so a public-looking name can resolve to any address), and, for the stages that refuse
 * loopback, an address policy that treats exactly 127.0.0.1 — the test server — as public, so a
 * redirect from it to 127.0.0.2, [::1] or 169.254.169.254 is judged by the real rules.
 */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import type { LookupAddress } from 'node:dns';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { createFetchHandler } from '../../../handlers/fetch';
import { addressPolicy, type AddressPolicy } from '../../../lib/download/address-policy';
import type { Network } from '../../../lib/download/download-guard';
import type { FetchResult } from '../../../lib/jobs/fetch-contract';
import { gzipBombOneEntry, storedZipHeader, tarOf, zipOf } from '../../fixtures/hostile-archives';
import { useWorkerRig } from '../../helpers/worker-rig';
import { sampleEntries, sha256Of, tarGzArchive } from '../../helpers/archives';
import { expectInvariants, multipartUploadsInProgress, recordsOf } from '../../helpers/storage';

const rig = useWorkerRig();
let port: number;

beforeAll(async () => {
  port = Number(new URL(rig.server.url('/')).port);
});

/** Production rules, except that the test server's own address counts as public. */
const productionPolicyExceptTestServer: AddressPolicy = {
  refusal: (address) => (address === '127.0.0.1' ? undefined : addressPolicy(false).refusal(address)),
};

function resolverFor(names: Record<string, string[]>): Network['resolve'] {
  return (hostname, callback) => {
    const addresses = names[hostname];
    if (!addresses) return callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), []);
    callback(
      null,
      addresses.map((address): LookupAddress => ({ address, family: address.includes(':') ? 6 : 4 })),
    );
  };
}

interface Options {
  stage?: 'local' | 'stag';
  env?: Record<string, string>;
  network?: Network;
  allowOverwrite?: boolean;
}

function invoke(code: string, packageUrl: string, options: Options = {}): Promise<FetchResult> {
  const stage = options.stage ?? 'stag';
  const handler = createFetchHandler({
    config: rig.storage.config({ STAGE: stage, ALLOW_PRIVATE_URLS: stage === 'local' ? 'true' : 'false', ...options.env }),
    ...rig.storage.clientsOf('fetch'),
    now: () => new Date(),
    network: options.network ?? { policy: productionPolicyExceptTestServer },
  });
  return handler(
    { request_id: randomUUID(), code, module: 'default', version: 'v1', allow_overwrite: options.allowOverwrite ?? true, package_url: packageUrl },
    { awsRequestId: randomUUID(), getRemainingTimeInMillis: () => 60_000 },
  );
}

function uniqueCode(): string {
  return `hostile-${randomUUID().slice(0, 8)}`;
}

/** A registered version the hostile request then tries to replace. */
async function existingVersion(code: string) {
  rig.server.serve(`/${code}/good.tar.gz`, await tarGzArchive(sampleEntries(code)));
  const result = await invoke(code, rig.server.url(`/${code}/good.tar.gz`));
  expect((result.state === 'succeeded')).toBe(true);
  return recordsOf(rig.storage, code, 'default');
}

async function expectRefusedAndUntouched(code: string, result: FetchResult, errorCode: string, before: unknown): Promise<void> {
  expect(result).toMatchObject({ state: 'failed', error: { code: errorCode } });
  expect(await expectInvariants(rig.storage, code, 'default')).toEqual(before);
}

describe('SSRF guard', () => {
  it.each([
    ['loopback', 'http://127.0.0.2:PORT/a.tar.gz'],
    ['the metadata service', 'http://169.254.169.254/latest/meta-data/'],
    ['IPv6 loopback', 'http://[::1]:PORT/a.tar.gz'],
    ['IPv4-mapped IPv6 loopback', 'http://[::ffff:127.0.0.2]:PORT/a.tar.gz'],
    ['NAT64 of a private address', 'http://[64:ff9b::a00:1]/'],
    ['6to4 of loopback', 'http://[2002:7f00:2::]/'],
    ['a decimal IPv4 literal', 'http://2130706434:PORT/'],
    ['an octal IPv4 literal', 'http://0177.0.0.2:PORT/'],
    ['a short hex IPv4 literal', 'http://0x7f.2:PORT/'],
    ['a private network', 'http://10.0.0.1/'],
  ])('refuses a redirect to %s with URL_NOT_ALLOWED', async (_name, target) => {
    const code = uniqueCode();
    const before = await existingVersion(code);
    rig.server.route(`/${code}/redirect`, (_req, res) => res.writeHead(302, { location: target.replace('PORT', String(port)) }).end());

    const direct = await invoke(code, target.replace('PORT', String(port)));
    const redirected = await invoke(code, rig.server.url(`/${code}/redirect`));

    await expectRefusedAndUntouched(code, direct, 'URL_NOT_ALLOWED', before);
    await expectRefusedAndUntouched(code, redirected, 'URL_NOT_ALLOWED', before);
  });

  it('refuses a host name that resolves to a private address, without connecting', async () => {
    const code = uniqueCode();
    rig.server.serve(`/${code}/a.tar.gz`, await tarGzArchive(sampleEntries(code)));

    const result = await invoke(code, `http://packages.example.test:${port}/${code}/a.tar.gz`, {
      network: { resolve: resolverFor({ 'packages.example.test': ['127.0.0.1'] }) },
    });

    expect(result).toMatchObject({ state: 'failed', error: { code: 'URL_NOT_ALLOWED' } });
    expect(JSON.stringify(result)).not.toContain('127.0.0.1');
    expect(rig.server.hits(`/${code}/a.tar.gz`)).toBe(0);
  });

  it('refuses a host name that answers a public address first and a private one second', async () => {
    const code = uniqueCode();
    rig.server.serve(`/${code}/a.tar.gz`, await tarGzArchive(sampleEntries(code)));

    const result = await invoke(code, `http://mixed.example.test:${port}/${code}/a.tar.gz`, {
      network: { resolve: resolverFor({ 'mixed.example.test': ['127.0.0.1', '10.1.2.3'] }), policy: productionPolicyExceptTestServer },
    });

    expect(result).toMatchObject({ state: 'failed', error: { code: 'URL_NOT_ALLOWED' } });
    expect(rig.server.hits(`/${code}/a.tar.gz`)).toBe(0);
  });

  it('connects to the checked address while keeping the name in the Host header', async () => {
    const code = uniqueCode();
    const archive = await tarGzArchive(sampleEntries(code));
    let host = '';
    rig.server.route(`/${code}/a.tar.gz`, (req, res) => {
      host = req.headers.host ?? '';
      res.writeHead(200, { 'content-length': archive.length }).end(archive);
    });

    const result = await invoke(code, `http://pinned.example.test:${port}/${code}/a.tar.gz`, {
      network: { resolve: resolverFor({ 'pinned.example.test': ['127.0.0.1'] }), policy: productionPolicyExceptTestServer },
    });

    expect(result).toMatchObject({ state: 'succeeded', package: { sha256_signature: sha256Of(archive) } });
    expect(host).toBe(`pinned.example.test:${port}`);
  });

  it('refuses schemes other than http and https before any request', async () => {
    const code = uniqueCode();
    const result = await invoke(code, 'ftp://example.test/a.tar.gz');

    expect(result).toMatchObject({ state: 'failed', error: { code: 'URL_NOT_ALLOWED' } });
  });

  it('applies the host deny-list and allow-list to every hop', async () => {
    const code = uniqueCode();
    rig.server.serve(`/${code}/a.tar.gz`, await tarGzArchive(sampleEntries(code)));
    rig.server.route(`/${code}/hop`, (_req, res) => res.writeHead(302, { location: `http://evil.example.test:${port}/${code}/a.tar.gz` }).end());
    const network = { resolve: resolverFor({ 'good.example.test': ['127.0.0.1'], 'evil.example.test': ['127.0.0.1'] }), policy: productionPolicyExceptTestServer };

    const denied = await invoke(code, `http://good.example.test:${port}/${code}/hop`, { network, env: { URL_DENIED_HOSTS: '*.evil.test,evil.example.test' } });
    const notAllowed = await invoke(code, `http://good.example.test:${port}/${code}/hop`, { network, env: { URL_ALLOWED_HOSTS: 'good.example.test' } });
    const allowed = await invoke(code, `http://good.example.test:${port}/${code}/a.tar.gz`, { network, env: { URL_ALLOWED_HOSTS: '*.example.test' } });

    expect(denied).toMatchObject({ state: 'failed', error: { code: 'URL_NOT_ALLOWED', detail: expect.stringContaining('evil.example.test') } });
    expect(notAllowed).toMatchObject({ state: 'failed', error: { code: 'URL_NOT_ALLOWED' } });
    expect((allowed.state === 'succeeded')).toBe(true);
  });

  it('sends URL credentials to their own origin only', async () => {
    const code = uniqueCode();
    const archive = await tarGzArchive(sampleEntries(code));
    const seen: Record<string, string | undefined> = {};
    rig.server.route(`/${code}/private.tar.gz`, (req, res) => {
      seen.first = req.headers.authorization;
      res.writeHead(302, { location: `http://other.example.test:${port}/${code}/final.tar.gz` }).end();
    });
    rig.server.route(`/${code}/final.tar.gz`, (req, res) => {
      seen.second = req.headers.authorization;
      res.writeHead(200, { 'content-length': archive.length }).end(archive);
    });

    const result = await invoke(code, `http://user:s3cret@127.0.0.1:${port}/${code}/private.tar.gz`, {
      network: { resolve: resolverFor({ 'other.example.test': ['127.0.0.1'] }), policy: productionPolicyExceptTestServer },
    });

    expect((result.state === 'succeeded')).toBe(true);
    expect(seen.first).toBe(`Basic ${Buffer.from('user:s3cret').toString('base64')}`);
    expect(seen.second).toBeUndefined();
  });
});

describe('lying and stalling servers', () => {
  it('answers PACKAGE_DOWNLOAD_TIMEOUT for a rig.server that drips one byte at a time past the total limit', async () => {
    const code = uniqueCode();
    const before = await existingVersion(code);
    const archive = await tarGzArchive(sampleEntries(code));
    rig.server.route(`/${code}/drip.tar.gz`, (req, res) => {
      res.writeHead(200, { 'content-length': archive.length });
      let offset = 0;
      const timer = setInterval(() => {
        if (offset >= archive.length || res.destroyed) return clearInterval(timer);
        res.write(archive.subarray(offset, ++offset));
      }, 100);
      req.on('close', () => clearInterval(timer));
    });

    const result = await invoke(code, rig.server.url(`/${code}/drip.tar.gz`), {
      env: { DOWNLOAD_IDLE_TIMEOUT_MS: '1000', DOWNLOAD_TOTAL_TIMEOUT_MS: '1500' },
    });

    await expectRefusedAndUntouched(code, result, 'PACKAGE_DOWNLOAD_TIMEOUT', before);
  });

  it('answers PACKAGE_TOO_LARGE for an endless body, whatever it declared', async () => {
    const code = uniqueCode();
    const before = await existingVersion(code);
    // A stored zip entry that declares almost 4 GiB: the listing reads on, so only the cap stops it.
    const chunk = Buffer.alloc(256 * 1024, 0);
    rig.server.route(`/${code}/endless.tar.gz`, (req, res) => {
      res.writeHead(200, { 'content-type': 'application/gzip' });
      res.write(storedZipHeader('app/big.bin', 0xffff0000));
      const pump = (): void => {
        while (!res.destroyed && res.write(chunk));
        if (!res.destroyed) res.once('drain', pump);
      };
      req.on('close', () => res.destroy());
      pump();
    });

    const result = await invoke(code, rig.server.url(`/${code}/endless.tar.gz`), { env: { MAX_PACKAGE_BYTES: String(12 * 1024 * 1024) } });

    await expectRefusedAndUntouched(code, result, 'PACKAGE_TOO_LARGE', before);
  });

  describe('a download cut short is the transport\'s failure, even when what arrived does not inflate', () => {
    // A gzip header, then bytes that break the deflate stream at once: the listing refuses them
    // long before the body ends. Only how the body ends decides between 502 and 422.
    const corrupt = (size: number): Buffer => {
      const bytes = Buffer.alloc(size, 0xff);
      Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0, 0x03]).copy(bytes);
      return bytes;
    };
    const sendThen = (bytes: Buffer, declared: number, end: 'reset' | 'close' | 'complete') => (req: IncomingMessage, res: ServerResponse) => {
      res.writeHead(200, { 'content-length': declared });
      res.write(bytes.subarray(0, 64 * 1024));
      const finish = setTimeout(() => {
        if (end === 'complete') res.end(bytes.subarray(64 * 1024));
        else if (end === 'close') res.end(bytes.subarray(64 * 1024, declared - 1000)) && req.socket.end();
        else req.socket.destroy();
      }, 300);
      req.on('close', () => clearTimeout(finish));
    };

    it('answers PACKAGE_DOWNLOAD_FAILED when the connection resets mid-body', async () => {
      const code = uniqueCode();
      const before = await existingVersion(code);
      rig.server.route(`/${code}/reset.tar.gz`, sendThen(corrupt(512 * 1024), 512 * 1024, 'reset'));

      const result = await invoke(code, rig.server.url(`/${code}/reset.tar.gz`));

      await expectRefusedAndUntouched(code, result, 'PACKAGE_DOWNLOAD_FAILED', before);
    });

    it('answers PACKAGE_DOWNLOAD_FAILED when the body ends short of its Content-Length', async () => {
      const code = uniqueCode();
      const before = await existingVersion(code);
      rig.server.route(`/${code}/short.tar.gz`, sendThen(corrupt(512 * 1024), 512 * 1024, 'close'));

      const result = await invoke(code, rig.server.url(`/${code}/short.tar.gz`));

      await expectRefusedAndUntouched(code, result, 'PACKAGE_DOWNLOAD_FAILED', before);
    });

    it('hands a reset of an asynchronous job back to Lambda, to be retried', async () => {
      const code = uniqueCode();
      rig.server.route(`/${code}/reset.tar.gz`, sendThen(corrupt(512 * 1024), 512 * 1024, 'reset'));
      const handler = createFetchHandler({ config: rig.storage.config({ STAGE: 'stag', ALLOW_PRIVATE_URLS: 'false' }), ...rig.storage.clientsOf('fetch'), now: () => new Date(), network: { policy: productionPolicyExceptTestServer } });
      const jobId = randomUUID();

      const delivery = handler(
        { job_id: jobId, request_id: jobId, code, module: 'default', version: 'v1', allow_overwrite: false, package_url: rig.server.url(`/${code}/reset.tar.gz`), mode: 'async' },
        { awsRequestId: randomUUID(), getRemainingTimeInMillis: () => 60_000 },
      );

      await expect(delivery).rejects.toMatchObject({ name: 'RetryableJobError', failure: { code: 'PACKAGE_DOWNLOAD_FAILED' } });
      expect(await expectInvariants(rig.storage, code, 'default')).toEqual([]);
    });

    it('answers INVALID_PACKAGE_FORMAT when the same bytes arrive whole', async () => {
      const code = uniqueCode();
      const before = await existingVersion(code);
      rig.server.route(`/${code}/whole.tar.gz`, sendThen(corrupt(512 * 1024), 512 * 1024, 'complete'));

      const result = await invoke(code, rig.server.url(`/${code}/whole.tar.gz`));

      await expectRefusedAndUntouched(code, result, 'INVALID_PACKAGE_FORMAT', before);
    });
  });

  it('answers PACKAGE_URL_UNAVAILABLE, not worth retrying, for a redirect loop', async () => {
    const code = uniqueCode();
    const before = await existingVersion(code);
    rig.server.route(`/${code}/ping`, (_req, res) => res.writeHead(301, { location: `/${code}/pong` }).end());
    rig.server.route(`/${code}/pong`, (_req, res) => res.writeHead(307, { location: `/${code}/ping` }).end());

    const result = await invoke(code, rig.server.url(`/${code}/ping`));

    await expectRefusedAndUntouched(code, result, 'PACKAGE_URL_UNAVAILABLE', before);
    expect(result).toMatchObject({ error: { detail: expect.stringMatching(/redirected more than 5 times/) } });
  });

  it('answers PACKAGE_URL_UNAVAILABLE for a redirect without a Location', async () => {
    const code = uniqueCode();
    const before = await existingVersion(code);
    rig.server.route(`/${code}/moved`, (_req, res) => res.writeHead(302).end());

    const result = await invoke(code, rig.server.url(`/${code}/moved`));

    await expectRefusedAndUntouched(code, result, 'PACKAGE_URL_UNAVAILABLE', before);
    expect(result).toMatchObject({ error: { detail: expect.stringMatching(/HTTP 302 without a Location/) } });
  });

  it('answers PACKAGE_URL_UNAVAILABLE for a host name that does not exist', async () => {
    const code = uniqueCode();
    const before = await existingVersion(code);

    const result = await invoke(code, `http://no-such-host.example:${port}/${code}/app.tar.gz`, {
      network: { policy: productionPolicyExceptTestServer, resolve: resolverFor({}) },
    });

    await expectRefusedAndUntouched(code, result, 'PACKAGE_URL_UNAVAILABLE', before);
    expect(result).toMatchObject({ error: { detail: expect.stringMatching(/"no-such-host.example" does not resolve/) } });
  });

  it.each(['EAI_AGAIN', 'EAI_FAIL', 'EMFILE'])('answers PACKAGE_DOWNLOAD_FAILED, worth retrying, when the resolver fails with %s', async (errno) => {
    const code = uniqueCode();
    const before = await existingVersion(code);
    const resolverDown: Network['resolve'] = (hostname, callback) =>
      callback(Object.assign(new Error(`getaddrinfo ${errno} ${hostname}`), { code: errno }), []);

    const result = await invoke(code, `http://flaky-dns.example:${port}/${code}/app.tar.gz`, {
      network: { policy: productionPolicyExceptTestServer, resolve: resolverDown },
    });

    await expectRefusedAndUntouched(code, result, 'PACKAGE_DOWNLOAD_FAILED', before);
  });
});

describe('hostile archives are refused before a record points to them', () => {
  it.each([
    ['a tar.gz with a ../ entry', () => tarOf([{ name: 'app/../../etc/cron.d/x', content: 'x' }]).then((tar) => gzipSync(tar)), '..'],
    ['a plain tar with an absolute path', () => tarOf([{ name: '/etc/passwd', content: 'x' }]), '/etc/passwd'],
    ['a tar.gz with a symlink escaping the root', () => tarOf([{ name: 'app/link', type: 'symlink', linkname: '../../../etc' }]).then((tar) => gzipSync(tar)), 'app/link'],
    ['a zip with a ../ entry', () => zipOf([{ name: 'app/xx/evil.sh', content: 'x' }], { 'app/xx/evil.sh': 'app/../evil.sh' }), 'evil.sh'],
    ['a zip with a symlink escaping the root', () => zipOf([{ name: 'app/link', content: '../../../etc/passwd', mode: 0o120777 }]), 'app/link'],
  ])('answers INVALID_PACKAGE_FORMAT for %s, and keeps the existing version', async (_name, build, named) => {
    const code = uniqueCode();
    const before = await existingVersion(code);
    const archive = await build();
    rig.server.serve(`/${code}/hostile`, archive);

    const result = await invoke(code, rig.server.url(`/${code}/hostile`));

    await expectRefusedAndUntouched(code, result, 'INVALID_PACKAGE_FORMAT', before);
    expect(result.error?.detail).toContain(named);
  });

  it('answers INVALID_PACKAGE_FORMAT for a gzip bomb, without reading it all', async () => {
    const code = uniqueCode();
    const before = await existingVersion(code);
    const bomb = Buffer.concat(await gzipBombOneEntry(256 * 1024 * 1024));
    rig.server.serve(`/${code}/bomb.tar.gz`, bomb);

    const result = await invoke(code, rig.server.url(`/${code}/bomb.tar.gz`), { env: { MAX_UNCOMPRESSED_BYTES: String(16 * 1024 * 1024) } });

    expect(bomb.length).toBeLessThan(2 * 1024 * 1024);
    await expectRefusedAndUntouched(code, result, 'INVALID_PACKAGE_FORMAT', before);
  });

  it('answers PACKAGE_DOWNLOAD_FAILED when the body runs past its Content-Length', async () => {
    const code = uniqueCode();
    const before = await existingVersion(code);
    const archive = await tarGzArchive(sampleEntries(code, 64 * 1024));
    rig.server.route(`/${code}/short.tar.gz`, (_req, res) => {
      res.writeHead(200, { 'content-length': archive.length - 4096 });
      res.end(archive);
    });

    const result = await invoke(code, rig.server.url(`/${code}/short.tar.gz`));

    await expectRefusedAndUntouched(code, result, 'PACKAGE_DOWNLOAD_FAILED', before);
  });

  it('records the entry count and uncompressed size of what it accepts', async () => {
    const code = uniqueCode();
    const zip = await zipOf([
      { name: 'app/', directory: true },
      { name: 'app/a.txt', content: 'aaaa' },
      { name: 'app/link', content: 'a.txt', mode: 0o120777 },
    ]);
    rig.server.serve(`/${code}/ok.zip`, zip);

    const result = await invoke(code, rig.server.url(`/${code}/ok.zip`));

    expect(result.state).toBe('succeeded');
    const { Item } = await rig.storage.dynamodb.send(
      new GetItemCommand({ TableName: rig.storage.table, Key: { module_key: { S: `${code}/default` }, version: { S: 'v1' } } }),
    );
    expect(Item?.entry_count?.N).toBe('3');
    expect(Item?.uncompressed_size?.N).toBe(String(4 + 'a.txt'.length));
  });
});

describe('storage failing mid-way', () => {
  it('aborts the multipart upload and answers STORAGE_UNAVAILABLE when S3 fails on a later part', async () => {
    const code = uniqueCode();
    const before = await existingVersion(code);
    const archive = await tarGzArchive(sampleEntries(code, 16 * 1024 * 1024));
    rig.server.serve(`/${code}/big.tar.gz`, archive);
    // No emulator fails on cue: the real client is wrapped so that the second part upload throws.
    let parts = 0;
    const fetchClients = rig.storage.clientsOf('fetch');
    const flakyS3 = new Proxy(fetchClients.s3, {
      get(target, property, receiver) {
        if (property !== 'send') return Reflect.get(target, property, receiver);
        return (command: { constructor: { name: string } }, ...rest: unknown[]) =>
          command.constructor.name === 'UploadPartCommand' && ++parts === 2
            ? Promise.reject(Object.assign(new Error('We encountered an internal error'), { name: 'InternalError' }))
            : target.send(command as never, ...(rest as []));
      },
    });
    const handler = createFetchHandler({
      config: rig.storage.config({ STAGE: 'stag', ALLOW_PRIVATE_URLS: 'false' }),
      s3: flakyS3,
      dynamodb: fetchClients.dynamodb,
      now: () => new Date(),
      network: { policy: productionPolicyExceptTestServer },
    });

    const result = await handler(
      { request_id: randomUUID(), code, module: 'default', version: 'v1', allow_overwrite: true, package_url: rig.server.url(`/${code}/big.tar.gz`) },
      { awsRequestId: randomUUID(), getRemainingTimeInMillis: () => 60_000 },
    );

    expect(parts).toBeGreaterThanOrEqual(2);
    await expectRefusedAndUntouched(code, result, 'STORAGE_UNAVAILABLE', before);
    expect(await multipartUploadsInProgress(rig.storage)).toBe(0);
  });
});
