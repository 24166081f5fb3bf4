/**
 * The app description through the real worker and read endpoints, under their IAM roles, against the
 * emulators, with archives made by `tar` and `zip` (test/fixtures/app-desc, made by its
 * generate.ts) served from 127.0.0.1: the version taken from the app description, what is
 * recorded and served, the refusals, and that no path leaves an object no record names.
 */
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createFetchHandler } from '../../../handlers/fetch';
import { createPackagesHandler } from '../../../handlers/packages';
import { recordAbandonedJob } from '../../../lib/use-cases/abandoned-jobs';
import type { FetchEvent, FetchResult } from '../../../lib/jobs/fetch-contract';
import { createJob } from '../../../lib/jobs/job-lease';
import { createLogger } from '../../../lib/core/logger';
import { objectKeyFor, requestKeysFor } from '../../../lib/storage/package-store';
import type { AppDescCase } from '../../fixtures/app-desc/generate';
import { useWorkerRig } from '../../helpers/worker-rig';
import { sha256Of } from '../../helpers/archives';
import { expectInvariants, objectBytes, objectKeysOf } from '../../helpers/storage';

const fixtures = path.join(__dirname, '../../fixtures/app-desc');
const manifest = JSON.parse(readFileSync(path.join(fixtures, 'manifest.json'), 'utf8')) as AppDescCase[];
const fixture = (file: string): Buffer => readFileSync(path.join(fixtures, 'files', file));
const logo = (file: string): Buffer => readFileSync(path.join(fixtures, 'logos', file));

const rig = useWorkerRig();

function uniqueCode(): string {
  return `desc-${randomUUID().slice(0, 8)}`;
}

/** Serves `file` under the code and sends the worker an event for it, without `version` unless given. */
async function register(
  code: string,
  file: string,
  options: { version?: string; allowOverwrite?: boolean; module?: string; env?: Record<string, string>; jobId?: string } = {},
): Promise<FetchResult> {
  rig.server.serve(`/${code}/${file}`, fixture(file));
  const worker = createFetchHandler({ config: rig.storage.config(options.env), ...rig.storage.clientsOf('fetch'), now: () => new Date() });
  const jobId = options.jobId ?? randomUUID();
  const event: FetchEvent = {
    job_id: jobId,
    request_id: jobId,
    code,
    module: options.module ?? 'default',
    package_url: rig.server.url(`/${code}/${file}`),
    allow_overwrite: options.allowOverwrite ?? false,
    ...(options.version ? { version: options.version } : {}),
  };
  return worker(event, { awsRequestId: randomUUID(), getRemainingTimeInMillis: () => 60_000 });
}

/** A GET (or DELETE) through the `packages` handler under its role, as API Gateway hands it over. */
async function read(code: string, version?: string, query: Record<string, string> | null = null, method = 'GET'): Promise<Record<string, unknown>> {
  const handler = createPackagesHandler({ config: rig.storage.config(), ...rig.storage.clientsOf('packages'), now: () => new Date() });
  const base = `/bkapps/applications/${code}/modules/default/source_package`;
  const response = await handler(
    {
      path: version === undefined ? `${base}/` : `${base}/${version}/`,
      httpMethod: method,
      headers: {},
      queryStringParameters: query,
      pathParameters: { code, module_name: 'default', ...(version === undefined ? {} : { version }) },
      requestContext: { requestId: randomUUID(), stage: 'stag', authorizer: { authenticated: 'true', principal: 'reader', token_id: 'tok_reader', apps: code } },
      body: null,
      isBase64Encoded: false,
    },
    { awsRequestId: randomUUID() },
  );
  return { status: response.statusCode, ...(JSON.parse(response.body || '{}') as Record<string, unknown>) };
}

describe('app descriptions in archives made by tar and zip', () => {
  it('covers the formats, the refusals and a request without version', () => {
    expect(manifest.filter((entry) => entry.verdict === 'registered' && entry.requestVersion === undefined).length).toBeGreaterThanOrEqual(6);
    expect(manifest.filter((entry) => entry.verdict === 'refused').length).toBeGreaterThanOrEqual(5);
  });

  it.each(manifest.map((entry) => [entry.file, entry] as const))('%s', async (file, entry) => {
    // Prepare
    const code = uniqueCode();

    // Act
    const result = await register(code, file, { version: entry.requestVersion });

    // Assess
    const records = await expectInvariants(rig.storage, code, 'default');
    if (entry.verdict === 'refused') {
      expect(result).toMatchObject({ state: 'failed', error: { code: entry.code } });
      const said = entry.code === 'VALIDATION_ERROR' ? result.error?.fields_detail?.version?.join(' ') : result.error?.detail;
      expect(said).toContain(entry.detail);
      expect(records).toEqual([]);
      return;
    }
    expect(result).toMatchObject({ state: 'succeeded', package: { version: entry.version, sha256_signature: sha256Of(fixture(file)) } });
    expect(Object.keys(result.package ?? {}).sort()).toEqual(['created', 'package_name', 'package_size', 'sha256_signature', 'updated', 'version']);
    expect(records).toEqual([
      expect.objectContaining({
        version: entry.version,
        ...(entry.appVersion ? { app_version: entry.appVersion } : {}),
        ...(entry.specVersion ? { spec_version: entry.specVersion } : {}),
      }),
    ]);
    const detail = await read(code, entry.version, { include: 'logo' });
    expect(detail).toMatchObject({
      status: 200,
      version: entry.version,
      spec_version: entry.specVersion,
      app_version: entry.appVersion,
      relative_path: entry.relativePath,
      meta_info: entry.meta ? expect.objectContaining(entry.meta) : {},
      logo_b64data: entry.logo ? `base64,${logo(entry.logo).toString('base64')}` : null,
    });
    const list = await read(code);
    expect(list.results).toEqual([expect.objectContaining({ version: entry.version, spec_version: entry.specVersion, app_version: entry.appVersion })]);
  });
});

describe('serving the description', () => {
  it('leaves the logo out unless asked for with ?include=logo, and refuses what it does not know', async () => {
    // Prepare
    const code = uniqueCode();
    await register(code, 'spec3-logo.tar.gz');

    // Act
    const plain = await read(code, '0.0.1');
    const unknown = await read(code, '0.0.1', { include: 'logo,readme' });

    // Assess
    expect(plain).toMatchObject({ status: 200, app_version: '0.0.1', relative_path: './' });
    expect(plain).not.toHaveProperty('logo_b64data');
    expect(unknown).toMatchObject({ status: 400, code: 'VALIDATION_ERROR', fields_detail: { include: [expect.stringContaining('readme')] } });
  });
});

describe('deleting a version', () => {
  it('removes its package, description and logo with its record', async () => {
    // Prepare
    const code = uniqueCode();
    await register(code, 'spec3-logo.tar.gz');
    expect(await objectKeysOf(rig.storage, code, 'default')).toHaveLength(3);

    // Act
    const deleted = await read(code, '0.0.1', null, 'DELETE');

    // Assess
    expect(deleted.status).toBe(204);
    expect(await expectInvariants(rig.storage, code, 'default')).toEqual([]);
    expect(await objectKeysOf(rig.storage, code, 'default')).toEqual([]);
  });
});

describe('a description for another application', () => {
  it('is recorded by default, as the platform does', async () => {
    // Act: the package says bkAppCode "myapp"
    const code = uniqueCode();
    const result = await register(code, 'spec3-logo.tar.gz');

    // Assess
    expect(result.state).toBe('succeeded');
    expect(await expectInvariants(rig.storage, code, 'default')).toHaveLength(1);
  });

  it('is refused with 422 and leaves nothing when REQUIRE_MATCHING_APP_CODE is on, and accepted for its own application', async () => {
    // Prepare
    const env = { REQUIRE_MATCHING_APP_CODE: 'true' };
    const code = uniqueCode();
    const module = `m-${randomUUID().slice(0, 8)}`;

    // Act
    const other = await register(code, 'spec3-logo.tar.gz', { env });
    const own = await register('myapp', 'spec3-logo.tar.gz', { env, module });

    // Assess
    expect(other).toMatchObject({ state: 'failed', error: { code: 'INVALID_PACKAGE_FORMAT', detail: `The app description "app_desc.yaml" is for application "myapp", not "${code}".` } });
    expect(await expectInvariants(rig.storage, code, 'default')).toEqual([]);
    expect(own.state).toBe('succeeded');
    expect(await expectInvariants(rig.storage, 'myapp', module)).toHaveLength(1);
  });
});

describe('overwrite semantics without version', () => {
  it('answers 409 PACKAGE_ALREADY_EXISTS after the download when the package\'s version exists, leaving the first untouched', async () => {
    // Prepare
    const code = uniqueCode();
    const first = await register(code, 'spec3-logo.tar.gz');

    // Act
    const again = await register(code, 'spec3-logo.tar.gz');

    // Assess
    expect(again).toMatchObject({ state: 'failed', error: { code: 'PACKAGE_ALREADY_EXISTS', detail: expect.stringContaining('"0.0.1"') } });
    expect(rig.server.hits(`/${code}/spec3-logo.tar.gz`)).toBe(2);
    const [record] = await expectInvariants(rig.storage, code, 'default');
    expect(record).toMatchObject({ version: '0.0.1', sha256: first.package?.sha256_signature, logo_key: expect.any(String) });
  });

  it('replaces the package and what lives beside it with allow_overwrite, keeping created', async () => {
    // Prepare: 0.0.1 with a description and a logo
    const code = uniqueCode();
    const first = await register(code, 'spec3-logo.tar.gz');

    // Act: the same version from a package with neither
    const second = await register(code, 'no-description.tar.gz', { version: '0.0.1', allowOverwrite: true });

    // Assess
    expect(second).toMatchObject({ state: 'succeeded', package: { created: first.package?.created } });
    const [record] = await expectInvariants(rig.storage, code, 'default');
    expect(record).not.toHaveProperty('meta_info_key');
    expect(record).not.toHaveProperty('logo_key');
    expect(await objectKeysOf(rig.storage, code, 'default')).toEqual([record?.object_key]);
    expect(await read(code, '0.0.1')).toMatchObject({ spec_version: null, app_version: null, meta_info: {}, relative_path: './' });
  });

  it('lets exactly one of four concurrent requests for the same new version win, the rest 409, one set of objects', async () => {
    // Prepare
    const code = uniqueCode();

    // Act
    const results = await Promise.all(Array.from({ length: 4 }, () => register(code, 'spec3-logo.tar.gz')));

    // Assess
    expect(results.map((result) => result.error?.code ?? result.state).sort()).toEqual([
      'PACKAGE_ALREADY_EXISTS',
      'PACKAGE_ALREADY_EXISTS',
      'PACKAGE_ALREADY_EXISTS',
      'succeeded',
    ]);
    const [record] = await expectInvariants(rig.storage, code, 'default');
    expect(await objectKeysOf(rig.storage, code, 'default')).toHaveLength(3);
    expect(await objectBytes(rig.storage, record?.logo_key ?? '')).toEqual(logo('app-logo.png'));
  });
});

describe('what a job Lambda gave up on leaves', () => {
  /** The failure queue itself is exercised end to end (test/e2e/job-recovery.test.ts); here it only has to take the record. */
  const queue = { send: async () => ({}) } as unknown as SQSClient;

  function abandon(event: FetchEvent) {
    const clients = rig.storage.clientsOf('fetchFailures');
    return recordAbandonedJob(
      { requestContext: { condition: 'RetriesExhausted', approximateInvokeCount: 3 }, requestPayload: event, responsePayload: null },
      {
        jobs: { dynamodb: clients.dynamodb, table: rig.storage.jobsTable, ttlSeconds: 60, now: () => new Date() },
        sqs: queue,
        queueUrl: 'http://127.0.0.1/queue',
        s3: clients.s3,
        bucket: rig.storage.bucket,
        versionsTable: rig.storage.table,
        log: createLogger({}, 'silent'),
      },
    );
  }

  it('removes a version-less job\'s package, description and logo when no record names them', async () => {
    // Prepare: the job link recorded, and what a run that died before the version write left at its keys
    const code = uniqueCode();
    const jobId = randomUUID();
    const event: FetchEvent = { job_id: jobId, request_id: jobId, code, module: 'default', package_url: 'http://127.0.0.1/x.tar.gz', allow_overwrite: false };
    await createJob({ dynamodb: rig.storage.dynamodb, table: rig.storage.jobsTable, ttlSeconds: 60, now: () => new Date() }, jobId, event, 'fingerprint');
    for (const key of requestKeysFor(objectKeyFor(code, 'default', jobId))) {
      await rig.storage.s3.send(new PutObjectCommand({ Bucket: rig.storage.bucket, Key: key, Body: 'left over' }));
    }
    expect(await objectKeysOf(rig.storage, code, 'default')).toHaveLength(3);

    // Act
    const abandoned = await abandon(event);

    // Assess
    expect(abandoned.recordedFailed).toBe(true);
    expect(await expectInvariants(rig.storage, code, 'default')).toEqual([]);
  });

  it('keeps what the record of the version the job took from its package names', async () => {
    // Prepare: the run wrote its record, then died before ending the job
    const code = uniqueCode();
    const jobId = randomUUID();
    expect((await register(code, 'spec3-logo.tar.gz', { jobId })).state).toBe('succeeded');
    await rig.storage.dynamodb.send(
      new UpdateItemCommand({
        TableName: rig.storage.jobsTable,
        Key: { job_id: { S: jobId } },
        UpdateExpression: 'SET #state = :running',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: { ':running': { S: 'running' } },
      }),
    );

    // Act
    const abandoned = await abandon({ job_id: jobId, request_id: jobId, code, module: 'default', package_url: 'http://127.0.0.1/x.tar.gz', allow_overwrite: false });

    // Assess
    expect(abandoned.recordedFailed).toBe(true);
    const [record] = await expectInvariants(rig.storage, code, 'default');
    expect(record?.logo_key).toBeDefined();
  });
});
