/**
 * Against the running local stack, what a first deploy depends on:
 * - the dashboard and the alarms name metrics that exist: every metric and SEARCH on the dashboard,
 *   and every alarm's metric and dimensions, is one the code emitted in this run (read from the
 *   embedded-metric-format lines of every function) or one AWS publishes for the template's
 *   functions, API and queue; the run includes a job that ends while the event bus refuses, which
 *   still succeeds, its worker ending well, with EventsNotPublished counted;
 * - `npm run preflight` reads the account as it would read AWS (Lambda's account settings with a
 *   quota of 10, as a new account has; API Gateway's account without a logging role; ACM) and says
 *   what would fail and what to set.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METRIC, METRICS_NAMESPACE } from '../../lib/core/metrics';
import { DEPLOY_SETTINGS } from '../../scripts/deploy/settings';
import { REFUSE_FLAG } from '../../scripts/local-aws/event-bus';
import { checkDashboardBody, checkMetricsExist, drawnMetrics, emittedMetrics, metricsOfTemplate, type MetricIdentity } from '../../scripts/template-checks/dashboard';
import { startArchiveServer, type ArchiveServer } from '../helpers/archive-server';
import { sampleEntries, tarGzArchive } from '../helpers/archives';
import { waitFor } from '../helpers/eventually';
import { freePorts, startLocalStack, type LocalStack } from '../helpers/local-stack';
import { localTemplate } from '../helpers/storage';

const root = path.resolve(__dirname, '../..');
const ISSUED = 'arn:aws:acm:us-east-1:000000000000:certificate/11111111-1111-4111-8111-111111111111';
const PENDING = 'arn:aws:acm:us-east-1:000000000000:certificate/22222222-2222-4222-8222-222222222222';
const FETCH = 'bkpaas-source-package-link-local-fetch';
const STACK_ENV = {
  LOCAL_ASYNC_RETRY_DELAYS_MS: '200,400',
  // Long enough that a synchronous request answers 200 on a busy machine, not 202.
  SYNC_BUDGET_MS: '20000',
  // A killed worker's job is taken over by the next attempt once its 2 s lease runs out.
  JOB_LEASE_SECONDS: '2',
  // A new account: a concurrency quota of 10, no API Gateway logging role, two certificates.
  LOCAL_LAMBDA_CONCURRENCY_QUOTA: '10',
  LOCAL_APIGW_CLOUDWATCH_ROLE_ARN: '',
  LOCAL_ACM_CERTIFICATES: `${ISSUED}=paas.example.com,${PENDING}=paas.example.com:PENDING_VALIDATION`,
  // Metric lines are info lines, printed on the terminal as they are with LOG_FORMAT=json: the
  // checks below read them from the stack's output, as CloudWatch reads them from the log.
  LOG_LEVEL: 'info',
  LOG_FORMAT: 'json',
};

let stack: LocalStack;
let server: ArchiveServer;
let dataDir: string;
const token = `bkpaas_readiness_${randomUUID()}`;

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'bkpaas-readiness-'));
  server = await startArchiveServer();
  stack = await startLocalStack({ dataDir, token, ports: await freePorts(), env: STACK_ENV });
});

afterAll(async () => {
  await stack?.stop();
  await server?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

const auth = (value = token) => ({ 'X-BKAPI-AUTHORIZATION': JSON.stringify({ access_token: value }) });
const linkUrl = (code: string) => `${stack.baseUrl}/bkapps/applications/${code}/modules/default/source_package/link/`;

function post(code: string, url: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(linkUrl(code), { method: 'POST', headers: { ...auth(), 'Content-Type': 'application/json', ...headers }, body: JSON.stringify({ package_url: url, version: 'v1' }) });
}

async function until(location: string, done: (job: Record<string, unknown>) => boolean, what: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 400; i++) {
    const job = (await (await fetch(new URL(location, stack.baseUrl), { headers: auth() })).json()) as Record<string, unknown>;
    if (done(job)) return job;
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
  throw new Error(`timed out waiting for ${what} at ${location}`);
}

const followJob = (location: string) => until(location, (job) => job.state === 'succeeded' || job.state === 'failed', 'the job to end');

/** Sends all but the last 256 KiB of `bytes`, then holds on: a download that never ends. */
function stalling(bytes: Buffer) {
  return (_req: unknown, res: ServerResponse): void => {
    res.writeHead(200, { 'content-length': bytes.length });
    res.write(bytes.subarray(0, bytes.length - 256 * 1024));
  };
}

/** Waits (at most 10 s) for a line of the stack's output; the assertions then say what is missing. */
async function untilOutput(wanted: (line: string) => boolean): Promise<void> {
  await waitFor(() => stack.output().split('\n').some(wanted), 10_000, 100);
}

/** Every metric the code has, in the stack's output: the run below makes each one appear. */
async function emittedInRun(): Promise<MetricIdentity[]> {
  const wanted = Object.values(METRIC);
  for (let i = 0; i < 100; i++) {
    const emitted = emittedMetrics(stack.output());
    if (wanted.every((name) => emitted.some((metric) => metric.name === name))) return emitted;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const missing = wanted.filter((name) => !emittedMetrics(stack.output()).some((metric) => metric.name === name));
  throw new Error(`the run emitted no ${missing.join(', ')}`);
}

describe('the dashboard and the alarms, against the metrics an end-to-end run emits', () => {
  let emitted: MetricIdentity[];
  let refused: Response;
  let refusedJob: Record<string, unknown>;

  beforeAll(async () => {
    const code = `readiness-${randomUUID().slice(0, 8)}`;
    const archive = await tarGzArchive(sampleEntries(code));
    server.route(`/${code}/app.tar.gz`, (_req, res) => void res.writeHead(200, { 'content-length': archive.length }).end(archive));
    let flakyCalls = 0;
    server.route(`/${code}/flaky.tar.gz`, (_req, res) => {
      flakyCalls += 1;
      if (flakyCalls === 1) res.writeHead(503).end('busy');
      else res.writeHead(200, { 'content-length': archive.length }).end(archive);
    });
    server.route(`/${code}/stuck.tar.gz`, stalling(await tarGzArchive(sampleEntries(code, 2 * 1024 * 1024))));
    server.route(`/${code}/gone.tar.gz`, (_req, res) => void res.writeHead(404).end('gone'));

    // A package registered while the client waits: LinkRequests OK, SyncWait, JobsSucceeded and the package's figures.
    expect((await post(code, server.url(`/${code}/app.tar.gz`))).status).toBe(200);
    // A remote answering 404: LinkRequests and JobsFailed by code.
    expect((await post(`${code}-x`, server.url(`/${code}/gone.tar.gz`))).status).toBe(422);
    // An unknown token: AuthorizerRefusals by reason.
    expect((await fetch(linkUrl(code), { method: 'POST', headers: auth('bkpaas_nobody'), body: '{}' })).status).toBe(401);
    // A job that needed a retry (RetriesTaken).
    const flaky = await post(`${code}-y`, server.url(`/${code}/flaky.tar.gz`), { Prefer: 'respond-async' });
    expect(await followJob(flaky.headers.get('location') ?? '')).toMatchObject({ state: 'succeeded' });
    // A job whose worker is killed on every attempt: Lambda gives up, fetchFailures records it (JobsAbandoned).
    const stuck = (await post(`${code}-z`, server.url(`/${code}/stuck.tar.gz`), { Prefer: 'respond-async' })).headers.get('location') ?? '';
    for (let attempt = 1; attempt <= 3; attempt += 1) {
      await until(stuck, (job) => job.attempts === attempt && Number(job.bytes_received) > 0, `attempt ${attempt}`);
      expect(stack.killContainers(FETCH)).toBeGreaterThan(0);
    }
    expect(await followJob(stuck)).toMatchObject({ state: 'failed' });
    // With the event bus refusing every call, a job still succeeds (EventsNotPublished).
    mkdirSync(path.join(dataDir, 'event-bus'), { recursive: true });
    writeFileSync(path.join(dataDir, 'event-bus', REFUSE_FLAG), '');
    try {
      refused = await post(`${code}-w`, server.url(`/${code}/app.tar.gz`));
      refusedJob = (await (await fetch(new URL(`jobs/${refused.headers.get('x-job-id')}/`, linkUrl(`${code}-w`)), { headers: auth() })).json()) as Record<string, unknown>;
      // The answer comes once the job is recorded; the worker's attempts to publish end after it.
      await untilOutput((line) => line.includes(`"${refused.headers.get('x-job-id')}"`) && line.includes('job end not published'));
      emitted = await emittedInRun();
    } finally {
      rmSync(path.join(dataDir, 'event-bus', REFUSE_FLAG), { force: true });
    }
  });

  it('emits every metric of lib/core/metrics.ts under the service, function and stage dimensions', () => {
    for (const metric of emitted) {
      expect(metric.namespace).toBe(METRICS_NAMESPACE);
      expect(Object.keys(metric.dimensions)).toEqual(expect.arrayContaining(['service', 'function', 'stage']));
    }
  });

  it('registers the package while the event bus refuses, and counts the event not published', () => {
    expect(refused.status).toBe(200);
    expect(refusedJob).toMatchObject({ state: 'succeeded', attempts: 1 });
    expect(emitted).toContainEqual(expect.objectContaining({ name: METRIC.eventsNotPublished, dimensions: expect.objectContaining({ function: 'fetch' }) }));
    // The worker's run ended well: the bus's failure was logged with the job, not thrown to Lambda.
    const lines = stack.output().split('\n').filter((line) => line.includes(`"${refused.headers.get('x-job-id')}"`));
    expect(lines.filter((line) => line.includes('job end not published'))).toHaveLength(1);
    expect(lines.filter((line) => line.includes('job not finished') || line.includes('job handed back'))).toEqual([]);
  });

  it('draws on the dashboard, and alarms on, only metrics that exist: emitted by the code or published by AWS', () => {
    const { dashboards, alarms, vended } = metricsOfTemplate(localTemplate());
    expect(dashboards).toHaveLength(1);
    const body = dashboards[0]?.body ?? '';

    expect(checkDashboardBody(body)).toEqual([]);
    expect(checkMetricsExist(drawnMetrics(body), alarms, emitted, vended)).toEqual([]);
  });

  it('refuses an alarm on a dimension set the code does not emit, and one on a route without detailed metrics', () => {
    const template = localTemplate((raw) => {
      const resources = raw.Resources as Record<string, { Properties: Record<string, unknown> }>;
      resources.FetchErrorsAlarm!.Properties = {
        ...resources.FetchErrorsAlarm!.Properties,
        Namespace: METRICS_NAMESPACE,
        MetricName: 'JobsFailed',
        Dimensions: [{ Name: 'function', Value: 'fetch' }, { Name: 'stage', Value: 'local' }],
      };
      const latency = resources.LinkLatencyP99Alarm!.Properties.Dimensions as { Name: string; Value: string }[];
      latency[2]!.Value = '/bkapps/applications/{code}/modules/{module_name}/source_package';
    });
    const { dashboards, alarms, vended } = metricsOfTemplate(template);

    const problems = checkMetricsExist(drawnMetrics(dashboards[0]?.body ?? ''), alarms, emitted, vended);
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^FetchErrorsAlarm: BkpaasSourcePackageLink JobsFailed \{function=fetch, stage=local\}: the code emits JobsFailed only with \{.*Code=PACKAGE_URL_UNAVAILABLE/);
    expect(problems[1]).toMatch(/^LinkLatencyP99Alarm: AWS\/ApiGateway Latency .*source_package, Method=POST\}: AWS publishes Latency under/);
  });

  it('refuses a dashboard SEARCH whose schema or filter matches nothing emitted, and a metric of another function', () => {
    const body = JSON.parse(metricsOfTemplate(localTemplate()).dashboards[0]?.body ?? '{}');
    body.widgets[0].properties.metrics[0][0].expression = body.widgets[0].properties.metrics[0][0].expression.replace('Code,function', 'Outcome,function');
    body.widgets[1].properties.metrics[0][3] = 'fetchFailures';
    const { alarms, vended } = metricsOfTemplate(localTemplate());

    const problems = checkMetricsExist(drawnMetrics(JSON.stringify(body)), alarms, emitted, vended);
    expect(problems).toEqual([
      expect.stringMatching(/^dashboard widgets\[0\]\.metrics\[0\]: SEARCH \{BkpaasSourcePackageLink,Outcome,function,service,stage\}.*no metric the code emits/),
      expect.stringMatching(/^dashboard widgets\[1\]\.metrics\[0\]: BkpaasSourcePackageLink JobsSucceeded \{function=fetchFailures.*the code emits JobsSucceeded only with \{[^}]*function=fetch[,}]/),
    ]);
  });
});

describe('npm run preflight against the local stack, an account with a concurrency quota of 10', () => {
  /** Preflight as an operator runs it, from a shell with only `settings` set, its SDK pointed at the local stack. */
  async function preflight(settings: Record<string, string>): Promise<{ code: number; output: string }> {
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const name of Object.keys(DEPLOY_SETTINGS)) delete env[name];
    Object.assign(env, settings, {
      AWS_ENDPOINT_URL_LAMBDA: `http://127.0.0.1:${stack.ports.lambda}`,
      AWS_ENDPOINT_URL_API_GATEWAY: `http://127.0.0.1:${stack.ports.control}`,
      AWS_ENDPOINT_URL_ACM: `http://127.0.0.1:${stack.ports.control}`,
    });
    // A stage with no settings file of its own: a developer's .env.stag stays out of it.
    const args = ['--import', 'tsx', 'scripts/preflight.ts', '--stage', `preflight${process.pid}`, '--region', 'us-east-1'];
    try {
      const { stdout } = await promisify(execFile)(process.execPath, args, { cwd: root, env, timeout: 60_000 });
      return { code: 0, output: stdout };
    } catch (error) {
      const failure = error as { code: number; stdout: string; stderr: string };
      return { code: failure.code, output: `${failure.stdout}${failure.stderr}` };
    }
  }

  it('fails a configured reservation the quota cannot spare, a missing logging role and a certificate not issued, and says what to set', async () => {
    const { code, output } = await preflight({ FETCH_RESERVED_CONCURRENCY: '50', CUSTOM_DOMAIN_NAME: 'paas.example.com', CUSTOM_DOMAIN_CERTIFICATE_ARN: PENDING, ALARM_EMAIL: 'ops@example.com' });

    expect(code).toBe(1);
    expect(output).toMatch(/FETCH_RESERVED_CONCURRENCY\s+50\s+shell/);
    expect(output).toMatch(/FAIL {2}Lambda concurrency: FETCH_RESERVED_CONCURRENCY=50 would leave -40 unreserved of the account's quota of 10 \(10 unreserved now\).*Unset FETCH_RESERVED_CONCURRENCY/);
    expect(output).toMatch(/FAIL {2}API Gateway logging role: the account has no API Gateway CloudWatch role in us-east-1.*Set APIGW_CLOUDWATCH_ROLE=create/);
    expect(output).toMatch(/FAIL {2}custom domain certificate: the certificate is PENDING_VALIDATION, not ISSUED/);
    expect(output).toMatch(/3 finding\(s\) would fail the deploy/);
  });

  it('passes the defaults with the stack creating the logging role and an issued certificate, warning about the low quota', async () => {
    const { code, output } = await preflight({ APIGW_CLOUDWATCH_ROLE: 'create', CUSTOM_DOMAIN_NAME: 'paas.example.com', CUSTOM_DOMAIN_CERTIFICATE_ARN: ISSUED, ALARM_EMAIL: 'ops@example.com' });

    expect(output).toMatch(/ok {4}Lambda concurrency: quota 10, 10 unreserved; fetch reserves none/);
    expect(output).toMatch(/WARN {2}Lambda concurrency: the account's quota is 10/);
    expect(output).toMatch(/ok {4}custom domain certificate: paas\.example\.com: issued, in us-east-1/);
    expect(output).toMatch(/Nothing found that would fail the deploy/);
    expect(code).toBe(0);
  });

  it('fails a certificate of another region before asking ACM', async () => {
    const { code, output } = await preflight({ APIGW_CLOUDWATCH_ROLE: 'create', CUSTOM_DOMAIN_NAME: 'paas.example.com', CUSTOM_DOMAIN_CERTIFICATE_ARN: ISSUED.replace('us-east-1', 'eu-west-1') });

    expect(code).toBe(1);
    expect(output).toMatch(/FAIL {2}custom domain certificate: the certificate is in eu-west-1, the stack in us-east-1/);
  });
});
