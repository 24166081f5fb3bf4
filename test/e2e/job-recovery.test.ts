/**
 * Every accepted job ends, whatever happens to the invocation running it, and a client can
 * follow it: against the running local stack, the worker's container is killed (kill -9) in the
 * middle of a download, on every attempt, and the whole stack is killed and started again. After
 * each, the job reaches a final state on its own, with one record and one object or none, and
 * no multipart upload left in progress.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventsOfJob, schemaProblems } from '../helpers/event-schemas';
import { startArchiveServer, type ArchiveServer } from '../helpers/archive-server';
import { sampleEntries, sha256Of, tarGzArchive } from '../helpers/archives';
import { freePorts, startLocalStack, type LocalStack, type LocalStackPorts } from '../helpers/local-stack';
import { expectInvariants, multipartUploadsInProgress } from '../helpers/storage';
import { formatApiTime } from '../../lib/storage/package-record';

const FETCH = 'bkpaas-source-package-link-local-fetch';
// Short waits all round: a 2 s budget, 2 s leases, retries 0.3 s and 0.6 s apart.
const STACK_ENV = { SYNC_BUDGET_MS: '2000', JOB_LEASE_SECONDS: '2', LOCAL_ASYNC_RETRY_DELAYS_MS: '300,600' };
const MiB = 1024 * 1024;

let stack: LocalStack;
let server: ArchiveServer;
let dataDir: string;
let ports: LocalStackPorts;
const token = `bkpaas_recovery_${randomUUID()}`;

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'bkpaas-recovery-'));
  ports = await freePorts();
  server = await startArchiveServer();
  stack = await startLocalStack({ dataDir, token, ports, env: STACK_ENV });
});

afterAll(async () => {
  await stack?.stop();
  await server?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

const auth = { 'X-BKAPI-AUTHORIZATION': JSON.stringify({ access_token: token }) };
const uniqueCode = (): string => `recovery-${randomUUID().slice(0, 8)}`;

/** Sends `bytes` 256 KiB at a time every `everyMs`, as a slow server does; never ends when `stall`. */
function trickle(bytes: Buffer, everyMs: number, stall = false) {
  return (_req: unknown, res: ServerResponse): void => {
    res.writeHead(200, { 'content-length': bytes.length });
    let offset = 0;
    const timer = setInterval(() => {
      if (res.destroyed) return clearInterval(timer);
      if (stall && offset + 256 * 1024 >= bytes.length) return; // holds back the last piece for ever
      res.write(bytes.subarray(offset, offset + 256 * 1024));
      offset += 256 * 1024;
      if (offset >= bytes.length) {
        clearInterval(timer);
        res.end();
      }
    }, everyMs);
    res.on('close', () => clearInterval(timer));
  };
}

function post(code: string, url: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(stack.linkUrl(code, 'default'), {
    method: 'POST',
    headers: { ...auth, 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify({ package_url: url, version: 'v1' }),
  });
}

async function job(location: string): Promise<Record<string, unknown>> {
  return (await (await fetch(location, { headers: auth })).json()) as Record<string, unknown>;
}

async function until(location: string, done: (job: Record<string, unknown>) => boolean, what: string, timeoutMs = 60_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const current = await job(location);
    if (done(current)) return current;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(current)}`);
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
}

const ended = (current: Record<string, unknown>): boolean => current.state === 'succeeded' || current.state === 'failed';

describe('a worker killed in the middle of a download', () => {
  it('is delivered again (asynchronous mode): the job succeeds, one record, one object, no upload left', async () => {
    const code = uniqueCode();
    const archive = await tarGzArchive(sampleEntries(code, 8 * MiB));
    server.route(`/${code}/big.tar.gz`, trickle(archive, 100));
    const accepted = await post(code, server.url(`/${code}/big.tar.gz`), { Prefer: 'respond-async' });
    const location = accepted.headers.get('location') ?? '';
    await until(location, (current) => Number(current.bytes_received) > 2 * MiB, 'the download to be under way');

    expect(stack.killContainers(FETCH)).toBeGreaterThan(0);

    const final = await until(location, ended, 'the job to end');
    expect(final).toMatchObject({ state: 'succeeded', attempts: 2, package: { sha256_signature: sha256Of(archive) } });
    expect(await expectInvariants(stack.storage, code, 'default')).toHaveLength(1);
    expect(server.hits(`/${code}/big.tar.gz`)).toBe(2);
  });

  it('is delivered again after a synchronous request outlived its budget: 202, then the job succeeds', async () => {
    const code = uniqueCode();
    const archive = await tarGzArchive(sampleEntries(code, 8 * MiB));
    // About 5 s of download, well past the 2 s budget, so the worker is still downloading when it is killed.
    server.route(`/${code}/big.tar.gz`, trickle(archive, 150));

    const response = await post(code, server.url(`/${code}/big.tar.gz`));

    expect(response.status).toBe(202);
    const location = response.headers.get('location') ?? '';
    expect(location).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${ports.api}/api/bkpaas3/stag/bkapps/applications/${code}/modules/default/source_package/link/jobs/[A-Za-z0-9_-]+/$`));
    expect(response.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(location).toContain(response.headers.get('x-job-id') ?? 'no job id');
    await until(location, (current) => Number(current.bytes_received) > 2 * MiB, 'the download to be under way');
    expect(stack.killContainers(FETCH)).toBeGreaterThan(0);
    expect(await until(location, ended, 'the job to end')).toMatchObject({ state: 'succeeded', attempts: 2 });
    expect(await expectInvariants(stack.storage, code, 'default')).toHaveLength(1);
  });

  it('ends the job failed when every attempt is killed, announces it on the bus, and puts its event in the failure queue', async () => {
    const code = uniqueCode();
    const archive = await tarGzArchive(sampleEntries(code, 2 * MiB));
    server.route(`/${code}/stuck.tar.gz`, trickle(archive, 50, true));
    const accepted = await post(code, server.url(`/${code}/stuck.tar.gz`), { Prefer: 'respond-async' });
    const location = accepted.headers.get('location') ?? '';

    for (let attempt = 1; attempt <= 3; attempt += 1) {
      await until(location, (current) => current.attempts === attempt && Number(current.bytes_received) > 0, `attempt ${attempt}`);
      expect(stack.killContainers(FETCH)).toBeGreaterThan(0);
    }

    const final = await until(location, ended, 'the job to end');
    expect(final).toMatchObject({ state: 'failed', error: { code: 'WORKER_FAILED', detail: expect.stringContaining('stopped before it finished') } });
    expect(await expectInvariants(stack.storage, code, 'default')).toEqual([]);
    expect(await stack.failureRecordOf(code)).toMatchObject({ requestContext: { condition: 'RetriesExhausted' } });
    // fetchFailures ended it, and announced that end as the worker would have (docs/api.md#events).
    const announced = eventsOfJob(path.join(dataDir, 'event-bus'), final.job_id as string);
    expect(announced).toHaveLength(1);
    expect(schemaProblems(announced[0]!)).toEqual([]);
    expect(announced[0]).toMatchObject({ 'detail-type': 'Source Package Job Failed', detail: { code, error: { code: 'WORKER_FAILED', status: 503 } } });
    // The end it names is the one the job resource shows (there to the second).
    expect(formatApiTime((announced[0]!.detail as { finished_at: string }).finished_at)).toBe(final.finished);
  });
});

describe("what Lambda's asynchronous retries run again", () => {
  it('gives a URL answering 404 one attempt: the job ends failed with 422 PACKAGE_URL_UNAVAILABLE, is not run again, and stays out of the failure queue', async () => {
    const code = uniqueCode();
    const accepted = await post(code, server.url(`/${code}/typo.tar.gz`), { Prefer: 'respond-async' });
    const location = accepted.headers.get('location') ?? '';

    const final = await until(location, ended, 'the job to end');
    // Well past the retries' 0.3 s and 0.6 s: a retry would have downloaded again by now.
    await new Promise((resolve) => setTimeout(resolve, 3_000));

    expect(final).toMatchObject({ state: 'failed', attempts: 1, error: { code: 'PACKAGE_URL_UNAVAILABLE', detail: expect.stringContaining('404') } });
    expect(await job(location)).toEqual(final);
    expect(server.hits(`/${code}/typo.tar.gz`)).toBe(1);
    expect(await stack.failureRecordOf(code, 4)).toBeUndefined();
    expect(await expectInvariants(stack.storage, code, 'default')).toEqual([]);
  });

  it('gives a URL answering 503 with Retry-After: 7 every attempt; the failed job carries retry_after 7 and its event reaches the failure queue', async () => {
    const code = uniqueCode();
    server.route(`/${code}/busy.tar.gz`, (_req, res) => res.writeHead(503, { 'retry-after': '7' }).end('busy'));
    const accepted = await post(code, server.url(`/${code}/busy.tar.gz`), { Prefer: 'respond-async' });
    const location = accepted.headers.get('location') ?? '';

    const final = await until(location, ended, 'the job to end');

    expect(final).toMatchObject({ state: 'failed', attempts: 3, error: { code: 'PACKAGE_DOWNLOAD_FAILED', retry_after: 7 } });
    expect(server.hits(`/${code}/busy.tar.gz`)).toBe(3);
    expect(await stack.failureRecordOf(code)).toMatchObject({ requestContext: { condition: 'RetriesExhausted' } });
    expect(await expectInvariants(stack.storage, code, 'default')).toEqual([]);
  });
});

describe('the whole local stack killed in the middle of a download', () => {
  it('finishes the job after a restart without a new request, and leaves no multipart upload in progress', async () => {
    const code = uniqueCode();
    const archive = await tarGzArchive(sampleEntries(code, 12 * MiB));
    server.route(`/${code}/huge.tar.gz`, trickle(archive, 40));
    const accepted = await post(code, server.url(`/${code}/huge.tar.gz`), { Prefer: 'respond-async' });
    const location = accepted.headers.get('location') ?? '';
    await until(location, (current) => Number(current.bytes_received) > 6 * MiB, 'a part or more to be uploaded');

    await stack.crash();
    stack = await startLocalStack({ dataDir, token, ports, env: STACK_ENV });

    const final = await until(location, ended, 'the job to end after the restart');
    expect(final).toMatchObject({ state: 'succeeded', package: { sha256_signature: sha256Of(archive) } });
    expect(await expectInvariants(stack.storage, code, 'default')).toHaveLength(1);
    expect(await multipartUploadsInProgress(stack.storage)).toBe(0);
  });
});

describe('following a job', () => {
  it('finds the job from the X-Job-Id of a 200, from its Idempotency-Key, and in the list', async () => {
    const code = uniqueCode();
    server.serve(`/${code}/a.tar.gz`, await tarGzArchive(sampleEntries(code)));
    const key = randomUUID();
    const jobsUrl = `${stack.baseUrl}/bkapps/applications/${code}/modules/default/source_package/link/jobs/`;

    const response = await post(code, `${server.url(`/${code}/a.tar.gz`).replace('http://', 'http://user:secret@')}?signature=abc`, { 'Idempotency-Key': key });
    const jobId = response.headers.get('x-job-id') ?? '';

    expect(response.status).toBe(200);
    const byId = await job(`${jobsUrl}${jobId}/`);
    expect(byId).toMatchObject({ job_id: jobId, state: 'succeeded', attempts: 1, bytes_received: expect.any(Number), started: expect.any(String), finished: expect.any(String) });
    expect(byId.package_url).toBe(`${server.url(`/${code}/a.tar.gz`)}?…`);
    const byKey = (await (await fetch(`${jobsUrl}?idempotency_key=${encodeURIComponent(key)}`, { headers: auth })).json()) as { results: { job_id: string }[] };
    expect(byKey.results.map((result) => result.job_id)).toEqual([jobId]);
    const listed = (await (await fetch(`${jobsUrl}?state=succeeded&limit=5`, { headers: auth })).json()) as { results: { job_id: string }[]; next: string | null };
    expect(listed.results.map((result) => result.job_id)).toContain(jobId);
    const running = (await (await fetch(`${jobsUrl}?state=running`, { headers: auth })).json()) as { results: unknown[] };
    expect(running.results).toEqual([]);
  });
});
