/**
 * A stand-in for the Lambda Invoke API that runs a handler in this process: what `link` needs to
 * reach the worker in integration tests (the end-to-end tests go through the local stack's
 * Lambda service). It is a fake only in where the handler runs: the caller's right to invoke is
 * checked against its role (`authorize`), and `failNext` makes the next invocations fail as a
 * throttled Lambda would — a fault at an exact moment that no emulator offers.
 */
import { randomUUID } from 'node:crypto';

type Worker = (event: unknown, context: { awsRequestId: string; getRemainingTimeInMillis: () => number }) => Promise<unknown>;

export interface Invocation {
  type: string;
  event: unknown;
  /** For an Event invocation: settles when the background run ends, with its result or error. */
  done?: Promise<void>;
  result?: unknown;
  error?: unknown;
}

export interface InProcessLambdaOptions {
  /** Throws as AWS would (AccessDeniedException) when the caller may not invoke the function. */
  authorize?: (functionName: string) => Promise<void>;
}

export function inProcessLambda(worker: Worker, options: InProcessLambdaOptions = {}) {
  let failures = 0;
  const invocations: Invocation[] = [];
  const client = {
    send: async (command: { input: { FunctionName?: string; Payload?: Uint8Array; InvocationType?: string } }) => {
      await options.authorize?.(command.input.FunctionName ?? '');
      const event = JSON.parse(new TextDecoder().decode(command.input.Payload)) as unknown;
      if (failures > 0) {
        failures -= 1;
        throw Object.assign(new Error('Rate exceeded'), { name: 'TooManyRequestsException' });
      }
      const type = command.input.InvocationType ?? 'RequestResponse';
      const invocation: Invocation = { type, event };
      invocations.push(invocation);
      const run = worker(event, { awsRequestId: randomUUID(), getRemainingTimeInMillis: () => 60_000 });
      if (type === 'Event') {
        // Accepted at once, run in the background, as Lambda runs an asynchronous invocation.
        invocation.done = run.then(
          (result) => void (invocation.result = result),
          (error: unknown) => void (invocation.error = error),
        );
        return { StatusCode: 202 };
      }
      const result = await run;
      return { StatusCode: 200, Payload: new TextEncoder().encode(JSON.stringify(result)) };
    },
  };
  return {
    client: client as never,
    invocations,
    /** Waits for every background run started so far. */
    settled: () => Promise.all(invocations.map((invocation) => invocation.done)),
    failNext(count = 1): void {
      failures = count;
    },
  };
}
