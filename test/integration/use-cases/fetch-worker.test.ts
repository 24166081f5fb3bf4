/**
 * The fetch worker against the DynamoDB and S3 emulators, downloading from a real HTTP server
 * on 127.0.0.1. After each case the invariants (docs/design.md#invariants) are checked on what is stored.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { useWorkerRig } from '../../helpers/worker-rig';
import { createFetchHandler } from '../../../handlers/fetch';
import type { FetchEvent, FetchResult } from '../../../lib/jobs/fetch-contract';
import { breakAfter } from '../../helpers/archive-server';
import { sampleEntries, sha256Of, tarArchive, tarGzArchive, zipArchive } from '../../helpers/archives';
import { expectInvariants, objectBytes, recordsOf } from '../../helpers/storage';
import { storedZipHeader } from '../../fixtures/hostile-archives';

const rig = useWorkerRig();

function worker(overrides: Record<string, string> = {}, now: () => Date = () => new Date()) {
  return createFetchHandler({ config: rig.storage.config(overrides), ...rig.storage.clientsOf('fetch'), now });
}

/** `now`: the worker's clock, for a case that needs time to have passed between two runs. */
function invoke(event: Partial<FetchEvent> & Pick<FetchEvent, 'code' | 'package_url'>, overrides?: Record<string, string>, now?: () => Date) {
  const full: FetchEvent = { request_id: randomUUID(), module: 'default', version: 'v1', allow_overwrite: false, ...event };
  return worker(overrides, now)(full, { awsRequestId: randomUUID(), getRemainingTimeInMillis: () => 120_000 });
}

function uniqueCode(): string {
  return `app-${randomUUID().slice(0, 8)}`;
}

function failureCode(result: FetchResult): string | undefined {
  return result.error?.code;
}

describe('registering a package', () => {
  it('streams a .tar.gz into S3 and records its SHA-256, size and times', async () => {
    const code = uniqueCode();
    const archive = await tarGzArchive(sampleEntries(code));
    rig.server.serve(`/${code}/app-1.0.tar.gz`, archive);

    const result = await invoke({ code, package_url: rig.server.url(`/${code}/app-1.0.tar.gz`) });

    expect(result).toEqual({
      job_id: expect.any(String),
      state: 'succeeded',
      // The job's own view, as its resource shows it.
      package_url: rig.server.url(`/${code}/app-1.0.tar.gz`),
      attempts: 1,
      bytes_received: archive.length,
      bytes_expected: archive.length,
      created: expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/),
      updated: expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/),
      started: expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/),
      finished: expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/),
      package: {
        version: 'v1',
        package_name: 'app-1.0.tar.gz',
        package_size: String(archive.length),
        sha256_signature: sha256Of(archive),
        updated: expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/),
        created: expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/),
      },
    });
    if (!result.package) return;
    expect(result.package.created).toBe(result.package.updated);
    const [record] = await expectInvariants(rig.storage, code, 'default');
    expect(await objectBytes(rig.storage, record?.object_key ?? '')).toEqual(archive);
  });

  it('accepts .zip and plain .tar archives by their content', async () => {
    const code = uniqueCode();
    const zip = await zipArchive(sampleEntries(code));
    const tar = await tarArchive(sampleEntries(code));
    rig.server.serve(`/${code}/src.zip`, zip);
    rig.server.serve(`/${code}/download`, tar, { 'content-disposition': 'attachment; filename="release.tar.gz"' });

    const zipResult = await invoke({ code, version: 'zip-1', package_url: rig.server.url(`/${code}/src.zip`) });
    const tarResult = await invoke({ code, version: 'tar-1', package_url: rig.server.url(`/${code}/download`) });

    expect(zipResult).toMatchObject({ state: 'succeeded', package: { package_name: 'src.zip', sha256_signature: sha256Of(zip) } });
    // The answer's file name over the URL's, with the detected format's extension, so a plain tar named .tar.gz is not opened with gunzip.
    expect(tarResult).toMatchObject({ state: 'succeeded', package: { package_name: 'release.tar', sha256_signature: sha256Of(tar) } });
    expect(await expectInvariants(rig.storage, code, 'default')).toHaveLength(2);
  });

  it("names a package by its detected format: a .tar.gz served as x.zip is stored as x.tar.gz", async () => {
    const code = uniqueCode();
    rig.server.serve(`/${code}/x.zip`, await tarGzArchive(sampleEntries(code)));

    const result = await invoke({ code, version: 'v1', package_url: rig.server.url(`/${code}/x.zip`) });

    expect(result).toMatchObject({ state: 'succeeded', package: { package_name: 'x.tar.gz' } });
  });

  it('streams an archive larger than one upload part through a multipart upload, byte for byte', async () => {
    const code = uniqueCode();
    const archive = await tarGzArchive(sampleEntries(code, 12 * 1024 * 1024));
    expect(archive.length).toBeGreaterThan(2 * 5 * 1024 * 1024);
    rig.server.route(`/${code}/big.tgz`, (_req, res) => {
      // Chunked, without Content-Length, in uneven pieces.
      res.writeHead(200, { 'content-type': 'application/gzip' });
      for (let offset = 0; offset < archive.length; offset += 777_777) res.write(archive.subarray(offset, offset + 777_777));
      res.end();
    });

    const result = await invoke({ code, package_url: rig.server.url(`/${code}/big.tgz`) });

    expect(result).toMatchObject({ state: 'succeeded', package: { package_size: String(archive.length), sha256_signature: sha256Of(archive) } });
    const [record] = await expectInvariants(rig.storage, code, 'default');
    expect(sha256Of(await objectBytes(rig.storage, record?.object_key ?? ''))).toBe(sha256Of(archive));
  });

  it('follows redirects to the archive', async () => {
    const code = uniqueCode();
    const archive = await tarGzArchive(sampleEntries(code));
    rig.server.serve(`/${code}/final.tar.gz`, archive);
    rig.server.route(`/${code}/latest`, (_req, res) => res.writeHead(302, { location: `/${code}/final.tar.gz` }).end());

    const result = await invoke({ code, package_url: rig.server.url(`/${code}/latest`) });

    expect(result).toMatchObject({ state: 'succeeded', package: { sha256_signature: sha256Of(archive) } });
    await expectInvariants(rig.storage, code, 'default');
  });
});

describe('overwrite semantics', () => {
  it('answers PACKAGE_ALREADY_EXISTS without downloading when the version exists', async () => {
    const code = uniqueCode();
    rig.server.serve(`/${code}/a.tar.gz`, await tarGzArchive(sampleEntries(code)));
    await invoke({ code, package_url: rig.server.url(`/${code}/a.tar.gz`) });
    const before = await recordsOf(rig.storage, code, 'default');

    const result = await invoke({ code, package_url: rig.server.url(`/${code}/a.tar.gz`) });

    expect(failureCode(result)).toBe('PACKAGE_ALREADY_EXISTS');
    expect(rig.server.hits(`/${code}/a.tar.gz`)).toBe(1);
    expect(await expectInvariants(rig.storage, code, 'default')).toEqual(before);
  });

  it('replaces the package on allow_overwrite, keeps created, moves updated and removes the replaced object', async () => {
    const code = uniqueCode();
    const first = await tarGzArchive(sampleEntries(code));
    const second = await tarGzArchive(sampleEntries(`${code}-changed`, 1000));
    rig.server.serve(`/${code}/first.tar.gz`, first);
    rig.server.serve(`/${code}/second.tar.gz`, second);
    const initial = await invoke({ code, package_url: rig.server.url(`/${code}/first.tar.gz`) });
    const [before] = await recordsOf(rig.storage, code, 'default');
    // The answer's times have second precision: the overwrite runs on a clock two seconds on.
    const later = (): Date => new Date(Date.now() + 2_000);

    const result = await invoke({ code, allow_overwrite: true, package_url: rig.server.url(`/${code}/second.tar.gz`) }, undefined, later);

    expect(result).toMatchObject({ state: 'succeeded', package: { sha256_signature: sha256Of(second), package_size: String(second.length) } });
    if (!result.package || !initial.package) throw new Error('expected both to succeed');
    expect(result.package.created).toBe(initial.package.created);
    expect(result.package.updated > initial.package.updated).toBe(true);
    const records = await expectInvariants(rig.storage, code, 'default');
    expect(records).toHaveLength(1);
    expect(records[0]?.object_key).not.toBe(before?.object_key);
    expect(records[0]?.created).toBe(before?.created);
  });

  it('lets exactly one of 16 concurrent requests for a new version win; the rest get 409 and one object remains', async () => {
    const code = uniqueCode();
    const archive = await tarGzArchive(sampleEntries(code, 64 * 1024));
    rig.server.serve(`/${code}/race.tar.gz`, archive);

    const results = await Promise.all(
      Array.from({ length: 16 }, () => invoke({ code, version: 'race', package_url: rig.server.url(`/${code}/race.tar.gz`) })),
    );

    expect(results.filter((result) => result.state === 'succeeded')).toHaveLength(1);
    expect(results.filter((result) => failureCode(result) === 'PACKAGE_ALREADY_EXISTS')).toHaveLength(15);
    const records = await expectInvariants(rig.storage, code, 'default');
    expect(records).toHaveLength(1);
    expect(records[0]?.sha256).toBe(sha256Of(archive));
  });

  it('gives a retried event its recorded outcome without downloading again or adding an object', async () => {
    const code = uniqueCode();
    rig.server.serve(`/${code}/retry.tar.gz`, await tarGzArchive(sampleEntries(code)));
    const event = { request_id: randomUUID(), code, package_url: rig.server.url(`/${code}/retry.tar.gz`) };
    const first = await invoke(event);

    const again = await invoke(event);

    expect(again).toEqual(first);
    expect(rig.server.hits(`/${code}/retry.tar.gz`)).toBe(1);
    expect(await expectInvariants(rig.storage, code, 'default')).toHaveLength(1);
  });
});

describe('failures leave nothing behind and existing records untouched', () => {
  async function existingRecord(code: string) {
    rig.server.serve(`/${code}/good.tar.gz`, await tarGzArchive(sampleEntries(code)));
    const result = await invoke({ code, package_url: rig.server.url(`/${code}/good.tar.gz`) });
    expect((result.state === 'succeeded')).toBe(true);
    return recordsOf(rig.storage, code, 'default');
  }

  it('answers PACKAGE_DOWNLOAD_FAILED when the connection breaks mid-stream, with no object, upload or record', async () => {
    const code = uniqueCode();
    const archive = await tarGzArchive(sampleEntries(code, 12 * 1024 * 1024));
    rig.server.route(`/${code}/broken.tar.gz`, breakAfter(archive.subarray(0, 8 * 1024 * 1024), archive.length));

    const result = await invoke({ code, package_url: rig.server.url(`/${code}/broken.tar.gz`) });

    expect(failureCode(result)).toBe('PACKAGE_DOWNLOAD_FAILED');
    expect(await expectInvariants(rig.storage, code, 'default')).toEqual([]);
  });

  it('keeps the existing record and object when an overwrite download breaks', async () => {
    const code = uniqueCode();
    const before = await existingRecord(code);
    const archive = await tarGzArchive(sampleEntries(code, 12 * 1024 * 1024));
    rig.server.route(`/${code}/broken.tar.gz`, breakAfter(archive.subarray(0, 6 * 1024 * 1024), archive.length));

    const result = await invoke({ code, allow_overwrite: true, package_url: rig.server.url(`/${code}/broken.tar.gz`) });

    expect(failureCode(result)).toBe('PACKAGE_DOWNLOAD_FAILED');
    expect(await expectInvariants(rig.storage, code, 'default')).toEqual(before);
  });

  it('answers INVALID_PACKAGE_FORMAT for an HTML page', async () => {
    const code = uniqueCode();
    const before = await existingRecord(code);
    rig.server.serve(`/${code}/login.html`, Buffer.from('<!DOCTYPE html><html><body>Please sign in</body></html>'), {
      'content-type': 'text/html',
    });

    const result = await invoke({ code, allow_overwrite: true, package_url: rig.server.url(`/${code}/login.html`) });

    expect(result).toMatchObject({ state: 'failed', error: { code: 'INVALID_PACKAGE_FORMAT', detail: expect.stringContaining('HTML') } });
    expect(await expectInvariants(rig.storage, code, 'default')).toEqual(before);
  });

  it('names the package by its URL path when the answer carries two Content-Disposition headers that disagree', async () => {
    const code = uniqueCode();
    const archive = await tarGzArchive(sampleEntries(code));
    rig.server.serve(`/${code}/from-path.tar.gz`, archive, { 'content-disposition': ['attachment; filename="a.tar.gz"', 'attachment; filename="b.tar.gz"'] });

    const result = await invoke({ code, version: 'v1', package_url: rig.server.url(`/${code}/from-path.tar.gz`) });

    expect(result).toMatchObject({ state: 'succeeded', package: { package_name: 'from-path.tar.gz', sha256_signature: sha256Of(archive) } });
  });

  it('answers PACKAGE_URL_UNAVAILABLE for a 404', async () => {
    const code = uniqueCode();

    const result = await invoke({ code, package_url: rig.server.url(`/${code}/missing.tar.gz`) });

    expect(result).toMatchObject({ state: 'failed', error: { code: 'PACKAGE_URL_UNAVAILABLE', detail: expect.stringContaining('404') } });
    expect(await expectInvariants(rig.storage, code, 'default')).toEqual([]);
  });

  it('answers CHECKSUM_MISMATCH and stores nothing when the sha256 field does not match', async () => {
    const code = uniqueCode();
    const before = await existingRecord(code);
    rig.server.serve(`/${code}/other.tar.gz`, await tarGzArchive(sampleEntries(`${code}-other`)));

    const result = await invoke({
      code,
      allow_overwrite: true,
      sha256: 'a'.repeat(64),
      package_url: rig.server.url(`/${code}/other.tar.gz`),
    });

    expect(failureCode(result)).toBe('CHECKSUM_MISMATCH');
    expect(await expectInvariants(rig.storage, code, 'default')).toEqual(before);
  });

  it('accepts the package when the sha256 field matches', async () => {
    const code = uniqueCode();
    const archive = await tarGzArchive(sampleEntries(code));
    rig.server.serve(`/${code}/pinned.tar.gz`, archive);

    const result = await invoke({ code, sha256: sha256Of(archive).toUpperCase(), package_url: rig.server.url(`/${code}/pinned.tar.gz`) });

    expect(result).toMatchObject({ state: 'succeeded', package: { sha256_signature: sha256Of(archive) } });
    await expectInvariants(rig.storage, code, 'default');
  });

  it('answers PACKAGE_TOO_LARGE before reading when Content-Length is over the cap', async () => {
    const code = uniqueCode();
    const archive = await tarGzArchive(sampleEntries(code, 4096));
    rig.server.serve(`/${code}/declared.tar.gz`, archive);

    const result = await invoke({ code, package_url: rig.server.url(`/${code}/declared.tar.gz`) }, { MAX_PACKAGE_BYTES: '2048' });

    expect(failureCode(result)).toBe('PACKAGE_TOO_LARGE');
    expect(await expectInvariants(rig.storage, code, 'default')).toEqual([]);
  });

  it('answers PACKAGE_TOO_LARGE while streaming when an undeclared body passes the cap', async () => {
    const code = uniqueCode();
    const archive = await tarGzArchive(sampleEntries(code, 7 * 1024 * 1024));
    rig.server.route(`/${code}/endless.tar.gz`, (_req, res) => {
      res.writeHead(200);
      res.end(archive);
    });

    const result = await invoke(
      { code, package_url: rig.server.url(`/${code}/endless.tar.gz`) },
      { MAX_PACKAGE_BYTES: String(6 * 1024 * 1024) },
    );

    expect(failureCode(result)).toBe('PACKAGE_TOO_LARGE');
    expect(await expectInvariants(rig.storage, code, 'default')).toEqual([]);
  });

  it('answers PACKAGE_DOWNLOAD_TIMEOUT when the rig.server stops sending', async () => {
    const code = uniqueCode();
    const archive = await tarGzArchive(sampleEntries(code));
    rig.server.route(`/${code}/stall.tar.gz`, (_req, res) => {
      res.writeHead(200, { 'content-length': archive.length });
      res.write(archive.subarray(0, 10)); // then nothing
    });

    const result = await invoke({ code, package_url: rig.server.url(`/${code}/stall.tar.gz`) }, { DOWNLOAD_IDLE_TIMEOUT_MS: '300' });

    expect(failureCode(result)).toBe('PACKAGE_DOWNLOAD_TIMEOUT');
    expect(await expectInvariants(rig.storage, code, 'default')).toEqual([]);
  });

  it('answers PACKAGE_URL_UNAVAILABLE after more than five redirects', async () => {
    const code = uniqueCode();
    rig.server.route(`/${code}/loop`, (_req, res) => res.writeHead(302, { location: `/${code}/loop` }).end());

    const result = await invoke({ code, package_url: rig.server.url(`/${code}/loop`) });

    expect(result).toMatchObject({ state: 'failed', error: { code: 'PACKAGE_URL_UNAVAILABLE', detail: expect.stringContaining('redirect') } });
    expect(rig.server.hits(`/${code}/loop`)).toBe(6);
  });

  it('refuses link-local addresses even in the local stage, without connecting', async () => {
    const code = uniqueCode();
    rig.server.route(`/${code}/to-metadata`, (_req, res) =>
      res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end(),
    );

    const direct = await invoke({ code, package_url: 'http://169.254.169.254/latest/meta-data/' });
    const redirected = await invoke({ code, package_url: rig.server.url(`/${code}/to-metadata`) });

    expect(failureCode(direct)).toBe('URL_NOT_ALLOWED');
    expect(failureCode(redirected)).toBe('URL_NOT_ALLOWED');
    expect(await expectInvariants(rig.storage, code, 'default')).toEqual([]);
  });

  it('refuses loopback package URLs outside the local stage', async () => {
    const code = uniqueCode();
    rig.server.serve(`/${code}/a.tar.gz`, await tarGzArchive(sampleEntries(code)));

    const result = await invoke({ code, package_url: rig.server.url(`/${code}/a.tar.gz`) }, { STAGE: 'stag', ALLOW_PRIVATE_URLS: 'false' });

    expect(failureCode(result)).toBe('URL_NOT_ALLOWED');
    expect(rig.server.hits(`/${code}/a.tar.gz`)).toBe(0);
  });

  it('answers VALIDATION_ERROR for a malformed event from a console test', async () => {
    const result = await worker()({ code: 'Bad Code!', version: '.v' }, { awsRequestId: randomUUID(), getRemainingTimeInMillis: () => 1000 });

    expect(result).toMatchObject({
      state: 'failed',
      error: { code: 'VALIDATION_ERROR', fields_detail: { code: expect.any(Array), package_url: expect.any(Array), version: expect.any(Array) } },
    });
  });

  it('answers PACKAGE_DOWNLOAD_FAILED when the rig.server declares more bytes than it sends', async () => {
    const code = uniqueCode();
    // A stored zip entry of 4000 bytes, cut after 1000: only the short body can fail here.
    const body = Buffer.concat([storedZipHeader('app/data.bin', 4000), randomBytes(1000)]);
    rig.server.route(`/${code}/short.tar.gz`, breakAfter(body, body.length + 3000));

    const result = await invoke({ code, package_url: rig.server.url(`/${code}/short.tar.gz`) });

    expect(failureCode(result)).toBe('PACKAGE_DOWNLOAD_FAILED');
    expect(await expectInvariants(rig.storage, code, 'default')).toEqual([]);
  });
});

describe('storage faults', () => {
  it('deletes the uploaded object and answers STORAGE_UNAVAILABLE when DynamoDB fails after the upload', async () => {
    const code = uniqueCode();
    const archive = await tarGzArchive(sampleEntries(code));
    rig.server.serve(`/${code}/a.tar.gz`, archive);
    // No emulator can fail at this exact moment: the real client is wrapped so that only the
    // version write (UpdateItem on the versions table), which comes after the upload, throws.
    const fetchClients = rig.storage.clientsOf('fetch');
    const faulty = new Proxy(fetchClients.dynamodb, {
      get(target, property, receiver) {
        if (property !== 'send') return Reflect.get(target, property, receiver);
        return (command: { constructor: { name: string }; input: { TableName?: string } }) =>
          command.constructor.name === 'UpdateItemCommand' && command.input.TableName === rig.storage.table
            ? Promise.reject(Object.assign(new Error('Service unavailable'), { name: 'ServiceUnavailable' }))
            : target.send(command as never);
      },
    });
    const handler = createFetchHandler({ config: rig.storage.config(), s3: fetchClients.s3, dynamodb: faulty, now: () => new Date() });

    const result = await handler(
      { request_id: randomUUID(), code, module: 'default', version: 'v1', allow_overwrite: false, package_url: rig.server.url(`/${code}/a.tar.gz`) },
      { awsRequestId: randomUUID(), getRemainingTimeInMillis: () => 60_000 },
    );

    expect(failureCode(result)).toBe('STORAGE_UNAVAILABLE');
    expect(rig.server.hits(`/${code}/a.tar.gz`)).toBe(1);
    expect(await expectInvariants(rig.storage, code, 'default')).toEqual([]);
  });
});
