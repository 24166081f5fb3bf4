/**
 * A job Lambda gave up on is ended by the worker's on-failure destination (`fetchFailures`), and
 * that end is announced like any other: through the handler, its clients signed as its role from
 * the packaged template, against the DynamoDB emulator and the local EventBridge (a real server on
 * 127.0.0.1, IAM enforced). A job that had already ended is left as it was, and so is the bus.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createFetchFailuresHandler } from '../../../handlers/fetch-failures';
import { createEventBridgeClient } from '../../../lib/core/aws-clients';
import { createMetrics } from '../../../lib/core/metrics';
import type { FetchEvent } from '../../../lib/jobs/fetch-contract';
import { acquireJob, createJob, finishJob } from '../../../lib/jobs/job-lease';
import { getJob, type JobStore } from '../../../lib/jobs/job-records';
import { roleCredentials } from '../../../scripts/local-aws/iam';
import { LOCAL_REGION } from '../../../scripts/local-aws/template';
import { eventsOfJob, schemaProblems } from '../../helpers/event-schemas';
import { startBus, type Bus } from '../../helpers/local-bus';
import { useWorkerRig } from '../../helpers/worker-rig';

// The handler's module builds Lambda's handler at import, and fetchFailures refuses to start
// without its queue; this file builds its own handler and never uses that one.
vi.hoisted(() => {
  process.env.FETCH_FAILURES_QUEUE_URL ??= 'http://127.0.0.1/queue';
});

const sample = JSON.parse(readFileSync(path.join(__dirname, '../../fixtures/job-events/invocation-record-retries-exhausted.json'), 'utf8')) as { requestPayload: FetchEvent };
/** The failure queue itself is exercised end to end (test/e2e/job-recovery.test.ts); here it only has to take the record. */
const queue = { send: async () => ({}) } as unknown as SQSClient;

const rig = useWorkerRig();
let bus: Bus;
let events: EventBridgeClient;

beforeAll(async () => {
  bus = await startBus();
  events = createEventBridgeClient({ region: LOCAL_REGION, credentials: roleCredentials('FetchFailuresRole'), endpoints: { events: bus.url } });
});

afterAll(async () => {
  events?.destroy();
  await bus?.close();
});

const jobStore = (): JobStore => ({ dynamodb: rig.storage.clientsOf('fetchFailures').dynamodb, table: rig.storage.jobsTable, ttlSeconds: 60, now: () => new Date() });

/** A job `link` recorded, and the record Lambda hands fetchFailures once it has given up on its event. */
async function acceptedJob(): Promise<{ jobId: string; code: string; payload: FetchEvent; record: unknown }> {
  const jobId = randomUUID();
  const code = `abandoned-${jobId.slice(0, 8)}`;
  const payload: FetchEvent = { ...sample.requestPayload, job_id: jobId, request_id: jobId, code };
  await createJob({ ...jobStore(), dynamodb: rig.storage.dynamodb }, jobId, payload, 'fingerprint');
  return { jobId, code, payload, record: { ...sample, requestPayload: payload } };
}

function fetchFailures() {
  const clients = rig.storage.clientsOf('fetchFailures');
  const silent = { logLevel: 'silent' as const };
  return createFetchFailuresHandler({
    config: { ...rig.storage.config(), ...silent },
    jobs: jobStore(),
    sqs: queue,
    queueUrl: 'http://127.0.0.1/queue',
    s3: clients.s3,
    bucket: rig.storage.bucket,
    versionsTable: rig.storage.table,
    events,
    metrics: createMetrics('fetchFailures', 'local', 'silent'),
    workerMetrics: createMetrics('fetch', 'local', 'silent'),
  });
}

const eventsOf = (jobId: string) => eventsOfJob(bus.dir, jobId);

describe('a job Lambda gave up on', () => {
  it('is recorded failed with 503 WORKER_FAILED and leaves one Source Package Job Failed event, in the documented schema', async () => {
    // Prepare
    const { jobId, code, record } = await acceptedJob();

    // Act
    const abandoned = await fetchFailures()(record, { awsRequestId: randomUUID() });

    // Assess
    expect(abandoned).toEqual({ jobId, recordedFailed: true });
    expect((await getJob(jobStore(), jobId))?.state).toBe('failed');
    const [event, ...more] = eventsOf(jobId);
    expect(more).toEqual([]);
    expect(schemaProblems(event!)).toEqual([]);
    expect(event).toMatchObject({ source: 'bkpaas.source-package', 'detail-type': 'Source Package Job Failed' });
    expect(event?.detail).toEqual({
      job_id: jobId,
      code,
      module_name: 'default',
      finished_at: (await getJob(jobStore(), jobId))?.finished,
      version: 'v1',
      error: { code: 'WORKER_FAILED', status: 503, detail: expect.stringContaining('stopped before it finished') },
    });
  });

  it('leaves no event when the job had already ended (its run announced that end), nor when Lambda retries fetchFailures', async () => {
    // Prepare: one job its last run ended itself, one fetchFailures has ended already
    const ended = await acceptedJob();
    const store = { ...jobStore(), dynamodb: rig.storage.dynamodb };
    await acquireJob(store, ended.jobId, ended.payload, 'last-run', 60_000);
    expect(await finishJob(store, ended.jobId, 'last-run', { error: { code: 'PACKAGE_DOWNLOAD_FAILED', detail: 'The remote answered 503.' } })).toMatchObject({ state: 'failed' });
    const again = await acceptedJob();
    await fetchFailures()(again.record, { awsRequestId: randomUUID() });

    // Act
    const results = [await fetchFailures()(ended.record, { awsRequestId: randomUUID() }), await fetchFailures()(again.record, { awsRequestId: randomUUID() })];

    // Assess
    expect(results.map((result) => result.recordedFailed)).toEqual([false, false]);
    expect(eventsOf(ended.jobId)).toEqual([]);
    expect(eventsOf(again.jobId)).toHaveLength(1);
  });
});
