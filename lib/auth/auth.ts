/**
 * Who is calling (docs/api.md#base-url-and-authentication): `X-BKAPI-AUTHORIZATION: {"access_token": "..."}` checked against
 * the token store, either by the API Gateway authorizer (whose verdict reaches `link` in the
 * request context) or, when no verdict is there, by `link` itself by the same rules.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { APIGatewayAuthorizerResult } from 'aws-lambda';
import type { ApiRequest } from '../http/api-event';
import type { Config } from '../core/config';
import { PermissionDeniedError, UnauthenticatedError } from '../core/errors';
import { findToken, isAllowedOn } from './token-store';

export const AUTH_HEADER = 'x-bkapi-authorization';

export interface Caller {
  principal: string;
  tokenId: string;
  apps: string[];
}

/** The access token inside the header; other keys (bk_app_code, bk_username, …) are ignored. */
export function parseAuthorizationHeader(value: string | undefined): string {
  if (value === undefined || value.trim() === '') {
    throw new UnauthenticatedError('The X-BKAPI-AUTHORIZATION header is missing.', { reason: 'missing' });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new UnauthenticatedError('The X-BKAPI-AUTHORIZATION header is not valid JSON.', { reason: 'malformed' });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new UnauthenticatedError('The X-BKAPI-AUTHORIZATION header must be a JSON object.', { reason: 'malformed' });
  }
  const token = (parsed as Record<string, unknown>).access_token;
  if (token === undefined) throw new UnauthenticatedError('The X-BKAPI-AUTHORIZATION header has no access_token.', { reason: 'malformed' });
  if (typeof token !== 'string' || token.trim() === '') {
    throw new UnauthenticatedError('The access_token in X-BKAPI-AUTHORIZATION must be a non-empty string.', { reason: 'malformed' });
  }
  return token.trim();
}

export interface TokenCheckDeps {
  dynamodb: DynamoDBClient;
  tokensTable: string;
  now: () => Date;
}

/** Verifies the header against the token store: unknown, expired and revoked tokens are refused. */
export async function authenticate(headerValue: string | undefined, deps: TokenCheckDeps): Promise<Caller> {
  const token = parseAuthorizationHeader(headerValue);
  const record = await findToken(deps.dynamodb, deps.tokensTable, token);
  if (!record) throw new UnauthenticatedError('The access token is not recognised.', { reason: 'unknown' });
  if (record.revoked) throw new UnauthenticatedError('The access token has been revoked.', { reason: 'revoked' });
  if (record.expires !== undefined && Date.parse(record.expires) <= deps.now().getTime()) {
    throw new UnauthenticatedError('The access token has expired.', { reason: 'expired' });
  }
  return { principal: record.principal, tokenId: record.tokenId, apps: record.apps };
}

export function assertAllowedOn(caller: Caller, code: string): void {
  if (!isAllowedOn(caller, code)) {
    throw new PermissionDeniedError(`This access token may not act on application "${code}".`);
  }
}

/**
 * The authorizer's verdict as API Gateway hands it to `link`: context values are strings.
 * `authenticated` is our own marker, so a context without it (a placeholder principal some
 * emulators fill in when no authorizer ran) counts as no verdict at all.
 */
export interface AuthorizerVerdict {
  authenticated: 'true' | 'false';
  principal?: string;
  token_id?: string;
  apps?: string;
  code?: string;
  detail?: string;
}

export function verdictFor(outcome: Caller | UnauthenticatedError): AuthorizerVerdict {
  if (outcome instanceof UnauthenticatedError) {
    return { authenticated: 'false', code: outcome.code, detail: outcome.detail };
  }
  return { authenticated: 'true', principal: outcome.principal, token_id: outcome.tokenId, apps: outcome.apps.join(',') };
}

/** The caller from a verdict; undefined when the context holds none. */
export function callerFromVerdict(context: unknown): Caller | undefined {
  if (typeof context !== 'object' || context === null) return undefined;
  const verdict = context as Record<string, unknown>;
  if (verdict.authenticated === 'false') {
    throw new UnauthenticatedError(typeof verdict.detail === 'string' ? verdict.detail : 'The access token is not valid.');
  }
  if (verdict.authenticated !== 'true') return undefined;
  const { principal, token_id: tokenId, apps } = verdict;
  if (typeof principal !== 'string' || typeof tokenId !== 'string' || typeof apps !== 'string') return undefined;
  return { principal, tokenId, apps: apps.split(',').filter(Boolean) };
}

/** The whole API and stage, so that one cached answer serves every route. */
function apiWideResource(methodArn: string): string {
  const [apiArn = methodArn, stage = '*'] = methodArn.split('/');
  return `${apiArn}/${stage}/*`;
}

/** The authorizer's answer: always Allow, with the verdict (accepted or refused) in the context. */
export function authorizerAnswer(outcome: Caller | UnauthenticatedError, methodArn: string): APIGatewayAuthorizerResult {
  return {
    principalId: outcome instanceof UnauthenticatedError ? 'anonymous' : outcome.principal,
    policyDocument: {
      Version: '2012-10-17',
      Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow' as const, Resource: apiWideResource(methodArn) }],
    },
    context: { ...verdictFor(outcome) },
  };
}

export interface IdentifyDeps {
  dynamodb: DynamoDBClient;
  config: Pick<Config, 'tokensTable'>;
  now: () => Date;
}

/**
 * The authorizer's verdict when API Gateway ran it; otherwise (a direct invocation: a console
 * test, the Lambda API) the header is checked here by the same rules. A missing verdict never
 * means allowed.
 */
export async function identifyCaller(request: Pick<ApiRequest, 'headers' | 'authorizer'>, deps: IdentifyDeps): Promise<Caller> {
  const fromAuthorizer = callerFromVerdict(request.authorizer);
  return (
    fromAuthorizer ??
    authenticate(request.headers[AUTH_HEADER], { dynamodb: deps.dynamodb, tokensTable: deps.config.tokensTable, now: deps.now })
  );
}
