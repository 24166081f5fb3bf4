/**
 * The `link` function's job (DESIGN §4): authenticate, parse, validate, answer 409 at once
 * when the version exists and may not be overwritten, else hand the download to the worker.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { ApiRequest } from './api-event';
import { AUTH_HEADER, authenticate } from './auth';
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
  /** Milliseconds the invocation has left; the worker call must end before it does. */
  remainingTimeMs: () => number;
}

// Time kept back to shape and send the answer after the worker call gives up.
const ANSWER_MARGIN_MS = 1_000;

export async function linkUpload(request: ApiRequest, deps: LinkDeps): Promise<PackageResponse> {
  const { config } = deps;
  authenticate(request.headers[AUTH_HEADER], config.accessTokenSha256s);
  if (request.body.length > config.maxRequestBodyBytes) throw new PayloadTooLargeError(config.maxRequestBodyBytes);

  const fields = await parseForm(request.headers['content-type'], request.body);
  const link = validateLinkRequest(request.pathParameters, fields);
  const log = deps.log.child({ code: link.code, module: link.module, version: link.version });
  log.info('link upload requested', { package_url: redactUrl(link.packageUrl), allow_overwrite: link.allowOverwrite });

  if (!link.allowOverwrite) {
    const existing = await getVersion(deps.dynamodb, config.versionsTable, link);
    if (existing) throw new PackageAlreadyExistsError(link.version);
  }

  const stored = await invokeFetch(
    deps.lambda,
    config.fetchFunctionName,
    toFetchEvent({ ...link, requestId: request.requestId }),
    deps.remainingTimeMs() - ANSWER_MARGIN_MS,
  );
  log.info('package registered', { package_size: stored.package_size, sha256: stored.sha256_signature });
  return stored;
}
