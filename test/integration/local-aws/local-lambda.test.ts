/**
 * The local Lambda service holds functions to Lambda's rules, so the service's own functions
 * meet them locally: fixture functions (test/fixtures/lambda-functions) that run too long, use
 * too much memory, crash, answer too much or fail, called through the real SDK over the Invoke
 * API, with a fixture template's roles, retry policy and on-failure queue.
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { copyFileSync, createWriteStream, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { ZipFile } from 'yazl';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IamAuthority, roleCredentials } from '../../../scripts/local-aws/iam';
import { functionsOf } from '../../../scripts/local-aws/lambda/functions';
import { LambdaService } from '../../../scripts/local-aws/lambda/lambda-service';
import { nodeBinaryFor } from '../../../scripts/local-aws/lambda/node-runtime';
import type { LocalSqs } from '../../../scripts/local-aws/sqs';
import { loadPackagedTemplate, LOCAL_REGION, PACKAGED_TEMPLATE_FILE, type ResolvedTemplate } from '../../../scripts/local-aws/template';
import { eventually } from '../../helpers/eventually';
import { startLocalQueue, type LocalQueue } from '../../helpers/local-queue';

const fixtures = path.join(__dirname, '../../fixtures/lambda-functions');
let dir: string;
let template: ResolvedTemplate;
let sqs: LocalSqs;
let service: LambdaService;
let server: http.Server;
let localQueue: LocalQueue;
let lambda: LambdaClient;
let queue: SQSClient;
const logs: string[] = [];

function zipHandlers(into: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const zip = new ZipFile();
    zip.addFile(path.join(fixtures, 'handlers.js'), 'handlers.js');
    // The same exec wrapper twice: once with its execute bit, once without (Lambda keeps the zip's modes).
    zip.addFile(path.join(fixtures, 'wrapper.sh'), 'wrapper.sh', { mode: 0o100755 });
    zip.addFile(path.join(fixtures, 'wrapper.sh'), 'wrapper-not-executable.sh', { mode: 0o100644 });
    zip.addFile(path.join(fixtures, 'wrapper-without-exec.sh'), 'wrapper-without-exec.sh', { mode: 0o100755 });
    zip.end();
    const out = zip.outputStream.pipe(createWriteStream(into));
    out.on('finish', () => resolve());
    out.on('error', reject);
  });
}

async function startService(): Promise<LambdaService> {
  const started = await LambdaService.start({
    functions: functionsOf(template, dir),
    iam: new IamAuthority(template),
    account: template,
    sqs,
    workDir: path.join(dir, 'work'),
    asyncDir: path.join(dir, 'async'),
    retryDelaysMs: [100, 200],
    maxContainersPerFunction: 4,
    output: new PassThrough().resume(),
    log: (line) => logs.push(line),
  });
  server.removeAllListeners('request');
  server.on('request', started.listener());
  return started;
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'bkpaas-local-lambda-'));
  copyFileSync(path.join(fixtures, PACKAGED_TEMPLATE_FILE), path.join(dir, PACKAGED_TEMPLATE_FILE));
  await zipHandlers(path.join(dir, 'handlers.zip'));
  template = loadPackagedTemplate(dir, { stackName: 'fixture' });
  localQueue = await startLocalQueue(1_209_600);
  sqs = localQueue.local;
  server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  queue = localQueue.sqs;
  service = await startService();
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  lambda = new LambdaClient({ region: LOCAL_REGION, endpoint, credentials: roleCredentials('CallerRole'), maxAttempts: 1 });
});

afterAll(async () => {
  service?.stop();
  lambda?.destroy();
  await new Promise((resolve) => server?.close(resolve));
  await localQueue?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function invoke(name: string, event: unknown, type: 'RequestResponse' | 'Event' = 'RequestResponse') {
  const answer = await lambda.send(new InvokeCommand({ FunctionName: `fixture-${name}`, InvocationType: type, Payload: new TextEncoder().encode(JSON.stringify(event)) }));
  const text = answer.Payload ? new TextDecoder().decode(answer.Payload) : '';
  return { status: answer.StatusCode, functionError: answer.FunctionError, payload: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
}

/** Processes whose command line names a function's code folder (its containers, and whatever they started). */
function processesOf(functionName: string): number[] {
  const codeDir = path.join(dir, 'work', 'functions', functionName);
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(codeDir);
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe('synchronous invocations', () => {
  it("runs a function from its zip with the template's environment and its role's credentials", async () => {
    const answer = await invoke('echo', { hello: 'world' });

    expect(answer.functionError).toBeUndefined();
    expect(answer.payload).toMatchObject({ event: { hello: 'world' }, functionName: 'fixture-echo', key: 'LOCALROLE_FunctionRole', extra: 'from-template' });
    expect(answer.payload?.remaining).toBeLessThanOrEqual(5_000);
  });

  it('runs a function on the Node its runtime names (nodejs24.x: Node 24), whatever Node started the service', async () => {
    const answer = await invoke('echo', {});

    expect(answer.payload).toMatchObject({ node: expect.stringMatching(/^v24\./), executionEnv: 'AWS_Lambda_nodejs24.x' });
  });

  it("starts a function through its AWS_LAMBDA_EXEC_WRAPPER, /var/task being the function's code, as Lambda does", async () => {
    const wrapped = await invoke('wrapped', {});
    const plain = await invoke('echo', {});

    expect(wrapped.functionError).toBeUndefined();
    expect(wrapped.payload).toMatchObject({ node: expect.stringMatching(/^v24\./), execArgv: ['--no-deprecation'] });
    expect(plain.payload).toMatchObject({ execArgv: [] });
  });

  it('fails the init of a function whose exec wrapper the zip does not mark executable, as Lambda does', async () => {
    const answer = await invoke('unrunnable-wrapper', {});

    expect(answer.functionError).toBe('Unhandled');
    expect(answer.payload).toMatchObject({ errorType: 'Runtime.InvalidEntrypoint', errorMessage: expect.stringMatching(/wrapper-not-executable\.sh: .*EACCES/) });
  });

  it('refuses at start a runtime no Node here can run, rather than running it on another Node', () => {
    expect(() => nodeBinaryFor('nodejs18.x')).toThrow(/nodejs18\.x needs Node 18/);
    expect(() => nodeBinaryFor('python3.13')).toThrow(/not a Node\.js runtime/);
  });

  it("refuses a caller whose role may not invoke the function, with Lambda's AccessDeniedException", async () => {
    await expect(invoke('secret', {})).rejects.toMatchObject({ name: 'AccessDeniedException', message: expect.stringContaining('lambda:InvokeFunction') });
  });

  it("stops an invocation at the function's timeout, as Lambda stops the environment, and serves the next one", async () => {
    const late = await invoke('sleep', { ms: 3_000 });
    const quick = await invoke('sleep', { ms: 10 });

    expect(late).toMatchObject({ functionError: 'Unhandled', payload: { errorType: 'Sandbox.Timedout', errorMessage: expect.stringContaining('Task timed out after 1.00 seconds') } });
    expect(quick.payload).toEqual({ slept: 10 });
  });

  it('kills a container that grows past its memory size', async () => {
    const answer = await invoke('hog', {});

    expect(answer).toMatchObject({ functionError: 'Unhandled', payload: { errorType: 'Runtime.OutOfMemory' } });
  });

  it('ends the whole environment at the timeout when the exec wrapper runs the runtime as its child, leaving no process behind', async () => {
    const late = await invoke('forking-wrapper-sleep', { ms: 4_000 });

    expect(late).toMatchObject({ functionError: 'Unhandled', payload: { errorType: 'Sandbox.Timedout' } });
    await eventually(() => processesOf('fixture-forking-wrapper-sleep').length === 0, 'the wrapper and its runtime to end', 2_000);
  });

  it("counts the memory of the runtime an exec wrapper runs as its child against the function's memory size", async () => {
    const answer = await invoke('forking-wrapper-hog', {});

    expect(answer).toMatchObject({ functionError: 'Unhandled', payload: { errorType: 'Runtime.OutOfMemory' } });
    await eventually(() => processesOf('fixture-forking-wrapper-hog').length === 0, 'the wrapper and its runtime to end', 2_000);
  });

  it('reports a thrown error and a crash as unhandled function errors, and keeps serving', async () => {
    const thrown = await invoke('fail', {});
    const crashed = await invoke('crash', {});
    const after = await invoke('echo', { still: 'up' });

    expect(thrown).toMatchObject({ functionError: 'Unhandled', payload: { errorType: 'TypeError', errorMessage: 'boom' } });
    expect(crashed).toMatchObject({ functionError: 'Unhandled', payload: { errorType: 'Runtime.ExitError', errorMessage: expect.stringContaining('exit status 3') } });
    expect(after.payload).toMatchObject({ event: { still: 'up' } });
  });

  it("refuses payloads over Lambda's limits: 6 MB in and out of a synchronous call, 256 KB for an event", async () => {
    await expect(invoke('echo', { text: 'x'.repeat(6 * 1024 * 1024) })).rejects.toMatchObject({ name: 'RequestEntityTooLargeException' });
    await expect(invoke('echo', { text: 'x'.repeat(256 * 1024) }, 'Event')).rejects.toMatchObject({ name: 'RequestEntityTooLargeException' });
    expect(await invoke('huge', {})).toMatchObject({ functionError: 'Unhandled', payload: { errorType: 'Function.ResponseSizeTooLarge' } });
  });

  it('throttles a synchronous call past the reserved concurrency with TooManyRequestsException', async () => {
    const results = await Promise.allSettled([invoke('single', { ms: 600 }), invoke('single', { ms: 600 })]);

    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
    expect(results.find((result) => result.status === 'rejected')).toMatchObject({ reason: { name: 'TooManyRequestsException' } });
  });
});

describe('asynchronous invocations', () => {
  const queueDepth = (): number => sqs.depth('fixture-failures');

  it('retries a failing event as the template says, then sends Lambda\'s invocation record to the on-failure queue', async () => {
    const before = queueDepth();

    const accepted = await invoke('fail', { order: 'a-1' }, 'Event');
    await eventually(() => queueDepth() === before + 1, `the failure record; service said:\n${logs.join('\n')}`);

    expect(accepted.status).toBe(202);
    const { Messages = [] } = await queue.send(new ReceiveMessageCommand({ QueueUrl: 'http://127.0.0.1/000000000000/fixture-failures', MaxNumberOfMessages: 10 }));
    const records = Messages.map((message) => JSON.parse(message.Body ?? '{}') as { requestPayload?: { order?: string } });
    expect(records.find((record) => record.requestPayload?.order === 'a-1')).toMatchObject({
      version: '1.0',
      requestContext: { condition: 'RetriesExhausted', approximateInvokeCount: 3, functionArn: expect.stringMatching(/function:fixture-fail:\$LATEST$/) },
      requestPayload: { order: 'a-1' },
      responseContext: { statusCode: 200, functionError: 'Unhandled' },
      responsePayload: { errorType: 'TypeError', errorMessage: 'boom' },
    });
  });

  it('runs an event again until it succeeds, and sends nothing to the queue then', async () => {
    const counter = path.join(dir, 'flaky-count');
    const before = queueDepth();

    await invoke('flaky', { counter, failures: 2 }, 'Event');
    await eventually(() => existsSync(counter) && readFileSync(counter, 'utf8') === '3', 'the third attempt');
    await eventually(() => service.pendingEvents === 0, 'the event to finish');

    expect(queueDepth()).toBe(before);
  });

  it('counts an attempt that a stop of the service cut off as failed, and runs the event again after a restart', async () => {
    await invoke('single', { ms: 1_500 }, 'Event');
    await new Promise((resolve) => setTimeout(resolve, 500));
    service.stop();
    logs.length = 0;

    service = await startService();
    await eventually(() => service.pendingEvents === 0, 'the resumed event');

    expect(logs.join('\n')).toMatch(/was running when the stack stopped; attempt 1 counts as failed/);
  });
});
