/**
 * `GET .../source_package/link/jobs/{job_id}/`: one link job (state, progress, error or
 * package); `GET .../source_package/link/jobs/`: the module's jobs. Authorized like the link route.
 */
import type { Context } from 'aws-lambda';
import { adaptApiEvent, type ApiEventLike } from '../lib/http/api-event';
import { createDynamoDbClient } from '../lib/core/aws-clients';
import { loadConfig, signingKeyOf } from '../lib/core/config';
import { errorResponse, jsonResponse, type HttpResponse } from '../lib/http/http-response';
import { jobStatus, listModuleJobs, type JobStatusDeps } from '../lib/use-cases/job-status';
import { createLogger, invocationFields } from '../lib/core/logger';

type StatusContext = Pick<Context, 'awsRequestId'>;

export function createJobStatusHandler(deps: JobStatusDeps) {
  return async (event: ApiEventLike, context: StatusContext): Promise<HttpResponse> => {
    let log = createLogger({ ...invocationFields('jobStatus', context), request_id: context.awsRequestId }, deps.config.logLevel);
    try {
      const request = adaptApiEvent(event, context.awsRequestId);
      log = log.child({ request_id: request.requestId });
      const answer = request.pathParameters.job_id === undefined ? await listModuleJobs(request, deps) : await jobStatus(request, deps);
      return jsonResponse(200, answer);
    } catch (error) {
      return errorResponse(error, log);
    }
  };
}

// Cold start: configuration validated and clients built once per container.
const config = loadConfig();
// This function pages through listings: without its cursor key it fails here, not on a request.
signingKeyOf(config);
export const handler = createJobStatusHandler({ config, dynamodb: createDynamoDbClient(config), now: () => new Date() });
