/**
 * `link` → `fetch` through the Lambda API, always as an asynchronous (Event) invocation: Lambda
 * keeps the event, and redelivers it when a run dies (killed, timed out, out of memory), up to
 * the function's retries and then to its on-failure destination. So every accepted job ends,
 * whatever happens to the invocation that runs it; `link` follows the job record, not the call.
 */
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { WorkerFailedError } from '../core/errors';
import type { FetchEvent } from './fetch-contract';

export async function deliverJob(lambda: LambdaClient, functionName: string, event: FetchEvent): Promise<void> {
  try {
    await lambda.send(
      new InvokeCommand({ FunctionName: functionName, InvocationType: 'Event', Payload: new TextEncoder().encode(JSON.stringify(event)) }),
    );
  } catch (error) {
    throw new WorkerFailedError('The package worker could not be started; the request is safe to retry.', { cause: error });
  }
}
