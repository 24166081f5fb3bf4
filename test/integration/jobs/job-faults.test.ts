/**
 * Faults at exact moments that no emulator offers, each found by review: a DynamoDB write that
 * commits but whose answer is lost, a run whose lease renewals cannot get through while another
 * delivery takes its job over, a 502 under an Idempotency-Key. The clients are the real ones,
 * under the function's role, with one SDK middleware that loses an answer or fails a call.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { createFetchHandler } from '../../../handlers/fetch';
import { createLinkHandler } from '../../../handlers/link';
import { createDynamoDbClient } from '../../../lib/core/aws-clients';
import { getJob } from '../../../lib/jobs/job-records';
import { ALL_APPS, createToken } from '../../../lib/auth/token-store';
import { roleCredentials } from '../../../scripts/local-aws/iam';
import { LOCAL_REGION } from '../../../scripts/local-aws/template';
import { useWorkerRig } from '../../helpers/worker-rig';
import { sampleEntries, sha256Of, tarGzArchive } from '../../helpers/archives';
import { inProcessLambda } from '../../helpers/in-process-lambda';
import { expectInvariants, functionLogicalId, type FunctionName } from '../../helpers/storage';

const rig = useWorkerRig();
let token: string;

beforeAll(async () => {
  token = (await createToken(rig.storage.dynamodb, rig.storage.tokensTable, { principal: 'faults', apps: [ALL_APPS] })).token;
});

const uniqueCode = (): string => `faults-${randomUUID().slice(0, 8)}`;
const context = () => ({ awsRequestId: randomUUID(), getRemainingTimeInMillis: () => 60_000 });

/** A DynamoDB client of `fn`'s role, on which `fault` may fail a command or lose its answer. */
function faultyDynamoDb(fn: FunctionName, fault: (command: string, input: Record<string, unknown>) => 'fail' | 'lose-answer' | undefined): DynamoDBClient {
  const role = rig.storage.iam.roleOfFunction(functionLogicalId(fn));
  const client = createDynamoDbClient({ region: LOCAL_REGION, credentials: roleCredentials(role.logicalId), endpoints: { dynamodb: rig.storage.emulators.dynamodbEndpoint } });
  client.middlewareStack.add(
    (next, middlewareContext) => async (args) => {
      const verdict = fault(middlewareContext.commandName ?? '', (args as unknown as { input: Record<string, unknown> }).input);
      if (verdict === 'fail') throw Object.assign(new Error('connect ETIMEDOUT'), { name: 'TimeoutError' });
      const answer = await next(args);
      if (verdict === 'lose-answer') throw Object.assign(new Error('We encountered an internal error'), { name: 'InternalServerError', $fault: 'server', $metadata: { httpStatusCode: 500 } });
      return answer;
    },
    { step: 'deserialize', name: 'fault' },
  );
  return client;
}

describe('a write that commits but whose answer is lost', () => {
  it('keeps the object of a version write that landed, and the job succeeds', async () => {
    const code = uniqueCode();
    const archive = await tarGzArchive(sampleEntries(code));
    rig.server.serve(`/${code}/a.tar.gz`, archive);
    const dynamodb = faultyDynamoDb('fetch', (command, input) => (command === 'UpdateItemCommand' && input.TableName === rig.storage.table ? 'lose-answer' : undefined));
    const worker = createFetchHandler({ config: rig.storage.config(), s3: rig.storage.clientsOf('fetch').s3, dynamodb, now: () => new Date() });
    const jobId = randomUUID();

    const view = await worker({ job_id: jobId, request_id: jobId, code, module: 'default', version: 'v1', allow_overwrite: false, package_url: rig.server.url(`/${code}/a.tar.gz`) }, context());

    expect(view).toMatchObject({ state: 'succeeded', package: { sha256_signature: sha256Of(archive) } });
    expect(await expectInvariants(rig.storage, code, 'default')).toHaveLength(1);
  });

  it('removes the objects an overwrite replaced when its write landed but the answer was lost', async () => {
    const code = uniqueCode();
    rig.server.serve(`/${code}/a.tar.gz`, await tarGzArchive(sampleEntries(code)));
    const second = await tarGzArchive(sampleEntries(code, 2048));
    rig.server.serve(`/${code}/b.tar.gz`, second);
    const first = createFetchHandler({ config: rig.storage.config(), ...rig.storage.clientsOf('fetch'), now: () => new Date() });
    const firstJob = randomUUID();
    await first({ job_id: firstJob, request_id: firstJob, code, module: 'default', version: 'v1', allow_overwrite: false, package_url: rig.server.url(`/${code}/a.tar.gz`) }, context());
    const dynamodb = faultyDynamoDb('fetch', (command, input) => (command === 'UpdateItemCommand' && input.TableName === rig.storage.table ? 'lose-answer' : undefined));
    const worker = createFetchHandler({ config: rig.storage.config(), s3: rig.storage.clientsOf('fetch').s3, dynamodb, now: () => new Date() });
    const jobId = randomUUID();

    const view = await worker({ job_id: jobId, request_id: jobId, code, module: 'default', version: 'v1', allow_overwrite: true, package_url: rig.server.url(`/${code}/b.tar.gz`) }, context());

    expect(view).toMatchObject({ state: 'succeeded', package: { sha256_signature: sha256Of(second) } });
    // One record, and no object left of the version it replaced.
    expect(await expectInvariants(rig.storage, code, 'default')).toHaveLength(1);
  });

  it('delivers a job whose record was written though link was told it failed', async () => {
    const code = uniqueCode();
    rig.server.serve(`/${code}/a.tar.gz`, await tarGzArchive(sampleEntries(code)));
    let lost = 0;
    const dynamodb = faultyDynamoDb('link', (command) => (command === 'PutItemCommand' && lost++ === 0 ? 'lose-answer' : undefined));
    const config = rig.storage.config({ SYNC_BUDGET_MS: '5000' });
    const lambda = inProcessLambda(createFetchHandler({ config, ...rig.storage.clientsOf('fetch'), now: () => new Date() }), { authorize: rig.storage.invokeCheck('link') });
    const link = createLinkHandler({ config, dynamodb, lambda: lambda.client, now: () => new Date() });

    const response = await link(
      {
        headers: { 'x-bkapi-authorization': JSON.stringify({ access_token: token }), 'content-type': 'application/json', 'idempotency-key': randomUUID() },
        body: JSON.stringify({ package_url: rig.server.url(`/${code}/a.tar.gz`), version: 'v1' }),
        pathParameters: { code, module_name: 'default' },
      },
      context(),
    );

    expect(response.statusCode).toBe(200);
    expect(lambda.invocations).toHaveLength(1);
    expect(await expectInvariants(rig.storage, code, 'default')).toHaveLength(1);
  });
});

describe('a run that cannot confirm its lease', () => {
  it('neither deletes nor writes while another delivery takes its job over and succeeds', async () => {
    const code = uniqueCode();
    const archive = await tarGzArchive(sampleEntries(code));
    let hits = 0;
    rig.server.route(`/${code}/a.tar.gz`, (_req, res) => {
      hits += 1;
      res.writeHead(200, { 'content-length': archive.length });
      if (hits === 1) {
        // The stale run's download: slow, then reset, after the other run has finished.
        res.write(archive.subarray(0, 100));
        setTimeout(() => res.socket?.destroy(), 4_000);
      } else res.end(archive);
    });
    const config = rig.storage.config({ JOB_LEASE_SECONDS: '2', DOWNLOAD_IDLE_TIMEOUT_MS: '20000' });
    const unreachable = faultyDynamoDb('fetch', (command, input) => (command === 'UpdateItemCommand' && String(input.UpdateExpression).startsWith('SET lease_expires') ? 'fail' : undefined));
    const stale = createFetchHandler({ config, s3: rig.storage.clientsOf('fetch').s3, dynamodb: unreachable, now: () => new Date() });
    const successor = createFetchHandler({ config, ...rig.storage.clientsOf('fetch'), now: () => new Date() });
    const jobId = randomUUID();
    const event = { job_id: jobId, request_id: jobId, code, module: 'default', version: 'v1', allow_overwrite: false, package_url: rig.server.url(`/${code}/a.tar.gz`), mode: 'async' };

    const staleRun = stale(event, context()).then(
      (view) => view.state,
      (error: Error) => error.name,
    );
    await sleep(2_500);
    const taken = await successor(event, context());

    expect(taken).toMatchObject({ state: 'succeeded' });
    // The stale run never learns it lost the lease (its renewals fail, they are not refused), so its
    // broken download ends it as a transient failure handed back to Lambda; it touches nothing, as
    // its fence cannot confirm the lease.
    expect(await staleRun).toBe('RetryableJobError');
    expect(await expectInvariants(rig.storage, code, 'default')).toHaveLength(1);
    expect(await getJob({ dynamodb: rig.storage.dynamodb, table: rig.storage.jobsTable, ttlSeconds: 60, now: () => new Date() }, jobId)).toMatchObject({ state: 'succeeded' });
  });
});

describe('an Idempotency-Key whose first attempt answered 502', () => {
  it('runs the request again, as a 5xx is safe to retry', async () => {
    const code = uniqueCode();
    const archive = await tarGzArchive(sampleEntries(code));
    let hits = 0;
    rig.server.route(`/${code}/a.tar.gz`, (req, res) => {
      hits += 1;
      res.writeHead(200, { 'content-length': archive.length });
      if (hits === 1) {
        res.write(archive.subarray(0, 10));
        setTimeout(() => req.socket.destroy(), 50);
      } else res.end(archive);
    });
    const config = rig.storage.config();
    const lambda = inProcessLambda(createFetchHandler({ config, ...rig.storage.clientsOf('fetch'), now: () => new Date() }), { authorize: rig.storage.invokeCheck('link') });
    const link = createLinkHandler({ config, dynamodb: rig.storage.clientsOf('link').dynamodb, lambda: lambda.client, now: () => new Date() });
    const request = {
      headers: { 'x-bkapi-authorization': JSON.stringify({ access_token: token }), 'content-type': 'application/json', 'idempotency-key': randomUUID() },
      body: JSON.stringify({ package_url: rig.server.url(`/${code}/a.tar.gz`), version: 'v1' }),
      pathParameters: { code, module_name: 'default' },
    };

    const first = await link(request, context());
    const retried = await link(request, context());

    expect(first.statusCode).toBe(502);
    expect(retried.statusCode).toBe(200);
    expect(await expectInvariants(rig.storage, code, 'default')).toHaveLength(1);
  });
});
