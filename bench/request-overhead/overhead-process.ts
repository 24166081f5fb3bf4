/**
 * Child process: `link`'s own work per request, in process, against busboy parsing the same
 * body alone. Runs in a process of its own because the handler module reads its configuration
 * from the environment when it is loaded (as on a Lambda cold start), so the parent sets that
 * environment for this process only. Prints one JSON line.
 *
 * The request is the production path: stage `stag`, the API Gateway authorizer's verdict in the
 * request context (API Gateway caches it per token, so link does no token lookup), a new
 * version (GetItem finds nothing), and the worker answering at once (see fake-clients.ts).
 */
import busboy from 'busboy';
import { randomUUID } from 'node:crypto';
import { createLinkHandler } from '../../handlers/link';
import { loadConfig } from '../../lib/core/config';
import { MULTIPART_CONTENT_TYPE, originalDocsBody } from '../link-body';
import { median, percentile } from '../harness/stats';
import { fakeDynamoDb, fakeLambda } from './fake-clients';

export interface LoopFigures {
  requestsPerSecond: number;
  p50Us: number;
  p99Us: number;
}

export interface OverheadOutput {
  link: LoopFigures;
  busboy: LoopFigures;
  bodyBytes: number;
  requests: number;
  runs: number;
}

const VERSION = 'v1.0.0';
const body = originalDocsBody('https://packages.example.com/app/app-1.0.tar.gz', VERSION);

function busboyAlone(): Promise<Record<string, string>> {
  return new Promise((resolve, reject) => {
    const fields: Record<string, string> = {};
    const parser = busboy({ headers: { 'content-type': MULTIPART_CONTENT_TYPE } });
    parser.on('field', (name, value) => (fields[name] = value));
    parser.on('error', reject);
    parser.on('close', () => resolve(fields));
    parser.end(body);
  });
}

/** An API Gateway REST event as the link route receives it (multipart is a binary media type). */
function restEvent(): Record<string, unknown> {
  const headers = {
    'Content-Type': MULTIPART_CONTENT_TYPE,
    'X-BKAPI-AUTHORIZATION': JSON.stringify({ access_token: 'bench-token' }),
    Host: 'api.example.com',
    'User-Agent': 'curl/8.5.0',
  };
  return {
    resource: '/bkapps/applications/{code}/modules/{module_name}/source_package/link',
    path: '/bkapps/applications/bench/modules/default/source_package/link/',
    httpMethod: 'POST',
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, [value]])),
    pathParameters: { code: 'bench', module_name: 'default' },
    requestContext: {
      requestId: randomUUID(),
      stage: 'stag',
      authorizer: { principalId: 'bench', authenticated: 'true', principal: 'bench', token_id: 'tok_bench', apps: '*' },
    },
    body: body.toString('base64'),
    isBase64Encoded: true,
  };
}

async function loop(requests: number, call: () => Promise<void>): Promise<LoopFigures> {
  const micros = new Float64Array(requests);
  const started = process.hrtime.bigint();
  for (let i = 0; i < requests; i++) {
    const t0 = process.hrtime.bigint();
    await call();
    micros[i] = Number(process.hrtime.bigint() - t0) / 1000;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const all = Array.from(micros);
  return { requestsPerSecond: requests / seconds, p50Us: percentile(all, 50), p99Us: percentile(all, 99) };
}

function medianFigures(runs: LoopFigures[]): LoopFigures {
  return {
    requestsPerSecond: median(runs.map((r) => r.requestsPerSecond)),
    p50Us: median(runs.map((r) => r.p50Us)),
    p99Us: median(runs.map((r) => r.p99Us)),
  };
}

async function main(): Promise<void> {
  const requests = Number(process.env.BENCH_REQUESTS ?? 10_000);
  const warmup = Number(process.env.BENCH_WARMUP_REQUESTS ?? 2_000);
  const runs = Number(process.env.BENCH_RUNS ?? 5);
  const config = loadConfig();
  const handler = createLinkHandler({
    config,
    dynamodb: fakeDynamoDb({ tokens: config.tokensTable, jobs: config.jobsTable }, VERSION),
    lambda: fakeLambda(),
    now: () => new Date(),
  });
  const event = restEvent();
  const context = { awsRequestId: 'bench', getRemainingTimeInMillis: () => 29_000 };
  const linkCall = async (): Promise<void> => {
    const response = await handler(event, context);
    if (response.statusCode !== 200) throw new Error(`link answered ${response.statusCode}: ${response.body}`);
  };
  const busboyCall = async (): Promise<void> => {
    const fields = await busboyAlone();
    if (fields.version === undefined) throw new Error('busboy found no version field');
  };

  await loop(warmup, linkCall);
  await loop(warmup, busboyCall);
  const linkRuns: LoopFigures[] = [];
  const busboyRuns: LoopFigures[] = [];
  for (let run = 0; run < runs; run++) {
    linkRuns.push(await loop(requests, linkCall));
    busboyRuns.push(await loop(requests, busboyCall));
  }
  const output: OverheadOutput = {
    link: medianFigures(linkRuns),
    busboy: medianFigures(busboyRuns),
    bodyBytes: body.length,
    requests,
    runs,
  };
  process.stdout.write(JSON.stringify(output) + '\n');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
