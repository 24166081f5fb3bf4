/**
 * API Gateway → `link`: adapt the event, run the link upload, shape the answer.
 */
import type { Context } from 'aws-lambda';
import { adaptApiEvent, type ApiEventLike } from '../lib/http/api-event';
import { createDynamoDbClient, createLambdaClient } from '../lib/core/aws-clients';
import { loadConfig } from '../lib/core/config';
import { errorResponse, jobResponse, type HttpResponse } from '../lib/http/http-response';
import { linkUpload, type LinkDeps } from '../lib/use-cases/link-upload';
import { createLogger, invocationFields } from '../lib/core/logger';
import { countBy, createMetrics, flushMetrics, METRIC, milliseconds, outcomeOf, type Metrics } from '../lib/core/metrics';

type LinkContext = Pick<Context, 'awsRequestId' | 'getRemainingTimeInMillis'> & Partial<Pick<Context, 'functionName' | 'invokedFunctionArn' | 'memoryLimitInMB'>>;

/** Tests build the handler with their own clients; Lambda gets the one built at cold start. */
export function createLinkHandler(deps: Omit<LinkDeps, 'log' | 'remainingTimeMs'> & { metrics?: Metrics }) {
  const metrics = deps.metrics ?? createMetrics('link', deps.config.stage, deps.config.logLevel);
  return async (event: ApiEventLike, context: LinkContext): Promise<HttpResponse> => {
    let log = createLogger({ ...invocationFields('link', context), request_id: context.awsRequestId }, deps.config.logLevel);
    let answer: HttpResponse;
    try {
      const request = adaptApiEvent(event, context.awsRequestId);
      log = log.child({ request_id: request.requestId });
      const outcome = await linkUpload(request, { ...deps, log, remainingTimeMs: () => context.getRemainingTimeInMillis() });
      if (outcome.waitedMs !== undefined) milliseconds(metrics, METRIC.syncWait, outcome.waitedMs);
      answer = jobResponse(outcome.view, outcome.jobUrl, log);
    } catch (error) {
      answer = errorResponse(error, log);
    }
    countBy(metrics, METRIC.linkRequests, 'Code', outcomeOf(answer));
    flushMetrics(metrics);
    return answer;
  };
}

// Cold start: configuration validated and clients built once per container.
const config = loadConfig();
export const handler = createLinkHandler({
  config,
  dynamodb: createDynamoDbClient(config),
  lambda: createLambdaClient(config),
  now: () => new Date(),
});
