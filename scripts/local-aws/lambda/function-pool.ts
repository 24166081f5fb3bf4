/**
 * The execution environments of one function: child processes ("containers") that each load the
 * function's bundle once and run one invocation at a time, kept warm between invocations, as
 * Lambda keeps them. Lambda's limits are enforced from the template: an invocation past the
 * function's timeout, or a container past its memory size, is killed (Lambda stops the
 * environment, it does not wait for the handler), and its container is replaced. Memory and the
 * kill cover the container's whole process tree (process-tree.ts), as an exec wrapper may run the
 * runtime as its child.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { Writable } from 'node:stream';
import type { LambdaFunction } from './functions';
import { killTree, treeRssMb } from './process-tree';
import type { RuntimeError } from './runtime';

export type InvokeOutcome = { ok: true; payload: string } | { ok: false; error: RuntimeError };

/** Lambda's answer when a function's reserved concurrency is taken (HTTP 429). */
export class ThrottledError extends Error {
  constructor(functionName: string) {
    super(`Rate Exceeded. Function ${functionName} is at its reserved concurrency.`);
    this.name = 'TooManyRequestsException';
  }
}

export interface PoolOptions {
  fn: LambdaFunction;
  /** The handler file the container loads, in the unzipped code folder. */
  handlerFile: string;
  /** The compiled runtime (runtime.ts). */
  runtimeFile: string;
  /** The Node binary the containers run (node-runtime.ts: the major the function's runtime names). */
  nodeBinary: string;
  /** Lambda's reserved variables and the role's credentials, on top of the function's own. */
  environment: Record<string, string>;
  /** Containers at once for a function without reserved concurrency (a local resource limit). */
  maxContainers: number;
  output: Writable;
  /** Told of every invocation's outcome and duration (the terminal's one line per job). */
  onInvoked?: (fn: LambdaFunction, outcome: InvokeOutcome, durationMs: number) => void;
}

/** AWS_LAMBDA_EXEC_WRAPPER's path in the unzipped code folder: Lambda's `/var/task` is LAMBDA_TASK_ROOT here. */
function execWrapperOf(env: Record<string, string | undefined>): string | undefined {
  const wrapper = env.AWS_LAMBDA_EXEC_WRAPPER;
  if (!wrapper) return undefined;
  return wrapper.startsWith('/var/task/') && env.LAMBDA_TASK_ROOT ? path.join(env.LAMBDA_TASK_ROOT, wrapper.slice('/var/task/'.length)) : wrapper;
}

const RESPONSE_LIMIT_BYTES = 6 * 1024 * 1024;
const MEMORY_CHECK_MS = 250;

class Container {
  readonly child: ChildProcess;
  private readonly started: Promise<RuntimeError | undefined>;
  private pending: { id: string; settle: (outcome: InvokeOutcome) => void } | undefined;
  private exitReason: RuntimeError | undefined;
  alive = true;

  constructor(private readonly options: PoolOptions) {
    const { fn } = options;
    const env = { ...options.environment, ...fn.environment };
    const wrapper = execWrapperOf(env);
    this.child = wrapper
      ? // Lambda runs AWS_LAMBDA_EXEC_WRAPPER with the runtime's command line as its arguments; the
        // IPC channel passes through its exec as the runtime's stdin would.
        spawn(wrapper, [options.nodeBinary, options.runtimeFile, options.handlerFile], { env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'], serialization: 'json' })
      : fork(options.runtimeFile, [options.handlerFile], {
          execPath: options.nodeBinary,
          // Not the stack's own flags (tsx's loader when `npm start` runs it): a Lambda environment
          // starts a plain Node, and the loader's memory would count against the function's size.
          execArgv: [],
          env,
          stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
          serialization: 'json',
        });
    // A wrapper that cannot be run (missing, not executable) fails the environment's init, as on Lambda.
    // (A process that never started emits 'error' and no 'exit'.)
    this.child.once('error', (error) => {
      this.exitReason = { errorType: 'Runtime.InvalidEntrypoint', errorMessage: `${wrapper ?? options.nodeBinary}: ${error.message}`, trace: [] };
      this.alive = false;
    });
    // Written, not piped: every container of every function shares the output, and each pipe
    // would add its listeners to it (Node warns of a leak past ten).
    const forward = (chunk: Buffer): void => void options.output.write(chunk);
    this.child.stdout?.on('data', forward);
    this.child.stderr?.on('data', forward);
    this.started = new Promise((resolve) => {
      this.child.once('message', (message: { type: string; error?: RuntimeError }) =>
        resolve(message.type === 'ready' ? undefined : (message.error ?? { errorType: 'Runtime.Unknown', errorMessage: 'init failed', trace: [] })),
      );
      this.child.once('exit', () => resolve(this.exitReason ?? { errorType: 'Runtime.ExitError', errorMessage: 'Runtime exited before it was ready', trace: [] }));
      this.child.once('error', () => resolve(this.exitReason));
    });
    this.child.on('message', (message: { type: string; id?: string; result?: string; error?: RuntimeError }) => {
      if (!this.pending || message.id !== this.pending.id) return;
      const { settle } = this.pending;
      this.pending = undefined;
      if (message.type === 'result') settle({ ok: true, payload: message.result ?? 'null' });
      else settle({ ok: false, error: message.error ?? { errorType: 'Error', errorMessage: 'unknown error', trace: [] } });
    });
    this.child.on('exit', (code, signal) => {
      this.alive = false;
      const reason = this.exitReason ?? {
        errorType: 'Runtime.ExitError',
        errorMessage: `RequestId: ${this.pending?.id ?? '-'} Error: Runtime exited with error: ${signal ? `signal: ${signal}` : `exit status ${code}`}`,
        trace: [],
      };
      this.pending?.settle({ ok: false, error: reason });
      this.pending = undefined;
    });
  }

  async invoke(event: unknown, requestId: string): Promise<InvokeOutcome> {
    const initError = await this.started;
    if (initError) {
      this.kill();
      return { ok: false, error: initError };
    }
    const { fn } = this.options;
    const timeoutMs = fn.timeoutSeconds * 1000;
    const outcome = await new Promise<InvokeOutcome>((settle) => {
      this.pending = { id: requestId, settle };
      const timer = setTimeout(() => {
        this.stop({ errorType: 'Sandbox.Timedout', errorMessage: `RequestId: ${requestId} Error: Task timed out after ${fn.timeoutSeconds.toFixed(2)} seconds`, trace: [] });
      }, timeoutMs);
      const memory = setInterval(() => {
        if (this.child.pid !== undefined && treeRssMb(this.child.pid) > fn.memoryMb) {
          this.stop({ errorType: 'Runtime.OutOfMemory', errorMessage: `RequestId: ${requestId} Error: Runtime exited with error: signal: killed (memory size ${fn.memoryMb} MB exceeded)`, trace: [] });
        }
      }, MEMORY_CHECK_MS);
      const done = this.pending.settle;
      this.pending.settle = (result) => {
        clearTimeout(timer);
        clearInterval(memory);
        done(result);
      };
      this.child.send({ type: 'invoke', id: requestId, event, requestId, deadline: Date.now() + timeoutMs, invokedArn: fn.arn });
    });
    if (outcome.ok && Buffer.byteLength(outcome.payload) > RESPONSE_LIMIT_BYTES) {
      return {
        ok: false,
        error: {
          errorType: 'Function.ResponseSizeTooLarge',
          errorMessage: `Response payload size exceeded maximum allowed payload size (${RESPONSE_LIMIT_BYTES} bytes).`,
          trace: [],
        },
      };
    }
    return outcome;
  }

  /** Ends the container with `reason` as the in-flight invocation's error. */
  private stop(reason: RuntimeError): void {
    this.exitReason = reason;
    this.kill();
  }

  kill(): void {
    this.alive = false;
    // The whole tree: a wrapper that runs the runtime as its child would otherwise leave it running.
    if (this.child.pid !== undefined && this.child.exitCode === null && this.child.signalCode === null) killTree(this.child.pid);
  }
}

export class FunctionPool {
  private readonly idle: Container[] = [];
  private readonly all = new Set<Container>();
  private readonly waiting: ((container: Container) => void)[] = [];
  private closed = false;

  constructor(private readonly options: PoolOptions) {}

  private get limit(): number {
    return this.options.fn.reservedConcurrency ?? this.options.maxContainers;
  }

  /** Runs one invocation; `throttle` answers ThrottledError instead of waiting when reserved concurrency is taken. */
  async invoke(event: unknown, options: { requestId?: string; throttle: boolean }): Promise<InvokeOutcome> {
    const container = await this.acquire(options.throttle);
    const started = Date.now();
    try {
      const outcome = await container.invoke(event, options.requestId ?? randomUUID());
      this.options.onInvoked?.(this.options.fn, outcome, Date.now() - started);
      return outcome;
    } finally {
      this.release(container);
    }
  }

  private acquire(throttle: boolean): Promise<Container> {
    if (this.closed) return Promise.reject(new Error('the local Lambda service is stopping'));
    let container = this.idle.pop();
    while (container && !container.alive) container = this.idle.pop();
    if (container) return Promise.resolve(container);
    if (this.all.size < this.limit) {
      const started = new Container(this.options);
      this.all.add(started);
      started.child.once('exit', () => this.all.delete(started));
      return Promise.resolve(started);
    }
    if (throttle && this.options.fn.reservedConcurrency !== undefined) return Promise.reject(new ThrottledError(this.options.fn.name));
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(container: Container): void {
    if (!container.alive) {
      this.all.delete(container);
      const next = this.waiting.shift();
      if (next && !this.closed) {
        const replacement = new Container(this.options);
        this.all.add(replacement);
        replacement.child.once('exit', () => this.all.delete(replacement));
        next(replacement);
      }
      return;
    }
    const next = this.waiting.shift();
    if (next) next(container);
    else this.idle.push(container);
  }

  /** Containers running or warm. */
  get size(): number {
    return this.all.size;
  }

  close(): void {
    this.closed = true;
    for (const container of this.all) container.kill();
    this.all.clear();
    this.idle.length = 0;
  }
}
