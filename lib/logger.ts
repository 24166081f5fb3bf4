/**
 * One structured JSON logger. Each line carries the request id and, once known, the
 * application code, module and version. Never pass a token; URLs go through `redactUrl`.
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

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
  const emit = (at: LogLevel, message: string, fields?: LogFields): void => {
    if (RANK[at] < RANK[level]) return;
    write(JSON.stringify({ time: new Date().toISOString(), level: at, message, ...base, ...fields }, errorReplacer));
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
