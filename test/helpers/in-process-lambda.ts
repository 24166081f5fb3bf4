/**
 * A stand-in for the Lambda Invoke API that runs a handler in this process: what `link` needs to
 * reach the worker in integration tests (the end-to-end tests go through serverless-offline's).
 * `failNext` makes the next invocations fail as a throttled Lambda would.
 */
import { randomUUID } from 'node:crypto';

type Worker = (event: unknown, context: { awsRequestId: string; getRemainingTimeInMillis: () => number }) => Promise<unknown>;

export function inProcessLambda(worker: Worker) {
  let failures = 0;
  const invocations: { type: string; event: unknown }[] = [];
  const client = {
    send: async (command: { input: { Payload?: Uint8Array; InvocationType?: string } }) => {
      const event = JSON.parse(new TextDecoder().decode(command.input.Payload)) as unknown;
      if (failures > 0) {
        failures -= 1;
        throw Object.assign(new Error('Rate exceeded'), { name: 'TooManyRequestsException' });
      }
      invocations.push({ type: command.input.InvocationType ?? 'RequestResponse', event });
      const result = await worker(event, { awsRequestId: randomUUID(), getRemainingTimeInMillis: () => 28_000 });
      return { StatusCode: 200, Payload: new TextEncoder().encode(JSON.stringify(result)) };
    },
  };
  return {
    client: client as never,
    invocations,
    failNext(count = 1): void {
      failures = count;
    },
  };
}
