/**
 * What `npm start` shows a person: one short line per API request and per job, plus the
 * functions' errors in one line each; every line the functions write (JSON logs, warnings, metric
 * lines) goes to a file under the data directory. `LOG_FORMAT=json` prints the functions'
 * lines as they are instead (and still keeps the file).
 */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { failureLine, type AnsweredRequest } from './local-aws/api/api-gateway';
import type { RenderedResponse } from './local-aws/api/gateway-responses';
import type { InvokeOutcome } from './local-aws/lambda/function-pool';
import type { LambdaFunction } from './local-aws/lambda/functions';

export type LogFormat = 'short' | 'json';

export function logFormatOf(raw: string | undefined): LogFormat {
  const value = raw?.trim() || 'short';
  if (value !== 'short' && value !== 'json') throw new Error(`LOG_FORMAT must be short or json, got "${raw}".`);
  return value;
}

/** The functions' log file under the data directory. */
export function logFileOf(dataDir: string): string {
  return path.join(dataDir, 'logs', 'functions.log');
}

const ROUTE_PREFIX = /^\/bkapps\/applications\/([^/]+)\/modules\/([^/]+)\/source_package\//;

/** `sundy820/default link/` for a route of the API, the path as it came otherwise. */
function shortPath(fullPath: string, basePath: string): string {
  const relative = fullPath.startsWith(`${basePath}/`) ? fullPath.slice(basePath.length) : fullPath;
  const match = ROUTE_PREFIX.exec(relative);
  return match ? `${match[1]}/${match[2]} ${relative.slice(match[0].length) || '/'}` : relative;
}

function header(headers: Record<string, string>, name: string): string | undefined {
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === name) return value;
  return undefined;
}

function bodyOf(answer: RenderedResponse): { code?: unknown } {
  try {
    const body = JSON.parse(answer.body.toString()) as unknown;
    return typeof body === 'object' && body !== null ? body : {};
  } catch {
    return {};
  }
}

function requestLine(request: AnsweredRequest & { durationMs: number }, answer: RenderedResponse, basePath: string): string {
  const body = answer.status >= 400 ? bodyOf(answer) : {};
  const bodyCode = typeof body.code === 'string' ? body.code : undefined;
  const code = header(answer.headers, 'bkapi-error-code') ?? bodyCode ?? header(answer.headers, 'x-amzn-errortype');
  const path = request.url.split('?')[0] ?? '/';
  // The job an answer names: its X-Job-Id, its Location (202) or its path (a job's status).
  const job = header(answer.headers, 'x-job-id') ?? /\/jobs\/([^/]+)\/?$/.exec(header(answer.headers, 'location') ?? path)?.[1];
  return [request.method, shortPath(path, basePath), String(answer.status), code, `${request.durationMs} ms`, job && `job ${job}`, request.failure && `(${request.failure})`]
    .filter(Boolean)
    .join('  ');
}

/** A fetch invocation's end: its job's state and code, or the error Lambda retries on. */
function jobLine(outcome: InvokeOutcome, durationMs: number): string {
  if (!outcome.ok) return ['job', '?', 'handed back', outcome.error.errorType, `${durationMs} ms`].join('  ');
  try {
    const view = JSON.parse(outcome.payload) as { job_id?: string; state?: string; error?: { code?: string } };
    return ['job', view.job_id ?? '?', view.state ?? '?', view.error?.code, `${durationMs} ms`].filter(Boolean).join('  ');
  } catch {
    return ['job', '?', 'answered', `${durationMs} ms`].join('  ');
  }
}

/**
 * One line a function wrote, for the terminal: an error in one line; nothing for warnings, info,
 * debug and metric lines (they are in the file, and a warning's code is on its request's or job's
 * line already); a line that is not JSON as it came (a crash's output must be seen).
 */
function functionLine(line: string): string | undefined {
  if (line.trim() === '') return undefined;
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  if (typeof entry !== 'object' || entry === null || '_aws' in entry) return undefined;
  if (entry.level !== 'error') return undefined;
  const error = entry.error as { code?: unknown; name?: unknown } | undefined;
  // `code` is also the application's code in the logs: only an error code (UPPER_CASE) is one here.
  const code = [entry.code, error?.code, error?.name].find((value) => typeof value === 'string' && /^[A-Z][A-Za-z0-9_]+$/.test(value));
  return [String(entry.level), String(entry.function ?? '?'), String(entry.message ?? ''), code as string | undefined, typeof entry.job_id === 'string' ? `job ${entry.job_id}` : undefined]
    .filter(Boolean)
    .join('  ');
}

export interface LocalTerminal {
  /** Where the functions' containers write. */
  functionOutput: Writable;
  onAnswered(request: AnsweredRequest, answer: RenderedResponse): void;
  onInvoked(fn: LambdaFunction, outcome: InvokeOutcome, durationMs: number): void;
  close(): Promise<void>;
}

export function localTerminal(options: {
  format: LogFormat;
  file: string;
  terminal: NodeJS.WritableStream;
  basePath: string;
  /** The stack's own notes (stderr). */
  log: (line: string) => void;
}): LocalTerminal {
  mkdirSync(path.dirname(options.file), { recursive: true });
  const file: WriteStream = createWriteStream(options.file, { flags: 'a' });
  const print = (line: string): void => void options.terminal.write(`${line}\n`);
  // Containers write whole lines almost always; a line split across chunks is joined here.
  let partial = '';
  const functionOutput = new Writable({
    write(chunk: Buffer, _encoding, done) {
      file.write(chunk);
      if (options.format === 'json') {
        options.terminal.write(chunk);
        return done();
      }
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        const shown = functionLine(line);
        if (shown !== undefined) print(shown);
      }
      done();
    },
  });
  return {
    functionOutput,
    onAnswered(request, answer) {
      if (options.format === 'short') print(requestLine({ ...request, durationMs: Date.now() - request.started }, answer, options.basePath));
      else if (request.failure) options.log(failureLine({ ...request, failure: request.failure }));
    },
    onInvoked(fn, outcome, durationMs) {
      if (options.format === 'short' && fn.name.endsWith('-fetch')) print(jobLine(outcome, durationMs));
    },
    close: () => new Promise((resolve) => file.end(resolve)),
  };
}
