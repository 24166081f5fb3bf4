/**
 * Asynchronous invocation as Lambda does it: an accepted event is kept (here on disk, so a
 * restart of the local stack loses none), run, and when the function fails — an error, a crash,
 * a timeout — run again up to the function's MaximumRetryAttempts with a delay between tries,
 * as long as the event is younger than MaximumEventAgeInSeconds. Then the on-failure
 * destination receives Lambda's invocation record. An event whose run was cut off by a stop of
 * the stack counts as a failed attempt, as a lost execution environment does on AWS.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { LambdaFunction } from './functions';
import { ThrottledError, type FunctionPool, type InvokeOutcome } from './function-pool';

interface QueuedEvent {
  id: string;
  functionName: string;
  payload: unknown;
  /** Epoch milliseconds. */
  receivedAt: number;
  attempts: number;
  nextAttemptAt: number;
  /** Set while an attempt runs; found set at start-up, the attempt was cut off. */
  running: boolean;
  lastError?: InvokeOutcome;
}

export type DestinationCondition = 'RetriesExhausted' | 'EventAgeExceeded';

/** Lambda's invocation record, as its destinations receive it. */
export interface InvocationRecord {
  version: '1.0';
  timestamp: string;
  requestContext: { requestId: string; functionArn: string; condition: DestinationCondition | 'Success'; approximateInvokeCount: number };
  requestPayload: unknown;
  responseContext: { statusCode: number; executedVersion: '$LATEST'; functionError?: 'Unhandled' };
  responsePayload: unknown;
}

export interface AsyncInvokerOptions {
  dir: string;
  functions: ReadonlyMap<string, LambdaFunction>;
  pools: ReadonlyMap<string, FunctionPool>;
  /** Delay before retry n (Lambda: about one minute, then two); shortened for tests. */
  retryDelaysMs: number[];
  /** Sends a record to a destination ARN with the function's role; throws when it cannot. */
  deliver: (fn: LambdaFunction, destinationArn: string, record: InvocationRecord) => Promise<void>;
  log: (line: string) => void;
}

const THROTTLE_RETRY_MS = 1_000;

export class AsyncInvoker {
  private readonly events = new Map<string, QueuedEvent>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly running = new Set<Promise<void>>();

  constructor(private readonly options: AsyncInvokerOptions) {
    mkdirSync(options.dir, { recursive: true });
  }

  /** Loads what a previous run left: queued events, and attempts a stop cut off (counted as failed). */
  restore(): number {
    for (const file of readdirSync(this.options.dir).filter((name) => name.endsWith('.json'))) {
      const event = JSON.parse(readFileSync(path.join(this.options.dir, file), 'utf8')) as QueuedEvent;
      if (!this.exists(event)) continue;
      this.events.set(event.id, event);
      if (event.running) {
        event.running = false;
        this.options.log(`[local Lambda] event ${event.id} for ${event.functionName} was running when the stack stopped; attempt ${event.attempts} counts as failed`);
        this.afterFailure(event, { ok: false, error: { errorType: 'Runtime.ExitError', errorMessage: 'The execution environment was lost (the local stack stopped).', trace: [] } });
      }
    }
    this.schedule();
    return this.events.size;
  }

  private exists(event: QueuedEvent): boolean {
    return this.options.functions.has(event.functionName);
  }

  accept(fn: LambdaFunction, payload: unknown): string {
    const now = Date.now();
    const event: QueuedEvent = { id: randomUUID(), functionName: fn.name, payload, receivedAt: now, attempts: 0, nextAttemptAt: now, running: false };
    this.events.set(event.id, event);
    this.persist(event);
    this.schedule();
    return event.id;
  }

  /** Events accepted and not yet finished. */
  get pending(): number {
    return this.events.size;
  }

  private file(event: QueuedEvent): string {
    return path.join(this.options.dir, `${event.id}.json`);
  }

  private persist(event: QueuedEvent): void {
    const file = this.file(event);
    writeFileSync(`${file}.tmp`, JSON.stringify(event));
    renameSync(`${file}.tmp`, file);
  }

  private forget(event: QueuedEvent): void {
    this.events.delete(event.id);
    rmSync(this.file(event), { force: true });
  }

  private schedule(): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    const waiting = [...this.events.values()].filter((event) => !event.running);
    if (waiting.length === 0) return;
    const next = Math.min(...waiting.map((event) => event.nextAttemptAt));
    this.timer = setTimeout(() => this.dispatch(), Math.max(0, next - Date.now()));
  }

  private dispatch(): void {
    const now = Date.now();
    for (const event of this.events.values()) {
      if (event.running || event.nextAttemptAt > now) continue;
      const fn = this.options.functions.get(event.functionName);
      const pool = this.options.pools.get(event.functionName);
      if (!fn || !pool) continue;
      if ((now - event.receivedAt) / 1000 > fn.async.maximumEventAgeSeconds) {
        this.finish(event, fn, 'EventAgeExceeded');
        continue;
      }
      const run = this.attempt(event, fn, pool);
      this.running.add(run);
      void run.finally(() => this.running.delete(run));
    }
    this.schedule();
  }

  private async attempt(event: QueuedEvent, fn: LambdaFunction, pool: FunctionPool): Promise<void> {
    event.running = true;
    event.attempts += 1;
    this.persist(event);
    let outcome: InvokeOutcome;
    try {
      // Lambda keeps an event's request id across its retries.
      outcome = await pool.invoke(event.payload, { requestId: event.id, throttle: true });
    } catch (error) {
      event.running = false;
      if (error instanceof ThrottledError) {
        // A throttled event waits and is tried again; it does not use up an attempt.
        event.attempts -= 1;
        event.nextAttemptAt = Date.now() + THROTTLE_RETRY_MS;
        this.persist(event);
        this.schedule();
        return;
      }
      if (this.stopped) return;
      outcome = { ok: false, error: { errorType: 'Runtime.Unknown', errorMessage: String(error), trace: [] } };
    }
    if (this.stopped) return;
    event.running = false;
    if (outcome.ok) {
      if (fn.async.onSuccess) await this.send(fn, fn.async.onSuccess, this.record(event, fn, 'Success', outcome));
      this.forget(event);
    } else {
      this.afterFailure(event, outcome);
    }
    this.schedule();
  }

  private afterFailure(event: QueuedEvent, outcome: InvokeOutcome): void {
    const fn = this.options.functions.get(event.functionName);
    if (!fn) return;
    event.lastError = outcome;
    const retriesLeft = event.attempts <= fn.async.maximumRetryAttempts;
    if (retriesLeft) {
      const delay = this.options.retryDelaysMs[Math.min(event.attempts - 1, this.options.retryDelaysMs.length - 1)] ?? 60_000;
      event.nextAttemptAt = Date.now() + delay;
      this.options.log(`[local Lambda] ${fn.name} failed on attempt ${event.attempts} of ${fn.async.maximumRetryAttempts + 1}; retrying in ${delay} ms`);
      this.persist(event);
      return;
    }
    this.finish(event, fn, 'RetriesExhausted');
  }

  private finish(event: QueuedEvent, fn: LambdaFunction, condition: DestinationCondition): void {
    const record = this.record(event, fn, condition, event.lastError);
    this.options.log(`[local Lambda] ${fn.name} event ${event.id}: ${condition} after ${event.attempts} attempt(s)`);
    // Out of the queue at once; its file goes once the record is delivered (a stop in between re-delivers).
    this.events.delete(event.id);
    const sent = fn.async.onFailure ? this.send(fn, fn.async.onFailure, record) : Promise.resolve();
    void sent.finally(() => this.forget(event));
  }

  private async send(fn: LambdaFunction, destination: string, record: InvocationRecord): Promise<void> {
    try {
      await this.options.deliver(fn, destination, record);
    } catch (error) {
      this.options.log(`[local Lambda] could not deliver ${fn.name}'s invocation record to ${destination}: ${String(error)}`);
    }
  }

  private record(event: QueuedEvent, fn: LambdaFunction, condition: InvocationRecord['requestContext']['condition'], outcome: InvokeOutcome | undefined): InvocationRecord {
    const failed = outcome !== undefined && !outcome.ok;
    return {
      version: '1.0',
      timestamp: new Date().toISOString(),
      requestContext: { requestId: event.id, functionArn: `${fn.arn}:$LATEST`, condition, approximateInvokeCount: event.attempts },
      requestPayload: event.payload,
      responseContext: { statusCode: 200, executedVersion: '$LATEST', ...(failed ? { functionError: 'Unhandled' as const } : {}) },
      responsePayload: outcome === undefined ? null : outcome.ok ? (JSON.parse(outcome.payload) as unknown) : outcome.error,
    };
  }

  /** Stops dispatching; events still queued or running stay on disk for the next start. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }
}
