/**
 * `fetch` worker: invoked by `link` (RequestResponse or Event), by Lambda's retries, or from the
 * console. Answers the job's view; throws only what Lambda should retry.
 */
import type { Context } from 'aws-lambda';
import { createDynamoDbClient, createS3Client } from '../lib/aws-clients';
import { loadConfig } from '../lib/config';
import { ServiceError, severityOf } from '../lib/errors';
import { errorOf, parseFetchEvent, type FetchResult } from '../lib/fetch-contract';
import { createLogger } from '../lib/logger';
import type { RegisterDeps } from '../lib/register-package';
import { JobBusyError, RetryableJobError, runJob } from '../lib/run-job';

type FetchContext = Pick<Context, 'awsRequestId' | 'getRemainingTimeInMillis'>;

/** Tests build the handler with their own clients; Lambda gets the one built at cold start. */
export function createFetchHandler(deps: Omit<RegisterDeps, 'log' | 'remainingTimeMs'>) {
  return async (event: unknown, context: FetchContext): Promise<FetchResult> => {
    let log = createLogger({ function: 'fetch', invocation_id: context.awsRequestId }, deps.config.logLevel);
    let request;
    try {
      request = parseFetchEvent(event, context.awsRequestId);
    } catch (error) {
      if (!(error instanceof ServiceError)) throw error;
      log.info('event refused', { code: error.code, error });
      return { job_id: context.awsRequestId, state: 'failed', error: errorOf(error) };
    }
    log = log.child({ job_id: request.jobId, code: request.code, module: request.module, version: request.version, mode: request.mode });
    try {
      const view = await runJob(request, {
        ...deps,
        log,
        remainingTimeMs: () => context.getRemainingTimeInMillis(),
        invocationId: context.awsRequestId,
        jobs: { dynamodb: deps.dynamodb, table: deps.config.jobsTable, ttlSeconds: deps.config.jobTtlSeconds, now: deps.now },
      });
      if (view.error) log[severityOf(new ServiceError(view.error.code, view.error.detail))]('package not registered', { error: view.error });
      else log.info('job answered', { state: view.state });
      return view;
    } catch (error) {
      // Thrown on purpose (a transient failure of an asynchronous event) or unexpected: Lambda retries.
      if (error instanceof RetryableJobError) log.warn('job handed back for a retry', { code: error.failure.code, detail: error.failure.detail });
      else if (error instanceof JobBusyError) log.warn('job busy elsewhere; delivery left for a retry');
      else log.error('job not finished', { error });
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
