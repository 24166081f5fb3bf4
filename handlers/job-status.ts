/**
 * `GET .../source_package/link/jobs/{job_id}/`: the state of a link job, its error when it
 * failed, and the package when it succeeded. Authorized like the link route.
 */
import type { Context } from 'aws-lambda';
import { adaptApiEvent, type ApiEventLike } from '../lib/api-event';
import { createDynamoDbClient } from '../lib/aws-clients';
import { loadConfig, type Config } from '../lib/config';
import { errorResponse, jsonResponse, type HttpResponse } from '../lib/http-response';
import { jobStatus } from '../lib/job-status';
import { createLogger } from '../lib/logger';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';

type StatusContext = Pick<Context, 'awsRequestId'>;

export function createJobStatusHandler(deps: { config: Config; dynamodb: DynamoDBClient; now: () => Date }) {
  return async (event: ApiEventLike, context: StatusContext): Promise<HttpResponse> => {
    let log = createLogger({ function: 'jobStatus', request_id: context.awsRequestId }, deps.config.logLevel);
    try {
      const request = adaptApiEvent(event, context.awsRequestId);
      log = log.child({ request_id: request.requestId });
      return jsonResponse(200, await jobStatus(request, deps));
    } catch (error) {
      return errorResponse(error, log);
    }
  };
}

// Cold start: configuration validated and clients built once per container.
const config = loadConfig();
export const handler = createJobStatusHandler({ config, dynamodb: createDynamoDbClient(config), now: () => new Date() });
