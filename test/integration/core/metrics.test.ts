/**
 * The metrics a link request leaves behind, as CloudWatch would read them: embedded-metric-format
 * lines in the functions' output, with the documented names, units and dimensions. The link and
 * fetch handlers run against the emulators, the worker reached through the in-process Lambda
 * stand-in.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createAuthorizeHandler } from '../../../handlers/authorize';
import { createFetchHandler } from '../../../handlers/fetch';
import { createLinkHandler } from '../../../handlers/link';
import { createMetrics, METRICS_NAMESPACE } from '../../../lib/core/metrics';
import { ALL_APPS, createToken } from '../../../lib/auth/token-store';
import { useWorkerRig } from '../../helpers/worker-rig';
import { sampleEntries, tarGzArchive } from '../../helpers/archives';
import { inProcessLambda } from '../../helpers/in-process-lambda';

const rig = useWorkerRig();
let token: string;

beforeAll(async () => {
  token = (await createToken(rig.storage.dynamodb, rig.storage.tokensTable, { principal: 'metrics', apps: [ALL_APPS] })).token;
});

afterAll(async () => {
  vi.unstubAllEnvs();
});

interface EmfLine {
  _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[] };
  [key: string]: unknown;
}

/** Runs `act` and returns the EMF lines written to stdout meanwhile (kept out of the test output). */
async function emfOf(act: () => Promise<unknown>): Promise<EmfLine[]> {
  const lines: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  });
  try {
    await act();
  } finally {
    spy.mockRestore();
  }
  return lines
    .flatMap((chunk) => chunk.split('\n'))
    .filter((line) => line.includes('"_aws"'))
    .map((line) => JSON.parse(line) as EmfLine);
}

/** The metric named `name`: its value, unit and dimension set, from whichever line holds it. */
function metric(lines: EmfLine[], name: string) {
  for (const line of lines) {
    for (const directive of line._aws.CloudWatchMetrics) {
      const found = directive.Metrics.find((entry) => entry.Name === name);
      if (found) return { namespace: directive.Namespace, unit: found.Unit, dimensions: directive.Dimensions[0]?.slice().sort(), value: line[name], line };
    }
  }
  return undefined;
}

describe('metrics in the embedded metric format', () => {
  it('records a link request and its job: outcome, wait, bytes, durations, entries, under the documented names and dimensions', async () => {
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
    const code = `metrics-${randomUUID().slice(0, 8)}`;
    const archive = await tarGzArchive(sampleEntries(code, 4096));
    rig.server.serve(`/${code}/a.tar.gz`, archive);
    const config = rig.storage.config();
    const worker = createFetchHandler({ config, ...rig.storage.clientsOf('fetch'), metrics: createMetrics('fetch', 'test'), now: () => new Date() });
    const link = createLinkHandler({
      config,
      dynamodb: rig.storage.clientsOf('link').dynamodb,
      lambda: inProcessLambda(worker, { authorize: rig.storage.invokeCheck('link') }).client,
      metrics: createMetrics('link', 'test'),
      now: () => new Date(),
    });

    const lines = await emfOf(async () => {
      const response = await link(
        {
          headers: { 'x-bkapi-authorization': JSON.stringify({ access_token: token }), 'content-type': 'application/json' },
          body: JSON.stringify({ package_url: rig.server.url(`/${code}/a.tar.gz`), version: 'v1' }),
          pathParameters: { code, module_name: 'default' },
        },
        { awsRequestId: randomUUID(), getRemainingTimeInMillis: () => 28_000 },
      );
      expect(response.statusCode).toBe(200);
    });

    expect(metric(lines, 'LinkRequests')).toMatchObject({ namespace: METRICS_NAMESPACE, unit: 'Count', value: 1, dimensions: ['Code', 'function', 'service', 'stage'], line: { Code: 'OK', function: 'link', stage: 'test', service: 'bkpaas-source-package-link' } });
    expect(metric(lines, 'SyncWait')).toMatchObject({ unit: 'Milliseconds', dimensions: ['function', 'service', 'stage'] });
    expect(metric(lines, 'JobsSucceeded')).toMatchObject({ unit: 'Count', value: 1, line: { function: 'fetch' } });
    expect(metric(lines, 'PackageBytes')).toMatchObject({ unit: 'Bytes', value: archive.length });
    expect(metric(lines, 'ArchiveEntries')).toMatchObject({ unit: 'Count', value: expect.any(Number) });
    for (const name of ['DownloadDuration', 'UploadDuration']) expect(metric(lines, name)).toMatchObject({ unit: 'Milliseconds' });
    expect(metric(lines, 'DownloadThroughput')).toMatchObject({ unit: 'Bytes/Second' });
  });

  it('counts failed jobs and refused tokens under their code and reason', async () => {
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
    const code = `metrics-${randomUUID().slice(0, 8)}`;
    rig.server.serve(`/${code}/page.html`, Buffer.from('<html>sign in</html>'));
    const worker = createFetchHandler({ config: rig.storage.config(), ...rig.storage.clientsOf('fetch'), metrics: createMetrics('fetch', 'test'), now: () => new Date() });
    const authorizer = createAuthorizeHandler({ dynamodb: rig.storage.clientsOf('authorize').dynamodb, tokensTable: rig.storage.tokensTable, now: () => new Date(), config: { logLevel: 'error', stage: 'test' }, metrics: createMetrics('authorize', 'test') });

    const lines = await emfOf(async () => {
      const jobId = randomUUID();
      await worker(
        { job_id: jobId, request_id: jobId, code, module: 'default', version: 'v1', allow_overwrite: false, package_url: rig.server.url(`/${code}/page.html`) },
        { awsRequestId: randomUUID(), getRemainingTimeInMillis: () => 60_000 },
      );
      await authorizer({ type: 'REQUEST', methodArn: 'arn:aws:execute-api:us-east-1:1:api/test/POST/x', headers: { 'X-BKAPI-AUTHORIZATION': '{"access_token": "bkpaas_unknown"}' } } as never);
    });

    expect(metric(lines, 'JobsFailed')).toMatchObject({ value: 1, dimensions: ['Code', 'function', 'service', 'stage'], line: { Code: 'INVALID_PACKAGE_FORMAT' } });
    expect(metric(lines, 'AuthorizerRefusals')).toMatchObject({ value: 1, dimensions: ['Reason', 'function', 'service', 'stage'], line: { Reason: 'unknown', function: 'authorize' } });
  });

  it('writes no metric line at LOG_LEVEL warn or above in the local stage, as it writes no info line', async () => {
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
    const config = { logLevel: 'warn' as const, stage: 'local' };
    const authorizer = createAuthorizeHandler({ dynamodb: rig.storage.clientsOf('authorize').dynamodb, tokensTable: rig.storage.tokensTable, now: () => new Date(), config, metrics: createMetrics('authorize', 'local', config.logLevel) });
    const loud = createMetrics('fetch', 'local', 'info');

    const lines = await emfOf(async () => {
      await authorizer({ type: 'REQUEST', methodArn: 'arn:aws:execute-api:us-east-1:1:api/test/POST/x', headers: { 'X-BKAPI-AUTHORIZATION': '{"access_token": "bkpaas_unknown"}' } } as never);
      loud.addMetric('JobsSucceeded', 'Count', 1);
      loud.publishStoredMetrics();
    });

    expect(metric(lines, 'AuthorizerRefusals')).toBeUndefined();
    expect(metric(lines, 'JobsSucceeded')).toMatchObject({ value: 1 });
  });

  it('writes metric lines at any LOG_LEVEL in a deployed stage, where the alarms read them', async () => {
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
    const config = { logLevel: 'error' as const, stage: 'prod' };
    const authorizer = createAuthorizeHandler({ dynamodb: rig.storage.clientsOf('authorize').dynamodb, tokensTable: rig.storage.tokensTable, now: () => new Date(), config, metrics: createMetrics('authorize', 'prod', config.logLevel) });

    const lines = await emfOf(async () => {
      await authorizer({ type: 'REQUEST', methodArn: 'arn:aws:execute-api:us-east-1:1:api/prod/POST/x', headers: { 'X-BKAPI-AUTHORIZATION': '{"access_token": "bkpaas_unknown"}' } } as never);
    });

    expect(metric(lines, 'AuthorizerRefusals')).toMatchObject({ value: 1, line: { stage: 'prod' } });
  });
});
