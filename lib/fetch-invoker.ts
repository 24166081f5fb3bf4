/**
 * `link` → `fetch` through the Lambda API: RequestResponse bounded by a time budget, or Event
 * for asynchronous mode. Either way the answer is the job's view; a worker still busy when the
 * budget runs out is reported as running (the job resource will show how it ends).
 */
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { StorageUnavailableError } from './errors';
import { parseFetchResult, type FetchEvent, type JobView } from './fetch-contract';

export async function invokeFetch(lambda: LambdaClient, functionName: string, event: FetchEvent, budgetMs: number): Promise<JobView> {
  const jobId = event.job_id ?? event.request_id;
  if (event.mode === 'async') {
    try {
      await lambda.send(
        new InvokeCommand({ FunctionName: functionName, InvocationType: 'Event', Payload: new TextEncoder().encode(JSON.stringify(event)) }),
      );
    } catch (error) {
      throw new StorageUnavailableError('the package worker', error);
    }
    return { job_id: jobId, state: 'pending' };
  }

  let payload: Uint8Array | undefined;
  let functionError: string | undefined;
  try {
    const response = await lambda.send(
      new InvokeCommand({
        FunctionName: functionName,
        InvocationType: 'RequestResponse',
        Payload: new TextEncoder().encode(JSON.stringify(event)),
      }),
      { abortSignal: AbortSignal.timeout(Math.max(1, budgetMs)) },
    );
    payload = response.Payload;
    functionError = response.FunctionError;
  } catch (error) {
    // The invocation goes on without us; the job records how it ends.
    if ((error as Error).name === 'AbortError' || (error as Error).name === 'TimeoutError') return { job_id: jobId, state: 'running' };
    throw new StorageUnavailableError('the package worker', error);
  }
  const text = payload ? new TextDecoder().decode(payload) : '';
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  const view = functionError ? undefined : parseFetchResult(parsed);
  if (!view) {
    throw new StorageUnavailableError('the package worker', new Error(`Worker answered ${functionError ?? 'no result'}: ${text.slice(0, 500)}`));
  }
  return view;
}
