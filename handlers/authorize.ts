/**
 * API Gateway REQUEST authorizer for every route: checks X-BKAPI-AUTHORIZATION against the
 * token store and hands its verdict to the function in the request context. API Gateway caches
 * the answer per header value for AUTHORIZER_CACHE_TTL seconds: that is the revocation delay.
 *
 * A refused token is allowed through with a "false" verdict, which `link` turns into our own
 * 401 body: API Gateway's deny responses cannot carry the per-case detail the contract asks for.
 * An event that is not API Gateway's (no methodArn) is refused with `Unauthorized`, API Gateway's
 * word for a 401, and the log says what it lacks.
 */
import type { APIGatewayAuthorizerResult, Context } from 'aws-lambda';
import { authenticate, authorizerAnswer, AUTH_HEADER, type TokenCheckDeps } from '../lib/auth/auth';
import { readAuthorizerEvent } from '../lib/auth/authorizer-event';
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
  return async (event: unknown, context: Pick<Context, 'awsRequestId'> = { awsRequestId: '' }): Promise<APIGatewayAuthorizerResult> => {
    const request = readAuthorizerEvent(event);
    // The API Gateway request id ties this line to the function's own lines for the same request.
    const log = createLogger({ ...invocationFields('authorize', context), request_id: 'problem' in request ? undefined : request.requestId }, deps.config.logLevel);
    if ('problem' in request) {
      log.warn('event refused', { detail: request.problem });
      throw new Error('Unauthorized');
    }
    try {
      const caller = await authenticate(headerValue(request.headers, AUTH_HEADER), deps);
      log.info('token accepted', { principal: caller.principal, token_id: caller.tokenId });
      return authorizerAnswer(caller, request.methodArn);
    } catch (error) {
      // Anything else (the token store down) fails the authorizer: API Gateway answers 5xx and caches nothing.
      if (!(error instanceof UnauthenticatedError)) throw error;
      log.info('token refused', { detail: error.detail, reason: error.reason });
      countBy(metrics, METRIC.authorizerRefusals, 'Reason', error.reason);
      return authorizerAnswer(error, request.methodArn);
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
