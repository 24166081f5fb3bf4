/**
 * `fetch` worker: invoked by `link` (RequestResponse), asynchronously, or from the console.
 * Answers a plain FetchResult; failures are results, not exceptions, so `link` can map them.
 */
import type { Context } from 'aws-lambda';
import { createDynamoDbClient, createS3Client } from '../lib/aws-clients';
import { loadConfig } from '../lib/config';
import { ServiceError, severityOf } from '../lib/errors';
import { failureResult, parseFetchEvent, type FetchResult } from '../lib/fetch-contract';
import { createLogger } from '../lib/logger';
import { toPackageResponse } from '../lib/package-record';
import { registerPackage, type RegisterDeps } from '../lib/register-package';

type FetchContext = Pick<Context, 'awsRequestId' | 'getRemainingTimeInMillis'>;

/** Tests build the handler with their own clients; Lambda gets the one built at cold start. */
export function createFetchHandler(deps: Omit<RegisterDeps, 'log' | 'remainingTimeMs'>) {
  return async (event: unknown, context: FetchContext): Promise<FetchResult> => {
    let log = createLogger({ function: 'fetch', invocation_id: context.awsRequestId }, deps.config.logLevel);
    try {
      const request = parseFetchEvent(event, context.awsRequestId);
      log = log.child({ request_id: request.requestId, code: request.code, module: request.module, version: request.version });
      const record = await registerPackage(request, { ...deps, log, remainingTimeMs: () => context.getRemainingTimeInMillis() });
      log.info('package registered', { package_size: record.packageSize, sha256: record.sha256 });
      return { ok: true, package: toPackageResponse(record) };
    } catch (error) {
      if (error instanceof ServiceError) {
        log[severityOf(error)]('package not registered', { code: error.code, error });
        return failureResult(error);
      }
      // Unknown failures are thrown so Lambda records them (and retries asynchronous events).
      log.error('unexpected failure', { error });
      throw error;
    }
  };
}

// Cold start: configuration validated and clients built once per container.
const config = loadConfig();
export const handler = createFetchHandler({
  config,
  s3: createS3Client(config),
  dynamodb: createDynamoDbClient(config),
  now: () => new Date(),
});
