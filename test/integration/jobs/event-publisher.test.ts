/**
 * The worker's announcement of a job's end, against the local EventBridge (a real server on
 * 127.0.0.1, IAM enforced from the packaged template): what lands follows the documented schema;
 * a refusing bus is retried a few times and then counted; a bus that does not answer costs no more
 * than the budget; a role without the grant is refused and not retried.
 */
import { readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { PutEventsCommand, type EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createEventBridgeClient } from '../../../lib/core/aws-clients';
import { createLogger } from '../../../lib/core/logger';
import { createMetrics, flushMetrics } from '../../../lib/core/metrics';
import type { PackageRequest } from '../../../lib/core/package-request';
import { publishJobEnd, PUBLISH_BOUNDS, type PublishBounds } from '../../../lib/jobs/event-publisher';
import { failedEvent, registeredEvent } from '../../../lib/jobs/job-events';
import type { JobError } from '../../../lib/jobs/fetch-contract';
import type { PackageRecord } from '../../../lib/storage/package-record';
import { REFUSE_FLAG } from '../../../scripts/local-aws/event-bus';
import { roleCredentials } from '../../../scripts/local-aws/iam';
import { LOCAL_REGION, type JsonObject } from '../../../scripts/local-aws/template';
import { eventsOnBus, schemaProblems } from '../../helpers/event-schemas';
import { listen, startBus, type Bus } from '../../helpers/local-bus';
import { localTemplate } from '../../helpers/storage';

const fixture = JSON.parse(readFileSync(path.join(__dirname, '../../fixtures/job-events/registered.json'), 'utf8')) as { request: PackageRequest; record: PackageRecord; failure: JobError };
const log = createLogger({}, 'silent');
/** When the job's record was ended: the envelope's time (to the second) and the detail's `finished_at`. */
const finishedAt = '2026-11-25T07:13:50.123Z';

const clients: EventBridgeClient[] = [];
function client(url: string, role = 'FetchRole'): EventBridgeClient {
  const events = createEventBridgeClient({ region: LOCAL_REGION, credentials: roleCredentials(role), endpoints: { events: url } });
  clients.push(events);
  return events;
}

afterAll(() => {
  for (const events of clients) events.destroy();
});

describe('a job end on a healthy bus', () => {
  let bus: Bus;
  beforeAll(async () => {
    bus = await startBus();
  });
  afterAll(() => bus.close());

  it('puts one Source Package Registered event, in the documented schema, with the six fields, the job, the module and the app description', async () => {
    const published = await publishJobEnd(registeredEvent(fixture.request, fixture.record, finishedAt), { events: client(bus.url), busName: 'default', log });

    expect(published).toBe(true);
    const [event, ...more] = eventsOnBus(bus.dir);
    expect(more).toEqual([]);
    expect(schemaProblems(event!)).toEqual([]);
    expect(event).toMatchObject({ source: 'bkpaas.source-package', 'detail-type': 'Source Package Registered', time: '2026-11-25T07:13:50Z', account: '000000000000', region: LOCAL_REGION });
    expect(event?.detail).toEqual({
      job_id: 'idem-3f2a9c',
      code: 'sundy820',
      module_name: 'default',
      finished_at: finishedAt,
      version: '1.0.0',
      package_name: 'app-1.0.tar.gz',
      package_size: '4586',
      sha256_signature: fixture.record.sha256,
      updated: '2026-11-25 07:13:49',
      created: '2026-11-25 07:13:49',
      app_description: { spec_version: 2, app_code: 'sundy820', app_version: '1.0.0' },
    });
  });

  it('puts a Source Package Job Failed event with the error and its status, in the documented schema', async () => {
    const request = { ...fixture.request, jobId: 'job-failed-1', version: undefined };

    expect(await publishJobEnd(failedEvent(request, fixture.failure, finishedAt), { events: client(bus.url), busName: 'default', log })).toBe(true);

    const failed = eventsOnBus(bus.dir).find((event) => event['detail-type'] === 'Source Package Job Failed');
    expect(schemaProblems(failed!)).toEqual([]);
    expect(failed?.detail).toEqual({ job_id: 'job-failed-1', code: 'sundy820', module_name: 'default', finished_at: finishedAt, version: null, error: { code: 'PACKAGE_DOWNLOAD_FAILED', status: 502, detail: 'The remote answered 503.' } });
  });

  it('refuses, by its schema, an event whose detail misses a field or names it otherwise', () => {
    const [event] = eventsOnBus(bus.dir);
    const { sha256_signature: sha, ...rest } = event!.detail as Record<string, unknown>;

    expect(schemaProblems({ ...event!, detail: { ...rest, sha256: sha } })).toEqual(expect.arrayContaining([expect.stringContaining("must have required property 'sha256_signature'")]));
  });

  it('publishes a package without an app description with app_description null', async () => {
    const { appDescription: _dropped, ...record } = fixture.record;
    const event = registeredEvent({ ...fixture.request, jobId: 'no-desc' }, record, finishedAt);

    expect(await publishJobEnd(event, { events: client(bus.url), busName: 'default', log })).toBe(true);
    const landed = eventsOnBus(bus.dir).find((candidate) => (candidate.detail as { job_id: string }).job_id === 'no-desc');
    expect(schemaProblems(landed!)).toEqual([]);
    expect(landed?.detail).toMatchObject({ app_description: null });
  });
});

/** What `act` wrote as EMF lines, with metrics on (the suite turns them off). */
async function emittedBy(act: (metrics: ReturnType<typeof createMetrics>) => Promise<unknown>): Promise<string[]> {
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
  const metrics = createMetrics('fetch', 'test');
  const lines: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  });
  try {
    await act(metrics);
    flushMetrics(metrics);
  } finally {
    spy.mockRestore();
    vi.unstubAllEnvs();
  }
  return lines.flatMap((chunk) => chunk.split('\n')).filter((line) => line.includes('"_aws"'));
}

const notPublished = (lines: string[]) => lines.filter((line) => line.includes('"EventsNotPublished"')).map((line) => (JSON.parse(line) as { EventsNotPublished: number }).EventsNotPublished);

describe('a job end on a bus that refuses', () => {
  let bus: Bus;
  beforeAll(async () => {
    bus = await startBus();
  });
  afterEach(() => {
    bus.onCall = undefined;
    rmSync(path.join(bus.dir, REFUSE_FLAG), { force: true });
  });
  afterAll(() => bus.close());

  it('retries a refused call and publishes on the next attempt, counting nothing', async () => {
    writeFileSync(path.join(bus.dir, REFUSE_FLAG), '');
    // The bus recovers between the first attempt and the second.
    bus.onCall = (call) => call === 2 && unlinkSync(path.join(bus.dir, REFUSE_FLAG));
    const before = bus.calls();
    let published: boolean | undefined;

    const lines = await emittedBy(async (metrics) => {
      published = await publishJobEnd(registeredEvent(fixture.request, fixture.record, finishedAt), { events: client(bus.url), busName: 'default', log, metrics });
    });

    expect(published).toBe(true);
    expect(bus.calls() - before).toBe(2);
    expect(eventsOnBus(bus.dir)).toHaveLength(1);
    expect(notPublished(lines)).toEqual([]);
  });

  it(`makes ${PUBLISH_BOUNDS.attempts} attempts when the bus refuses every entry in a 200 answer (FailedEntryCount), then counts EventsNotPublished once`, async () => {
    writeFileSync(path.join(bus.dir, REFUSE_FLAG), 'entries');
    const before = bus.calls();
    let published: boolean | undefined;

    const lines = await emittedBy(async (metrics) => {
      published = await publishJobEnd(failedEvent(fixture.request, fixture.failure, finishedAt), { events: client(bus.url), busName: 'default', log, metrics });
    });

    expect(published).toBe(false);
    expect(bus.calls() - before).toBe(PUBLISH_BOUNDS.attempts);
    expect(notPublished(lines)).toEqual([1]);
    expect(eventsOnBus(bus.dir).filter((event) => event['detail-type'] === 'Source Package Job Failed')).toEqual([]);
  });

  it('is refused AccessDenied, and does not retry, for a role other than the worker’s', async () => {
    const before = bus.calls();

    expect(await publishJobEnd(registeredEvent(fixture.request, fixture.record, finishedAt), { events: client(bus.url, 'LinkRole'), busName: 'default', log })).toBe(false);
    expect(bus.calls() - before).toBe(1);
  });

  it('refuses the worker AccessDenied, for the whole call, when an entry claims another source; nothing of the call lands', async () => {
    const entry = (source: string) => ({ Source: source, DetailType: 'Source Package Registered', Detail: '{}', EventBusName: 'default' });
    const landed = eventsOnBus(bus.dir).length;

    await expect(client(bus.url).send(new PutEventsCommand({ Entries: [entry('aws.s3')] }))).rejects.toMatchObject({ name: 'AccessDeniedException' });
    await expect(client(bus.url, 'FetchFailuresRole').send(new PutEventsCommand({ Entries: [entry('bkpaas.source-package'), entry('aws.s3')] }))).rejects.toMatchObject({ name: 'AccessDeniedException' });
    expect(eventsOnBus(bus.dir)).toHaveLength(landed);
  });

  it("is refused AccessDenied for a bus other than the stage's, even to the worker", async () => {
    const before = bus.calls();

    expect(await publishJobEnd(registeredEvent(fixture.request, fixture.record, finishedAt), { events: client(bus.url), busName: 'another-bus', log })).toBe(false);
    expect(bus.calls() - before).toBe(1);
  });
});

describe('a bus that stores the entry but answers after the request timeout', () => {
  it('gets the same end put twice, two envelope ids with one (job_id, finished_at): the key subscribers drop repeats by', async () => {
    const bus = await startBus();
    // The fault at an exact moment: the first answer is held past the client's 2 s request timeout.
    bus.onCall = (call, res) => {
      if (call !== 1) return;
      const end = res.end.bind(res) as (...args: unknown[]) => http.ServerResponse;
      res.end = ((...args: unknown[]) => (setTimeout(() => res.destroyed || end(...args), 2_500), res)) as typeof res.end;
    };
    try {
      expect(await publishJobEnd(registeredEvent(fixture.request, fixture.record, finishedAt), { events: client(bus.url), busName: 'default', log })).toBe(true);

      const landed = eventsOnBus(bus.dir);
      expect(bus.calls()).toBe(2);
      expect(landed).toHaveLength(2);
      expect(new Set(landed.map((event) => event.id)).size).toBe(2);
      expect(new Set(landed.map((event) => JSON.stringify([(event.detail as { job_id: string }).job_id, (event.detail as { finished_at: string }).finished_at])))).toEqual(new Set([JSON.stringify(['idem-3f2a9c', finishedAt])]));
    } finally {
      await bus.close();
    }
  });
});

describe('a template without the worker’s events:PutEvents grant', () => {
  it('leaves the worker refused by the local bus: the grant is what lets it publish', async () => {
    const bus = await startBus(
      localTemplate((raw) => {
        const role = (raw.Resources as Record<string, JsonObject>).FetchRole as { Properties: { Policies: { PolicyDocument: { Statement: { Action: string[] }[] } }[] } };
        const policy = role.Properties.Policies[0]!.PolicyDocument;
        policy.Statement = policy.Statement.filter((statement) => !statement.Action.includes('events:PutEvents'));
      }),
    );
    try {
      expect(await publishJobEnd(registeredEvent(fixture.request, fixture.record, finishedAt), { events: client(bus.url), busName: 'default', log })).toBe(false);
      expect(eventsOnBus(bus.dir)).toEqual([]);
    } finally {
      await bus.close();
    }
  });
});

describe('a bus that does not answer', () => {
  it('costs the job no more than the budget: the call is aborted and the end counted as not published', async () => {
    const held: http.ServerResponse[] = [];
    const silent = http.createServer((_req, res) => void held.push(res));
    const url = await listen(silent);
    const bounds: PublishBounds = { attempts: 3, backoffMs: 100, budgetMs: 600 };
    const started = performance.now();
    try {
      const lines = await emittedBy(async (metrics) => {
        expect(await publishJobEnd(registeredEvent(fixture.request, fixture.record, finishedAt), { events: client(url), busName: 'default', log, metrics }, bounds)).toBe(false);
      });
      const elapsed = performance.now() - started;

      expect(elapsed).toBeGreaterThanOrEqual(bounds.budgetMs - 50);
      expect(elapsed).toBeLessThan(bounds.budgetMs + 400);
      expect(held).toHaveLength(1);
      expect(notPublished(lines)).toEqual([1]);
    } finally {
      silent.closeAllConnections();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});
