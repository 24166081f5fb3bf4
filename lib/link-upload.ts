/**
 * The `link` function's job (DESIGN §4): authenticate, parse, validate, answer 409 at once
 * when the version exists and may not be overwritten, else hand the download to the worker.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { ApiRequest } from './api-event';
import { assertAllowedOn, AUTH_HEADER, authenticate, callerFromVerdict, type Caller } from './auth';
import type { Config } from './config';
import { PackageAlreadyExistsError, PayloadTooLargeError } from './errors';
import { toFetchEvent } from './fetch-contract';
import { invokeFetch } from './fetch-invoker';
import { parseForm } from './form-parser';
import { validateLinkRequest } from './link-request';
import type { Logger } from './logger';
import { redactUrl } from './logger';
import type { PackageResponse } from './package-record';
import { getVersion } from './version-records';

export interface LinkDeps {
  dynamodb: DynamoDBClient;
  lambda: LambdaClient;
  config: Config;
  log: Logger;
  now: () => Date;
  /** Milliseconds the invocation has left; the worker call must end before it does. */
  remainingTimeMs: () => number;
}

// Time kept back to shape and send the answer after the worker call gives up.
const ANSWER_MARGIN_MS = 1_000;

/**
 * The authorizer's verdict when API Gateway ran it; otherwise (a direct invocation, the local
 * stage) the header is checked here by the same rules. A missing verdict never means allowed.
 */
async function identifyCaller(request: ApiRequest, deps: LinkDeps): Promise<Caller> {
  const fromAuthorizer = deps.config.trustAuthorizerContext ? callerFromVerdict(request.authorizer) : undefined;
  return (
    fromAuthorizer ??
    authenticate(request.headers[AUTH_HEADER], { dynamodb: deps.dynamodb, tokensTable: deps.config.tokensTable, now: deps.now })
  );
}

export async function linkUpload(request: ApiRequest, deps: LinkDeps): Promise<PackageResponse> {
  const { config } = deps;
  const caller = await identifyCaller(request, deps);
  assertAllowedOn(caller, request.pathParameters.code ?? '');
  if (request.body.length > config.maxRequestBodyBytes) throw new PayloadTooLargeError(config.maxRequestBodyBytes);

  const fields = await parseForm(request.headers['content-type'], request.body);
  const link = validateLinkRequest(request.pathParameters, fields);
  const log = deps.log.child({
    principal: caller.principal,
    token_id: caller.tokenId,
    code: link.code,
    module: link.module,
    version: link.version,
  });
  log.info('link upload requested', { package_url: redactUrl(link.packageUrl), allow_overwrite: link.allowOverwrite });

  if (!link.allowOverwrite) {
    const existing = await getVersion(deps.dynamodb, config.versionsTable, link);
    if (existing) throw new PackageAlreadyExistsError(link.version);
  }

  const stored = await invokeFetch(
    deps.lambda,
    config.fetchFunctionName,
    toFetchEvent({ ...link, requestId: request.requestId, operator: caller.principal }),
    deps.remainingTimeMs() - ANSWER_MARGIN_MS,
  );
  log.info('package registered', { package_size: stored.package_size, sha256: stored.sha256_signature });
  return stored;
}
