/**
 * The local Lambda service: every function of the packaged template, run from the zip
 * `serverless package` built, in containers of its own (function-pool.ts), under its role's
 * credentials. It serves Lambda's Invoke API (RequestResponse, Event, DryRun) to callers signed
 * with a role that may invoke, with Lambda's payload limits (6 MB synchronous, 256 KB
 * asynchronous), and runs asynchronous events with Lambda's retries and destinations
 * (async-invoker.ts). A function that throws never stops the stack.
 */
import { buildSync } from 'esbuild';
import { randomUUID } from 'node:crypto';
import { createWriteStream, mkdirSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { open as openZip, type Entry } from 'yauzl';
import { answerLambdaAccountCall, type LocalAccountOptions } from '../account';
import { invokedFunctionName, lambdaRequest, type Account } from '../aws-requests';
import { accessKeyOf, roleCredentials, type IamAuthority } from '../iam';
import { readRequestBody } from '../request-body';
import type { LocalSqs } from '../sqs';
import { AsyncInvoker, type InvocationRecord } from './async-invoker';
import { FunctionPool, ThrottledError, type InvokeOutcome, type PoolOptions } from './function-pool';
import type { LambdaFunction } from './functions';
import { nodeBinaryFor } from './node-runtime';

export const SYNC_PAYLOAD_LIMIT_BYTES = 6 * 1024 * 1024;
export const ASYNC_PAYLOAD_LIMIT_BYTES = 256 * 1024;

export interface LambdaServiceOptions {
  functions: LambdaFunction[];
  iam: IamAuthority;
  account: Account;
  /** What GetAccountSettings answers (the concurrency quota); without it, only the Invoke API is served. */
  accountSettings?: LocalAccountOptions;
  sqs: LocalSqs;
  /** Where code is unzipped and asynchronous events are kept. */
  workDir: string;
  asyncDir: string;
  retryDelaysMs: number[];
  maxContainersPerFunction: number;
  output: Writable;
  onInvoked?: PoolOptions['onInvoked'];
  log: (line: string) => void;
  onDenied?: (line: string) => void;
}

/**
 * Lambda keeps the permissions a zip made on Unix records (a script without its execute bit cannot
 * be an exec wrapper there either); other entries are plain readable files.
 */
function unixModeOf(entry: Entry): number {
  const madeOnUnix = entry.versionMadeBy >>> 8 === 3;
  const permissions = (entry.externalFileAttributes >>> 16) & 0o777;
  return madeOnUnix && permissions !== 0 ? permissions : 0o644;
}

function unzip(zipFile: string, into: string): Promise<void> {
  return new Promise((resolve, reject) => {
    openZip(zipFile, { lazyEntries: true }, (error, zip) => {
      if (error || !zip) return reject(error ?? new Error(`cannot open ${zipFile}`));
      zip.on('error', reject);
      zip.on('end', () => resolve());
      zip.on('entry', (entry: Entry) => {
        if (entry.fileName.endsWith('/')) return zip.readEntry();
        const target = path.join(into, entry.fileName);
        if (!target.startsWith(into + path.sep)) return reject(new Error(`${zipFile} holds an entry outside its folder`));
        mkdirSync(path.dirname(target), { recursive: true });
        zip.openReadStream(entry, (streamError, stream) => {
          if (streamError || !stream) return reject(streamError ?? new Error('no stream'));
          pipeline(stream, createWriteStream(target, { mode: unixModeOf(entry) })).then(() => zip.readEntry(), reject);
        });
      });
      zip.readEntry();
    });
  });
}

function errorAnswer(res: http.ServerResponse, status: number, type: string, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json', 'x-amzn-errortype': type, 'x-amzn-requestid': randomUUID() }).end(JSON.stringify({ Type: 'User', Message: message, message }));
}

export class LambdaService {
  private readonly byName = new Map<string, LambdaFunction>();
  private readonly pools = new Map<string, FunctionPool>();
  private readonly invoker: AsyncInvoker;

  private constructor(private readonly options: LambdaServiceOptions) {
    for (const fn of options.functions) this.byName.set(fn.name, fn);
    this.invoker = new AsyncInvoker({
      dir: options.asyncDir,
      functions: this.byName,
      pools: this.pools,
      retryDelaysMs: options.retryDelaysMs,
      deliver: (fn, destination, record) => this.deliver(fn, destination, record),
      log: options.log,
    });
  }

  /** Unzips every function, compiles the container runtime, and restores queued events. */
  static async start(options: LambdaServiceOptions): Promise<LambdaService> {
    const service = new LambdaService(options);
    const runtimeFile = path.join(options.workDir, 'runtime.js');
    mkdirSync(options.workDir, { recursive: true });
    buildSync({ entryPoints: [path.join(__dirname, 'runtime.ts')], bundle: true, platform: 'node', format: 'cjs', target: 'node24', outfile: runtimeFile, logLevel: 'error' });
    for (const fn of options.functions) {
      const codeDir = path.join(options.workDir, 'functions', fn.name);
      await unzip(fn.zipFile, codeDir);
      const [modulePath = '', exportName = 'handler'] = [fn.handler.slice(0, fn.handler.lastIndexOf('.')), fn.handler.slice(fn.handler.lastIndexOf('.') + 1)];
      const credentials = roleCredentials(fn.roleLogicalId);
      service.pools.set(
        fn.name,
        new FunctionPool({
          fn,
          runtimeFile,
          nodeBinary: nodeBinaryFor(fn.runtime),
          handlerFile: `${path.join(codeDir, `${modulePath}.js`)}#${exportName}`,
          maxContainers: options.maxContainersPerFunction,
          output: options.output,
          onInvoked: options.onInvoked,
          environment: {
            PATH: process.env.PATH ?? '/usr/bin:/bin',
            LANG: 'en_US.UTF-8',
            TZ: 'UTC',
            AWS_REGION: options.account.region,
            AWS_DEFAULT_REGION: options.account.region,
            AWS_ACCESS_KEY_ID: credentials.accessKeyId,
            AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
            AWS_LAMBDA_FUNCTION_NAME: fn.name,
            AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memoryMb),
            AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
            AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${fn.name}`,
            AWS_LAMBDA_LOG_STREAM_NAME: `local/${fn.name}`,
            AWS_EXECUTION_ENV: `AWS_Lambda_${fn.runtime}`,
            LAMBDA_TASK_ROOT: codeDir,
            _HANDLER: fn.handler,
          },
        }),
      );
    }
    const restored = service.invoker.restore();
    if (restored > 0) options.log(`[local Lambda] ${restored} asynchronous event(s) from the previous run resumed`);
    return service;
  }

  functionNamed(name: string): LambdaFunction | undefined {
    return this.byName.get(name);
  }

  /** API Gateway's invocation of an integration (synchronous). */
  invoke(fn: LambdaFunction, event: unknown): Promise<InvokeOutcome> {
    const pool = this.pools.get(fn.name);
    if (!pool) throw new Error(`no function ${fn.name}`);
    return pool.invoke(event, { throttle: true });
  }

  /** Asynchronous events accepted and not finished. */
  get pendingEvents(): number {
    return this.invoker.pending;
  }

  /** Lambda writes to a destination with the function's own role: an SQS queue, or another function (asynchronously). */
  private async deliver(fn: LambdaFunction, destination: string, record: InvocationRecord): Promise<void> {
    const [, , service = '', , , kind = '', functionName = ''] = destination.split(':');
    const action = service === 'sqs' ? 'sqs:SendMessage' : service === 'lambda' ? 'lambda:InvokeFunction' : undefined;
    if (!action) throw new Error(`destination ${destination}: only SQS and Lambda destinations are emulated`);
    const role = this.options.iam.role(fn.roleLogicalId);
    const decision = await this.options.iam.authorize({ kind: 'role', role, session: fn.name }, { action, resources: [destination] });
    if (!decision.allowed) {
      this.options.onDenied?.(`[local IAM] denied ${action} on ${destination}: ${decision.message}`);
      throw new Error(decision.message);
    }
    if (service === 'sqs') {
      this.options.sqs.send(kind, JSON.stringify(record));
      return;
    }
    const target = this.byName.get(functionName);
    if (!target) throw new Error(`destination ${destination}: no such function`);
    this.invoker.accept(target, record);
  }

  /** Lambda's Invoke API. */
  listener(): http.RequestListener {
    return (req, res) => {
      const { accountSettings } = this.options;
      if (accountSettings && answerLambdaAccountCall(req, res, [...this.byName.values()], { ...accountSettings, iam: this.options.iam })) return;
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const name = invokedFunctionName(url);
      const request = lambdaRequest(this.options.account, req.method ?? 'GET', url);
      if (!name || !request) return errorAnswer(res, 404, 'ResourceNotFoundException', `No Lambda API at ${req.method} ${url.pathname}`);
      const type = String(req.headers['x-amz-invocation-type'] ?? 'RequestResponse');
      const limit = type === 'Event' ? ASYNC_PAYLOAD_LIMIT_BYTES : SYNC_PAYLOAD_LIMIT_BYTES;
      void readRequestBody(req, limit).then(({ bytes, size }) => {
        this.handle(req, res, { name, type, request, body: bytes, size, limit }).catch((error: unknown) => {
          if (!res.headersSent) errorAnswer(res, 500, 'ServiceException', String(error));
        });
      });
    };
  }

  private async handle(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    call: { name: string; type: string; request: NonNullable<ReturnType<typeof lambdaRequest>>; body: Buffer | undefined; size: number; limit: number },
  ): Promise<void> {
    const caller = this.options.iam.callerOf(accessKeyOf(req.headers, new URL(req.url ?? '/', 'http://127.0.0.1')));
    const decision = await this.options.iam.authorize(caller, call.request);
    if (!decision.allowed) {
      this.options.onDenied?.(`[local IAM] denied lambda:InvokeFunction on ${call.request.resources.join(', ')}: ${decision.message}`);
      return errorAnswer(res, 403, 'AccessDeniedException', decision.message);
    }
    const fn = this.byName.get(call.name);
    if (!fn) return errorAnswer(res, 404, 'ResourceNotFoundException', `Function not found: ${call.request.resources[0] ?? call.name}`);
    if (!call.body) {
      return errorAnswer(res, 413, 'RequestEntityTooLargeException', `${call.size} byte payload is too large for the ${call.type} invocation type (limit ${call.limit} bytes)`);
    }
    let event: unknown;
    try {
      event = call.body.length === 0 ? {} : (JSON.parse(call.body.toString('utf8')) as unknown);
    } catch {
      return errorAnswer(res, 400, 'InvalidRequestContentException', 'Could not parse request body into json');
    }
    if (call.type === 'DryRun') return void res.writeHead(204).end();
    if (call.type === 'Event') {
      this.invoker.accept(fn, event);
      return void res.writeHead(202, { 'x-amzn-requestid': randomUUID() }).end();
    }
    if (call.type !== 'RequestResponse') return errorAnswer(res, 400, 'InvalidParameterValueException', `Unknown invocation type ${call.type}`);
    let outcome: InvokeOutcome;
    try {
      outcome = await this.invoke(fn, event);
    } catch (error) {
      if (error instanceof ThrottledError) return errorAnswer(res, 429, 'TooManyRequestsException', error.message);
      throw error;
    }
    // The caller may have given up (link's budget); Lambda finishes the invocation all the same.
    if (res.destroyed) return;
    const headers = { 'content-type': 'application/json', 'x-amz-executed-version': '$LATEST', 'x-amzn-requestid': randomUUID() };
    if (outcome.ok) res.writeHead(200, headers).end(outcome.payload);
    else res.writeHead(200, { ...headers, 'x-amz-function-error': 'Unhandled' }).end(JSON.stringify(outcome.error));
  }

  stop(): void {
    this.invoker.stop();
    for (const pool of this.pools.values()) pool.close();
  }
}
