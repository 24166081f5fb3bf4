/**
 * `link` → `fetch` through the Lambda API (RequestResponse), bounded by the time `link` has left.
 */
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { PackageDownloadTimeoutError, serviceErrorFromWire, StorageUnavailableError } from './errors';
import { parseFetchResult, type FetchEvent } from './fetch-contract';
import type { PackageResponse } from './package-record';

export async function invokeFetch(
  lambda: LambdaClient,
  functionName: string,
  event: FetchEvent,
  timeoutMs: number,
): Promise<PackageResponse> {
  let payload: Uint8Array | undefined;
  let functionError: string | undefined;
  try {
    const response = await lambda.send(
      new InvokeCommand({
        FunctionName: functionName,
        InvocationType: 'RequestResponse',
        Payload: new TextEncoder().encode(JSON.stringify(event)),
      }),
      { abortSignal: AbortSignal.timeout(Math.max(1, timeoutMs)) },
    );
    payload = response.Payload;
    functionError = response.FunctionError;
  } catch (error) {
    if ((error as Error).name === 'AbortError' || (error as Error).name === 'TimeoutError') {
      throw new PackageDownloadTimeoutError(
        'The package was not stored within the request time limit; it may still complete, so check before retrying.',
      );
    }
    throw new StorageUnavailableError('the package worker', error);
  }
  const text = payload ? new TextDecoder().decode(payload) : '';
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  const result = functionError ? undefined : parseFetchResult(parsed);
  if (!result) {
    throw new StorageUnavailableError('the package worker', new Error(`Worker answered ${functionError ?? 'no result'}: ${text.slice(0, 500)}`));
  }
  if (!result.ok) throw serviceErrorFromWire(result.error.code, result.error.detail, result.error.fields_detail);
  return result.package;
}
