/**
 * Reads one link job for its owner: the job must belong to the application and module in the
 * path, so a job id from elsewhere reveals nothing.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { assertMethod, type ApiRequest } from './api-event';
import { assertAllowedOn, identifyCaller } from './auth';
import type { Config } from './config';
import { JobNotFoundError } from './errors';
import { jobView, type JobView } from './fetch-contract';
import { getJob } from './jobs';

export async function jobStatus(request: ApiRequest, deps: { config: Config; dynamodb: DynamoDBClient; now: () => Date }): Promise<JobView> {
  assertMethod(request, ['GET']);
  const caller = await identifyCaller(request, deps);
  const code = request.pathParameters.code ?? '';
  assertAllowedOn(caller, code);
  const jobId = request.pathParameters.job_id ?? '';
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(jobId)) throw new JobNotFoundError(jobId.slice(0, 128));
  const job = await getJob({ dynamodb: deps.dynamodb, table: deps.config.jobsTable, ttlSeconds: deps.config.jobTtlSeconds, now: deps.now }, jobId);
  if (!job || job.event.code !== code || job.event.module !== request.pathParameters.module_name) throw new JobNotFoundError(jobId);
  return jobView(job);
}
