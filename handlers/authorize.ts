/**
 * API Gateway REQUEST authorizer for every route: checks X-BKAPI-AUTHORIZATION against the
 * token store and hands its verdict to the function in the request context. API Gateway caches
 * the answer per header value for AUTHORIZER_CACHE_TTL seconds: that is the revocation delay.
 *
 * A refused token is allowed through with a "false" verdict, which `link` turns into our own
 * 401 body: API Gateway's deny responses cannot carry the per-case detail the contract asks for.
 */
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent, Context } from 'aws-lambda';
import { authenticate, authorizerAnswer, AUTH_HEADER, type TokenCheckDeps } from '../lib/auth/auth';
import { createDynamoDbClient } from '../lib/core/aws-clients';
import { loadConfig, type Config } from '../lib/core/config';
import { UnauthenticatedError } from '../lib/core/errors';
import { createLogger, invocationFields } from '../lib/core/logger';
import { countBy, createMetrics, flushMetrics, METRIC, type Metrics } from '../lib/core/metrics';

function headerValue(headers: Record<string, string | undefined> | null, name: string): string | undefined {
  for (const [key, value] of Object.entries(headers ?? {})) if (key.toLowerCase() === name) return value;
  return undefined;
}

export function createAuthorizeHandler(deps: TokenCheckDeps & { config: Pick<Config, 'logLevel' | 'stage'>; metrics?: Metrics }) {
  const metrics = deps.metrics ?? createMetrics('authorize', deps.config.stage, deps.config.logLevel);
  return async (event: APIGatewayRequestAuthorizerEvent, context: Pick<Context, 'awsRequestId'> = { awsRequestId: '' }): Promise<APIGatewayAuthorizerResult> => {
    // The API Gateway request id ties this line to the function's own lines for the same request.
    const log = createLogger({ ...invocationFields('authorize', context), request_id: event.requestContext?.requestId }, deps.config.logLevel);
    try {
      const caller = await authenticate(headerValue(event.headers, AUTH_HEADER), deps);
      log.info('token accepted', { principal: caller.principal, token_id: caller.tokenId });
      return authorizerAnswer(caller, event.methodArn);
    } catch (error) {
      // Anything else (the token store down) fails the authorizer: API Gateway answers 5xx and caches nothing.
      if (!(error instanceof UnauthenticatedError)) throw error;
      log.info('token refused', { detail: error.detail, reason: error.reason });
      countBy(metrics, METRIC.authorizerRefusals, 'Reason', error.reason);
      return authorizerAnswer(error, event.methodArn);
    } finally {
      flushMetrics(metrics);
    }
  };
}

const config = loadConfig();
export const handler = createAuthorizeHandler({
  config,
  dynamodb: createDynamoDbClient(config),
  tokensTable: config.tokensTable,
  now: () => new Date(),
});
