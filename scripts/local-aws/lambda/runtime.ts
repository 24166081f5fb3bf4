/**
 * The inside of one local Lambda container (a child process of the Lambda service): loads the
 * function's bundle once (its cold start), then runs one invocation at a time as the service
 * sends them, and answers with the result or the error in the shape Lambda reports. A crash,
 * an unhandled rejection or a kill ends the container, as it ends a Lambda execution environment.
 *
 * Argument: the handler file and export (`/path/handlers/fetch.js#handler`). IPC messages:
 * in `{ type: 'invoke', id, event, deadline, requestId, invokedArn }`; out `ready`, `init-error`,
 * `result` (JSON text) and `error`.
 */
import path from 'node:path';

interface InvokeMessage {
  type: 'invoke';
  id: string;
  event: unknown;
  /** Epoch milliseconds at which the invocation times out. */
  deadline: number;
  requestId: string;
  invokedArn: string;
}

export interface RuntimeError {
  errorType: string;
  errorMessage: string;
  trace: string[];
}

type Handler = (event: unknown, context: Record<string, unknown>) => unknown;

function toRuntimeError(error: unknown): RuntimeError {
  if (error instanceof Error) return { errorType: error.name, errorMessage: error.message, trace: (error.stack ?? '').split('\n') };
  return { errorType: 'Error', errorMessage: String(error), trace: [] };
}

function send(message: Record<string, unknown>): void {
  process.send?.(message);
}

function main(): void {
  const [file = '', exportName = 'handler'] = (process.argv[2] ?? '').split('#');
  let handler: Handler;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the bundle is CommonJS, loaded at run time
    const loaded = require(path.resolve(file)) as Record<string, unknown>;
    const candidate = loaded[exportName];
    if (typeof candidate !== 'function') throw Object.assign(new Error(`${file} does not export ${exportName}`), { name: 'Runtime.HandlerNotFound' });
    handler = candidate as Handler;
  } catch (error) {
    send({ type: 'init-error', error: toRuntimeError(error) });
    process.exitCode = 1;
    return;
  }
  process.on('message', (message: InvokeMessage) => {
    if (message.type !== 'invoke') return;
    const functionName = process.env.AWS_LAMBDA_FUNCTION_NAME ?? '';
    const context = {
      awsRequestId: message.requestId,
      functionName,
      functionVersion: '$LATEST',
      invokedFunctionArn: message.invokedArn,
      memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE ?? '',
      logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME ?? '',
      logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME ?? '',
      callbackWaitsForEmptyEventLoop: true,
      getRemainingTimeInMillis: () => Math.max(0, message.deadline - Date.now()),
    };
    Promise.resolve()
      .then(() => handler(message.event, context))
      .then(
        (result) => send({ type: 'result', id: message.id, result: JSON.stringify(result === undefined ? null : result) }),
        (error: unknown) => send({ type: 'error', id: message.id, error: toRuntimeError(error) }),
      );
  });
  // The Lambda service is gone (stopped, or killed): an environment without its service ends.
  process.on('disconnect', () => process.exit(1));
  send({ type: 'ready' });
}

main();
