/**
 * API Gateway → `packages`: the read endpoints. Routes by method and path parameters, runs one
 * lib function, shapes the answer.
 */
import type { Context } from 'aws-lambda';
import { adaptApiEvent, type ApiEventLike } from '../lib/http/api-event';
import { createDynamoDbClient, createS3Client } from '../lib/core/aws-clients';
import { loadConfig, signingKeyOf } from '../lib/core/config';
import { MethodNotAllowedError } from '../lib/core/errors';
import { errorResponse, jsonResponse, noContentResponse, type HttpResponse } from '../lib/http/http-response';
import { createLogger, invocationFields } from '../lib/core/logger';
import { deletePackage, getPackage, listPackages, type PackagesDeps } from '../lib/use-cases/package-reads';

type PackagesContext = Pick<Context, 'awsRequestId'>;

/** Tests build the handler with their own clients; Lambda gets the one built at cold start. */
export function createPackagesHandler(deps: Omit<PackagesDeps, 'log'>) {
  return async (event: ApiEventLike, context: PackagesContext): Promise<HttpResponse> => {
    let log = createLogger({ ...invocationFields('packages', context), request_id: context.awsRequestId }, deps.config.logLevel);
    try {
      const request = adaptApiEvent(event, context.awsRequestId);
      log = log.child({ request_id: request.requestId, method: request.method });
      const withVersion = request.pathParameters.version !== undefined;
      if (request.method === 'GET' && !withVersion) return jsonResponse(200, await listPackages(request, { ...deps, log }));
      if (request.method === 'GET') return jsonResponse(200, await getPackage(request, { ...deps, log }));
      if (request.method === 'DELETE' && withVersion) {
        await deletePackage(request, { ...deps, log });
        return noContentResponse();
      }
      throw new MethodNotAllowedError(request.method || '(no method)', withVersion ? ['GET', 'DELETE'] : ['GET']);
    } catch (error) {
      return errorResponse(error, log);
    }
  };
}

// Cold start: configuration validated and clients built once per container.
const config = loadConfig();
// This function pages through listings: without its cursor key it fails here, not on a request.
signingKeyOf(config);
export const handler = createPackagesHandler({
  config,
  dynamodb: createDynamoDbClient(config),
  s3: createS3Client(config),
  now: () => new Date(),
});
