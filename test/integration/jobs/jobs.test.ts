/**
 * Jobs and Lambda's event-driven retries, against the emulators and a real archive
 * server that counts downloads: duplicated and overlapping deliveries, a crashed run taken over,
 * and which failures are handed back to Lambda for a retry.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createFetchHandler } from '../../../handlers/fetch';
import type { FetchEvent } from '../../../lib/jobs/fetch-contract';
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { acquireJob } from '../../../lib/jobs/job-lease';
import { getJob } from '../../../lib/jobs/job-records';
import { objectKeyFor } from '../../../lib/storage/package-store';
import { useWorkerRig } from '../../helpers/worker-rig';
import { sampleEntries, sha256Of, tarGzArchive } from '../../helpers/archives';
import { expectInvariants } from '../../helpers/storage';

const rig = useWorkerRig();

const worker = (env: Record<string, string> = {}) =>
  createFetchHandler({ config: rig.storage.config(env), ...rig.storage.clientsOf('fetch'), now: () => new Date() });

const deliver = (event: FetchEvent, env?: Record<string, string>) =>
  worker(env)(event, { awsRequestId: randomUUID(), getRemainingTimeInMillis: () => 60_000 });

function eventFor(code: string, path: string, overrides: Partial<FetchEvent> = {}): FetchEvent {
  const jobId = `job-${randomUUID()}`;
  return { job_id: jobId, request_id: jobId, code, module: 'default', version: 'v1', allow_overwrite: false, package_url: rig.server.url(path), mode: 'async', ...overrides };
}

function jobsStore() {
  return { dynamodb: rig.storage.clientsOf('fetch').dynamodb, table: rig.storage.jobsTable, ttlSeconds: 60, now: () => new Date() };
}

function uniqueCode(): string {
  return `jobs-${randomUUID().slice(0, 8)}`;
}

describe('duplicated and overlapping deliveries', () => {
  it('answers a duplicated event for a finished job from the record, without downloading again', async () => {
    const code = uniqueCode();
    rig.server.serve(`/${code}/a.tar.gz`, await tarGzArchive(sampleEntries(code)));
    const event = eventFor(code, `/${code}/a.tar.gz`);
    const first = await deliver(event);

    const again = await deliver(event);

    expect(first).toMatchObject({ job_id: event.job_id, state: 'succeeded' });
    expect(again).toEqual(first);
    expect(rig.server.hits(`/${code}/a.tar.gz`)).toBe(1);
    expect(await expectInvariants(rig.storage, code, 'default')).toHaveLength(1);
  });

  it('runs two overlapping deliveries of one event once: one download, one object', async () => {
    const code = uniqueCode();
    const archive = await tarGzArchive(sampleEntries(code, 256 * 1024));
    rig.server.route(`/${code}/slow.tar.gz`, (_req, res) => {
      res.writeHead(200, { 'content-length': archive.length });
      res.write(archive.subarray(0, 1024));
      setTimeout(() => res.end(archive.subarray(1024)), 400);
    });
    const event = eventFor(code, `/${code}/slow.tar.gz`);

    const [one, two] = await Promise.allSettled([deliver(event), deliver(event)]);

    // One runs; the other waits (at most one lease) while the first renews it, then answers its outcome.
    const outcomes = [one, two].map((o) => (o.status === 'fulfilled' ? o.value.state : (o.reason as Error).name)).sort();
    expect(outcomes).toEqual(['succeeded', 'succeeded']);
    expect(rig.server.hits(`/${code}/slow.tar.gz`)).toBe(1);
    expect(await deliver(event)).toMatchObject({ state: 'succeeded' });
    expect((await getJob({ dynamodb: rig.storage.dynamodb, table: rig.storage.jobsTable, ttlSeconds: 60, now: () => new Date() }, event.job_id ?? ''))?.state).toBe('succeeded');
    expect(await expectInvariants(rig.storage, code, 'default')).toHaveLength(1);
  });

  it('lets a retry take over a job whose worker died mid-run, once its lease has expired', async () => {
    const code = uniqueCode();
    const archive = await tarGzArchive(sampleEntries(code));
    rig.server.serve(`/${code}/a.tar.gz`, archive);
    const event = eventFor(code, `/${code}/a.tar.gz`);
    // The "dead" run: it took the job with a lease that has already run out, and never finished.
    const jobs = jobsStore();
    expect((await acquireJob(jobs, event.job_id ?? '', event, 'dead-invocation', 1)).acquired).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 20));

    const retried = await deliver(event);

    expect(retried).toMatchObject({ state: 'succeeded', package: { sha256_signature: sha256Of(archive) } });
    expect((await getJob(jobs, event.job_id ?? ''))?.attempts).toBe(2);
    expect(await expectInvariants(rig.storage, code, 'default')).toHaveLength(1);
  });

  it('leaves a job whose lease outlasts its wait alone, and throws the delivery back so it is not lost', async () => {
    const code = uniqueCode();
    rig.server.serve(`/${code}/a.tar.gz`, await tarGzArchive(sampleEntries(code)));
    const event = eventFor(code, `/${code}/a.tar.gz`);
    const jobs = jobsStore();
    // A holder whose lease runs far past one of this worker's leases (2 s in tests).
    await acquireJob(jobs, event.job_id ?? '', event, 'live-invocation', 60_000);

    const asyncDuplicate = await deliver(event).catch((error: unknown) => error);
    const syncDuplicate = await deliver({ ...event, mode: 'sync' }).catch((error: unknown) => error);

    // Answering "running" would end the delivery for good; thrown, Lambda tries again later.
    expect(asyncDuplicate).toMatchObject({ name: 'JobBusyError' });
    expect(syncDuplicate).toMatchObject({ name: 'JobBusyError' });
    expect(rig.server.hits(`/${code}/a.tar.gz`)).toBe(0);
  });

  it('waits for a holder that stops renewing its lease, and then runs the job itself', async () => {
    const code = uniqueCode();
    const archive = await tarGzArchive(sampleEntries(code));
    rig.server.serve(`/${code}/a.tar.gz`, archive);
    const event = eventFor(code, `/${code}/a.tar.gz`);
    // A run that took the job a moment ago (a 1.5 s lease) and then died without a word.
    await acquireJob(jobsStore(), event.job_id ?? '', event, 'dying-invocation', 1_500);

    const delivered = await deliver(event);

    expect(delivered).toMatchObject({ state: 'succeeded', attempts: 2, package: { sha256_signature: sha256Of(archive) } });
    expect(rig.server.hits(`/${code}/a.tar.gz`)).toBe(1);
    expect(await expectInvariants(rig.storage, code, 'default')).toHaveLength(1);
  });

  it('stops a run whose lease another delivery took over, abandoning its upload and leaving the object key alone', async () => {
    const code = uniqueCode();
    const archive = await tarGzArchive(sampleEntries(code, 512 * 1024));
    rig.server.route(`/${code}/slow.tar.gz`, (_req, res) => {
      res.writeHead(200, { 'content-length': archive.length });
      res.write(archive.subarray(0, 1024));
      setTimeout(() => res.end(archive.subarray(1024)), 2_500);
    });
    const event = eventFor(code, `/${code}/slow.tar.gz`);
    const running = deliver(event);
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Another delivery takes the job over, as if this run's lease had run out unseen.
    await jobsStore().dynamodb.send(
      new UpdateItemCommand({
        TableName: rig.storage.jobsTable,
        Key: { job_id: { S: event.job_id ?? '' } },
        UpdateExpression: 'SET lease_owner = :other',
        ExpressionAttributeValues: { ':other': { S: 'newer-invocation' } },
      }),
    );

    const stopped = await running;

    expect(stopped).toMatchObject({ state: 'running' });
    expect(await getJob(jobsStore(), event.job_id ?? '')).toMatchObject({ state: 'running', leaseOwner: 'newer-invocation' });
    expect(await expectInvariants(rig.storage, code, 'default')).toEqual([]);
  });

  it('answers a retried overwrite event from its record, without uploading over its own object', async () => {
    const code = uniqueCode();
    const first = await tarGzArchive(sampleEntries(code));
    rig.server.serve(`/${code}/a.tar.gz`, first);
    const event = eventFor(code, `/${code}/a.tar.gz`, { allow_overwrite: true, mode: 'sync' });
    expect(await deliver(event)).toMatchObject({ state: 'succeeded' });
    // As if finishing the job had failed after the version write, and the event came again.
    await jobsStore().dynamodb.send(
      new UpdateItemCommand({
        TableName: rig.storage.jobsTable,
        Key: { job_id: { S: event.job_id ?? '' } },
        UpdateExpression: 'SET #state = :pending',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: { ':pending': { S: 'pending' } },
      }),
    );
    rig.server.serve(`/${code}/a.tar.gz`, await tarGzArchive(sampleEntries(`${code}-changed`)));

    const again = await deliver(event);

    expect(again).toMatchObject({ state: 'succeeded', package: { sha256_signature: sha256Of(first) } });
    expect(rig.server.hits(`/${code}/a.tar.gz`)).toBe(1);
    expect(await expectInvariants(rig.storage, code, 'default')).toHaveLength(1);
  });

  it('answers a retried event without version from the record of the version it took from its package, uploading nothing', async () => {
    // Prepare: a spec-2 package whose app description gives the version 0.0.2
    const code = uniqueCode();
    const described = readFileSync(path.join(__dirname, '../../fixtures/app-desc/files/spec2.tar.gz'));
    rig.server.serve(`/${code}/a.tar.gz`, described);
    const event = eventFor(code, `/${code}/a.tar.gz`, { version: undefined, mode: 'sync' });
    expect(await deliver(event)).toMatchObject({ state: 'succeeded', package: { version: '0.0.2' } });
    expect(await getJob(jobsStore(), event.job_id ?? '')).toMatchObject({ resolvedVersion: '0.0.2' });
    // As if finishing the job had failed after the version write, and the event came again, the
    // URL now serving another package with the same version: uploading it would break the record.
    await jobsStore().dynamodb.send(
      new UpdateItemCommand({
        TableName: rig.storage.jobsTable,
        Key: { job_id: { S: event.job_id ?? '' } },
        UpdateExpression: 'SET #state = :pending',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: { ':pending': { S: 'pending' } },
      }),
    );
    rig.server.serve(`/${code}/a.tar.gz`, readFileSync(path.join(__dirname, '../../fixtures/app-desc/files/spec2-request-version.tar.gz')).subarray(0, 100));

    const again = await deliver(event);

    expect(again).toMatchObject({ state: 'succeeded', package: { version: '0.0.2', sha256_signature: sha256Of(described) } });
    expect(rig.server.hits(`/${code}/a.tar.gz`)).toBe(1);
    expect(await expectInvariants(rig.storage, code, 'default')).toHaveLength(1);
  });

  it('removes what a crashed attempt uploaded when the retry fails before writing a record', async () => {
    const code = uniqueCode();
    const event = eventFor(code, `/${code}/gone.tar.gz`, { mode: 'sync' });
    // The crashed attempt: its upload completed at the job's key, then nothing.
    await rig.storage.s3.send(
      new PutObjectCommand({ Bucket: rig.storage.bucket, Key: objectKeyFor(code, 'default', event.job_id ?? ''), Body: Buffer.from('partial') }),
    );

    const retried = await deliver(event);

    expect(retried).toMatchObject({ state: 'failed', error: { code: 'PACKAGE_URL_UNAVAILABLE' } });
    expect(await expectInvariants(rig.storage, code, 'default')).toEqual([]);
  });
});

describe('what Lambda retries', () => {
  it('records a permanent failure and answers it, so Lambda does not retry', async () => {
    const code = uniqueCode();
    rig.server.serve(`/${code}/page.html`, Buffer.from('<html>login</html>'));
    const event = eventFor(code, `/${code}/page.html`);

    const result = await deliver(event);

    expect(result).toMatchObject({ state: 'failed', error: { code: 'INVALID_PACKAGE_FORMAT' } });
    expect(await deliver(event)).toEqual(result);
    expect(rig.server.hits(`/${code}/page.html`)).toBe(1);
  });

  it.each([401, 403, 404, 410])('records a remote %i of an asynchronous event as PACKAGE_URL_UNAVAILABLE in one attempt, so Lambda does not retry', async (status) => {
    const code = uniqueCode();
    rig.server.route(`/${code}/a.tar.gz`, (_req, res) => res.writeHead(status, { 'retry-after': '7' }).end());
    const event = eventFor(code, `/${code}/a.tar.gz`);

    const result = await deliver(event);

    expect(result).toMatchObject({ state: 'failed', attempts: 1, error: { code: 'PACKAGE_URL_UNAVAILABLE', detail: expect.stringContaining(String(status)) } });
    expect(result.error).not.toHaveProperty('retry_after');
    expect(await deliver(event)).toEqual(result);
    expect(rig.server.hits(`/${code}/a.tar.gz`)).toBe(1);
  });

  it('throws a transient failure of an asynchronous event back to Lambda, and a later delivery succeeds', async () => {
    const code = uniqueCode();
    const archive = await tarGzArchive(sampleEntries(code));
    let calls = 0;
    rig.server.route(`/${code}/flaky.tar.gz`, (_req, res) => {
      calls += 1;
      if (calls === 1) res.writeHead(503).end('try later');
      else res.writeHead(200, { 'content-length': archive.length }).end(archive);
    });
    const event = eventFor(code, `/${code}/flaky.tar.gz`);

    await expect(deliver(event)).rejects.toMatchObject({ name: 'RetryableJobError', failure: { code: 'PACKAGE_DOWNLOAD_FAILED' } });
    const retried = await deliver(event);

    expect(retried).toMatchObject({ state: 'succeeded', package: { sha256_signature: sha256Of(archive) } });
    expect(await expectInvariants(rig.storage, code, 'default')).toHaveLength(1);
  });

  it('records the transient failure on the last attempt, and still throws it so the event reaches the failure queue', async () => {
    const code = uniqueCode();
    rig.server.route(`/${code}/down.tar.gz`, (_req, res) => res.writeHead(502, { 'retry-after': '120' }).end());
    const event = eventFor(code, `/${code}/down.tar.gz`);

    await expect(deliver(event)).rejects.toMatchObject({ name: 'RetryableJobError' });
    await expect(deliver(event)).rejects.toMatchObject({ name: 'RetryableJobError' });
    await expect(deliver(event)).rejects.toMatchObject({ name: 'RetryableJobError' });

    expect(await getJob(jobsStore(), event.job_id ?? '')).toMatchObject({ state: 'failed', error: { code: 'PACKAGE_DOWNLOAD_FAILED', retry_after: 120 } });
    expect(rig.server.hits(`/${code}/down.tar.gz`)).toBe(3);
    expect(await expectInvariants(rig.storage, code, 'default')).toEqual([]);
  });

  it('answers a transient failure of a synchronous call instead of throwing: the client is waiting', async () => {
    const code = uniqueCode();
    rig.server.route(`/${code}/down.tar.gz`, (_req, res) => res.writeHead(503).end());

    const result = await deliver(eventFor(code, `/${code}/down.tar.gz`, { mode: 'sync' }));

    expect(result).toMatchObject({ state: 'failed', error: { code: 'PACKAGE_DOWNLOAD_FAILED' } });
    expect(result.error).not.toHaveProperty('retry_after');
  });

  it.each([
    [408, '7', 7],
    [429, 'Fri, 01 Jan 2100 00:00:00 GMT', 3600],
    [503, 'later', undefined],
  ])('answers a remote %i as transient with its Retry-After %j as %j seconds (capped at an hour)', async (status, header, seconds) => {
    const code = uniqueCode();
    rig.server.route(`/${code}/down.tar.gz`, (_req, res) => res.writeHead(status, { 'retry-after': header }).end());

    const result = await deliver(eventFor(code, `/${code}/down.tar.gz`, { mode: 'sync' }));

    expect(result).toMatchObject({ state: 'failed', error: { code: 'PACKAGE_DOWNLOAD_FAILED' } });
    expect(result.error?.retry_after).toBe(seconds);
  });
});
