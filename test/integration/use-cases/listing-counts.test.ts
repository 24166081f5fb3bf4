/**
 * The listings' `count` (the total across pages, as Django REST framework counts, within a
 * bounded number of index reads) and the job listing's signed cursors, against the DynamoDB
 * emulator through the `jobStatus` handler.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { QueryCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createJobStatusHandler } from '../../../handlers/job-status';
import type { HttpResponse } from '../../../lib/http/http-response';
import { acquireJob, createJob } from '../../../lib/jobs/job-lease';
import { type JobStore } from '../../../lib/jobs/job-records';
import { countMatching } from '../../../lib/storage/query-count';
import { countVersions, writeVersion } from '../../../lib/storage/version-records';
import { startTestStorage, type TestStorage } from '../../helpers/storage';

let storage: TestStorage;
let jobs: JobStore;

beforeAll(async () => {
  storage = await startTestStorage();
  jobs = { dynamodb: storage.dynamodb, table: storage.jobsTable, ttlSeconds: 3600, now: () => new Date() };
});

afterAll(async () => {
  await storage?.close();
});

function uniqueCode(): string {
  return `app-${randomUUID().slice(0, 8)}`;
}

async function storeVersions(code: string, count: number): Promise<void> {
  for (let i = 1; i <= count; i += 1) {
    await writeVersion(
      storage.dynamodb,
      storage.table,
      {
        code,
        module: 'default',
        version: `v${i}`,
        packageName: `v${i}.tar.gz`,
        packageSize: 1,
        sha256: '0'.repeat(64),
        format: 'tar.gz',
        entryCount: 1,
        uncompressedSize: 1,
        objectKey: `packages/${code}/default/${i}`,
        requestId: randomUUID(),
        operator: 'writer',
        updated: new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString(),
      },
      false,
    );
  }
}

/** `pending` jobs of a module, the first `running` of them taken by a worker. */
async function storeJobs(code: string, pending: number, running: number): Promise<void> {
  for (let i = 0; i < pending + running; i += 1) {
    const jobId = `job-${code}-${i}`;
    const event = { job_id: jobId, request_id: jobId, code, module: 'default', package_url: 'https://example.com/a.zip', allow_overwrite: false };
    await createJob(jobs, jobId, event, 'fingerprint');
    if (i < running) expect((await acquireJob(jobs, jobId, event, 'worker', 60_000)).acquired).toBe(true);
  }
}

function listJobs(code: string, query: Record<string, string> = {}): Promise<HttpResponse> {
  const handler = createJobStatusHandler({ config: storage.config({ STAGE: 'stag', ALLOW_PRIVATE_URLS: 'false' }), dynamodb: storage.dynamodb, now: () => new Date() });
  return handler(
    {
      path: `/bkapps/applications/${code}/modules/default/source_package/link/jobs/`,
      httpMethod: 'GET',
      headers: {},
      queryStringParameters: query,
      pathParameters: { code, module_name: 'default' },
      requestContext: { requestId: randomUUID(), stage: 'stag', authorizer: { authenticated: 'true', principal: 'reader', token_id: 'tok', apps: code } },
      body: null,
      isBase64Encoded: false,
    },
    { awsRequestId: 'direct' },
  );
}

function body(response: HttpResponse): { count: number | null; results: { job_id: string; state: string }[]; next: string | null } {
  expect(response.statusCode).toBe(200);
  return JSON.parse(response.body) as { count: number | null; results: { job_id: string; state: string }[]; next: string | null };
}

describe('a listing\'s count', () => {
  it('is the total a COUNT query finds within its budget of reads, and null past it', async () => {
    const code = uniqueCode();
    await storeVersions(code, 7);
    const query = {
      TableName: storage.table,
      IndexName: 'by_module_updated',
      KeyConditionExpression: 'module_key = :k',
      ExpressionAttributeValues: { ':k': { S: `${code}/default` } },
    };

    // 7 items, 2 per read: the fourth read finds the last one.
    const withinBudget = await countMatching(storage.dynamodb, query, { reads: 4, itemsPerRead: 2 });
    const pastBudget = await countMatching(storage.dynamodb, query, { reads: 3, itemsPerRead: 2 });
    const byDefault = await countVersions(storage.dynamodb, storage.table, { code, module: 'default' });

    expect(withinBudget).toBe(7);
    expect(pastBudget).toBeNull();
    expect(byDefault).toBe(7);
  });

  it('counts all of a module\'s jobs, or those of the state asked for, on every page', async () => {
    const code = uniqueCode();
    await storeJobs(code, 3, 2);

    const first = body(await listJobs(code, { limit: '2' }));
    const second = body(await listJobs(code, { limit: '2', cursor: first.next ?? '' }));
    const running = body(await listJobs(code, { state: 'running' }));
    const failed = body(await listJobs(code, { state: 'failed' }));

    expect([first.count, second.count]).toEqual([5, 5]);
    expect([first.results.length, second.results.length]).toEqual([2, 2]);
    expect(running).toMatchObject({ count: 2, next: null });
    expect(running.results.map((job) => job.state)).toEqual(['running', 'running']);
    expect(failed).toEqual({ count: 0, results: [], next: null });
  });

  it('is counted once per walk: on the first page, then carried by the cursor', async () => {
    const code = uniqueCode();
    await storeJobs(code, 5, 0);
    // A spy on the real client, counting the COUNT queries that reach the emulator.
    const send = vi.spyOn(storage.dynamodb, 'send');
    const countQueries = () => send.mock.calls.filter(([command]) => command instanceof QueryCommand && command.input.Select === 'COUNT').length;

    const pages = [body(await listJobs(code, { limit: '2' }))];
    while (pages.at(-1)?.next) pages.push(body(await listJobs(code, { limit: '2', cursor: pages.at(-1)?.next ?? '' })));
    const counted = countQueries();
    send.mockRestore();

    expect(pages.map((page) => page.results.length)).toEqual([2, 2, 1]);
    expect(pages.map((page) => page.count)).toEqual([5, 5, 5]);
    expect(counted).toBe(1);
  });

  it('ends a filtered listing with nothing to find on its first page, though the index goes on', async () => {
    const code = uniqueCode();
    await storeJobs(code, 12, 0);

    const failed = body(await listJobs(code, { state: 'failed', limit: '1' }));

    expect(failed).toEqual({ count: 0, results: [], next: null });
  });
});

describe('the job listing\'s cursor', () => {
  it('is refused with 400 when altered, signed with another key, or issued for another module or state filter', async () => {
    const code = uniqueCode();
    const otherCode = uniqueCode();
    await storeJobs(code, 3, 0);
    await storeJobs(otherCode, 3, 0);
    const issued = body(await listJobs(code, { limit: '1' })).next ?? '';
    const othersCursor = body(await listJobs(otherCode, { limit: '1' })).next ?? '';
    const pendingCursor = body(await listJobs(code, { limit: '1', state: 'pending' })).next ?? '';
    const [payload = ''] = issued.split('.');
    const position = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, string>;
    const reworded = Buffer.from(JSON.stringify({ ...position, job_id: `job-${code}-0` })).toString('base64url');
    const otherKey = createHmac('sha256', 'k'.repeat(64)).update(payload).digest('base64url');

    const refused = await Promise.all(
      [`${reworded}.${issued.split('.')[1]}`, `${payload}.${otherKey}`, othersCursor, pendingCursor].map((cursor) => listJobs(code, { limit: '1', cursor })),
    );
    const pendingOnItsOwn = await listJobs(code, { limit: '1', state: 'pending', cursor: pendingCursor });
    const accepted = await listJobs(code, { limit: '1', cursor: issued });

    expect(refused.map((answer) => answer.statusCode)).toEqual([400, 400, 400, 400]);
    expect(new Set(refused.map((answer) => (JSON.parse(answer.body) as { code: string }).code))).toEqual(new Set(['VALIDATION_ERROR']));
    expect(accepted.statusCode).toBe(200);
    expect(pendingOnItsOwn.statusCode).toBe(200);
  });

  it('may be empty, which is the first page, as Django REST framework reads it', async () => {
    const code = uniqueCode();
    await storeJobs(code, 2, 0);

    const page = body(await listJobs(code, { cursor: '' }));

    expect(page).toMatchObject({ count: 2, next: null });
    expect(page.results).toHaveLength(2);
  });
});
