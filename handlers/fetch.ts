/**
 * `fetch` worker: invoked by `link` (an Event invocation), by Lambda's retries and `npm run
 * redrive`, or from the console. Answers the job's view; throws only what Lambda should retry.
 */
import type { Context } from 'aws-lambda';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { createDynamoDbClient, createEventBridgeClient, createS3Client } from '../lib/core/aws-clients';
import { loadConfig } from '../lib/core/config';
import { createLogger, invocationFields, SERVICE_NAME } from '../lib/core/logger';
import { createMetrics, flushMetrics } from '../lib/core/metrics';
import type { FetchResult } from '../lib/jobs/fetch-contract';
import { answerFetchEvent } from '../lib/use-cases/fetch-invocation';
import type { WorkerDeps } from '../lib/use-cases/register-package';

type FetchContext = Pick<Context, 'awsRequestId' | 'getRemainingTimeInMillis'> & Partial<Pick<Context, 'functionName' | 'invokedFunctionArn' | 'memoryLimitInMB'>>;

/** Tests build the handler with their own clients; Lambda gets the one built at cold start. */
export function createFetchHandler(deps: Omit<WorkerDeps, 'log' | 'remainingTimeMs'>) {
  const metrics = deps.metrics ?? createMetrics('fetch', deps.config.stage, deps.config.logLevel);
  return async (event: unknown, context: FetchContext): Promise<FetchResult> => {
    const log = createLogger({ ...invocationFields('fetch', context), invocation_id: context.awsRequestId }, deps.config.logLevel);
    try {
      return await answerFetchEvent(event, { requestId: context.awsRequestId, remainingTimeMs: () => context.getRemainingTimeInMillis(), log }, { ...deps, metrics });
    } finally {
      flushMetrics(metrics);
    }
  };
}

// Cold start: configuration validated and clients built once per container. The worker's SDK
// calls show in X-Ray as subsegments: the tracer's ~130 KB and ~15 ms of init are nothing next
// to a job of seconds or minutes (the API's functions, where they would not be, go without).
function coldStart(): ReturnType<typeof createFetchHandler> {
  const config = loadConfig();
  const tracer = new Tracer({ serviceName: SERVICE_NAME });
  return createFetchHandler({
    config,
    s3: tracer.captureAWSv3Client(createS3Client(config)),
    dynamodb: tracer.captureAWSv3Client(createDynamoDbClient(config)),
    events: tracer.captureAWSv3Client(createEventBridgeClient(config)),
    now: () => new Date(),
  });
}

export const handler = coldStart();
