/**
 * One structured JSON logger. Each line carries the request id and, once known, the
 * application code, module and version; in a function, also the keys Powertools for AWS Lambda
 * writes (`service`, `cold_start`, `function_name`, `function_arn`, `function_memory_size`,
 * `function_request_id`, `xray_trace_id`, `timestamp`), so the Logs Insights queries and tools
 * written for those work here. Never pass a token; URLs go through `redactUrl`.
 */

/** `silent` writes nothing: for the test suite, where expected failures would read as errors. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
export type LogFields = Record<string, unknown>;

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

export function createLogger(
  base: LogFields = {},
  level: LogLevel = 'info',
  write: (line: string) => void = (line) => process.stdout.write(line + '\n'),
): Logger {
  const emit = (at: Exclude<LogLevel, 'silent'>, message: string, fields?: LogFields): void => {
    if (RANK[at] < RANK[level] && level !== 'silent') return;
    const line = JSON.stringify({ timestamp: new Date().toISOString(), level: at, message, ...base, ...fields }, errorReplacer);
    // Silent still serialises, so a test run at its default level would meet a log call that throws.
    if (level !== 'silent') write(line);
  };
  return {
    debug: (message, fields) => emit('debug', message, fields),
    info: (message, fields) => emit('info', message, fields),
    warn: (message, fields) => emit('warn', message, fields),
    error: (message, fields) => emit('error', message, fields),
    child: (fields) => createLogger({ ...base, ...fields }, level, write),
  };
}

/** Errors serialise to their name, message, code and cause; stacks only for unexpected ones. */
function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    return {
      name: value.name,
      message: value.message,
      ...(code === undefined ? {} : { code }),
      ...(value.name === 'ServiceError' || code !== undefined ? {} : { stack: value.stack }),
      ...(value.cause === undefined ? {} : { cause: value.cause }),
    };
  }
  return value;
}

/** The URL without user info, query or fragment: those may carry credentials. */
export function redactUrl(raw: string): string {
  try {
    const url = new URL(raw);
    url.username = '';
    url.password = '';
    const hadQuery = url.search !== '';
    url.search = '';
    url.hash = '';
    return url.toString() + (hadQuery ? '?…' : '');
  } catch {
    return '(unparseable URL)';
  }
}

export const SERVICE_NAME = 'bkpaas-source-package-link';

/** What a handler knows of its invocation; tests pass less. */
export interface InvocationContext {
  awsRequestId: string;
  functionName?: string;
  invokedFunctionArn?: string;
  memoryLimitInMB?: string;
}

const coldStarts = new Set<string>();

/** The X-Ray trace of this invocation (Lambda sets _X_AMZN_TRACE_ID when tracing is on). */
function traceId(): string | undefined {
  return /Root=([^;]+)/.exec(process.env._X_AMZN_TRACE_ID ?? '')?.[1];
}

/** The fields every line of one invocation carries; `cold_start` is true for a container's first. */
export function invocationFields(functionKey: string, context: InvocationContext): LogFields {
  const coldStart = !coldStarts.has(functionKey);
  coldStarts.add(functionKey);
  const trace = traceId();
  return {
    service: SERVICE_NAME,
    function: functionKey,
    cold_start: coldStart,
    function_request_id: context.awsRequestId,
    ...(context.functionName ? { function_name: context.functionName } : {}),
    ...(context.invokedFunctionArn ? { function_arn: context.invokedFunctionArn } : {}),
    ...(context.memoryLimitInMB ? { function_memory_size: Number(context.memoryLimitInMB) } : {}),
    ...(trace ? { xray_trace_id: trace } : {}),
  };
}
