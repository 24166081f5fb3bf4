/**
 * What the authorizer reads of API Gateway's REQUEST authorizer event: the method's ARN (the
 * answer's policy names its API and stage) and the headers. API Gateway always sends both; an
 * event without them (a hand-made test event, another trigger) is named by what it lacks, so the
 * handler can refuse it the way API Gateway expects: `Unauthorized`, never a TypeError.
 */
import type { APIGatewayRequestAuthorizerEvent } from 'aws-lambda';

export interface AuthorizerRequest {
  methodArn: string;
  headers: Record<string, string | undefined>;
  requestId: string | undefined;
}

/** The event as the authorizer reads it, or what it lacks (`problem`). */
export function readAuthorizerEvent(event: unknown): AuthorizerRequest | { problem: string } {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) {
    return { problem: `the event is ${event === null ? 'null' : Array.isArray(event) ? 'an array' : typeof event}, not an API Gateway REQUEST authorizer event (an object)` };
  }
  const { methodArn, headers, requestContext } = event as Partial<APIGatewayRequestAuthorizerEvent>;
  if (typeof methodArn !== 'string' || !/^arn:[^:]+:execute-api:[^:]*:[^:]*:[^/]+\/[^/]+\//.test(methodArn)) {
    return { problem: `${methodArn === undefined ? 'methodArn is missing' : 'methodArn is not an execute-api method ARN'}: API Gateway sends arn:aws:execute-api:REGION:ACCOUNT:API/STAGE/METHOD/PATH` };
  }
  if (headers !== undefined && headers !== null && (typeof headers !== 'object' || Array.isArray(headers))) {
    return { problem: 'headers is not an object of header names to values' };
  }
  return { methodArn, headers: headers ?? {}, requestId: typeof requestContext?.requestId === 'string' ? requestContext.requestId : undefined };
}
