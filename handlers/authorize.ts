/**
 * API Gateway REQUEST authorizer for every route: checks X-BKAPI-AUTHORIZATION against the
 * token store and hands its verdict to the function in the request context. API Gateway caches
 * the answer per header value for AUTHORIZER_CACHE_TTL seconds: that is the revocation delay.
 *
 * A refused token is allowed through with a "false" verdict, which `link` turns into our own
 * 401 body: API Gateway's deny responses cannot carry the per-case detail the contract asks for.
 */
import type { APIGatewayAuthorizerResult, APIGatewayRequestAuthorizerEvent, Context } from 'aws-lambda';
import { authenticate, AUTH_HEADER, verdictFor, type TokenCheckDeps } from '../lib/auth';
import { createDynamoDbClient } from '../lib/aws-clients';
import { loadConfig, type Config } from '../lib/config';
import { UnauthenticatedError } from '../lib/errors';
import { createLogger } from '../lib/logger';

/** The whole API and stage, so that one cached answer serves every route. */
function apiWideResource(methodArn: string): string {
  const [apiArn = methodArn, stage = '*'] = methodArn.split('/');
  return `${apiArn}/${stage}/*`;
}

function headerValue(headers: Record<string, string | undefined> | null, name: string): string | undefined {
  for (const [key, value] of Object.entries(headers ?? {})) if (key.toLowerCase() === name) return value;
  return undefined;
}

export function createAuthorizeHandler(deps: TokenCheckDeps & { config: Pick<Config, 'logLevel'> }) {
  return async (event: APIGatewayRequestAuthorizerEvent, context?: Pick<Context, 'awsRequestId'>): Promise<APIGatewayAuthorizerResult> => {
    // The API Gateway request id ties this line to the function's own lines for the same request.
    const log = createLogger(
      { function: 'authorize', request_id: event.requestContext?.requestId, invocation_id: context?.awsRequestId },
      deps.config.logLevel,
    );
    let outcome;
    try {
      outcome = await authenticate(headerValue(event.headers, AUTH_HEADER), deps);
      log.info('token accepted', { principal: outcome.principal, token_id: outcome.tokenId });
    } catch (error) {
      // Anything else (the token store down) fails the authorizer: API Gateway answers 5xx and caches nothing.
      if (!(error instanceof UnauthenticatedError)) throw error;
      outcome = error;
      log.info('token refused', { detail: error.detail });
    }
    return {
      principalId: outcome instanceof UnauthenticatedError ? 'anonymous' : outcome.principal,
      policyDocument: {
        Version: '2012-10-17',
        Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: apiWideResource(event.methodArn) }],
      },
      context: { ...verdictFor(outcome) },
    };
  };
}

const config = loadConfig();
export const handler = createAuthorizeHandler({
  config,
  dynamodb: createDynamoDbClient(config),
  tokensTable: config.tokensTable,
  now: () => new Date(),
});
