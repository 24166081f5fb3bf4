/**
 * `fetchFailures`: the fetch function's on-failure destination. Lambda invokes it with its
 * invocation record once it has given up on a worker event; the job is recorded failed and the
 * record forwarded to the failure queue. Throws when it cannot, so Lambda retries it (and, that
 * failing too, puts the record straight into the queue).
 */
import { createDynamoDbClient, createS3Client, createSqsClient } from '../lib/core/aws-clients';
import { recordAbandonedJob, type AbandonedJob, type AbandonedJobDeps } from '../lib/use-cases/abandoned-jobs';
import { ConfigError, loadConfig, type Config } from '../lib/core/config';
import { createLogger, invocationFields } from '../lib/core/logger';
import { count, createMetrics, flushMetrics, METRIC, type Metrics } from '../lib/core/metrics';
import type { Context } from 'aws-lambda';

export function createFetchFailuresHandler(deps: Omit<AbandonedJobDeps, 'log'> & { config: Pick<Config, 'logLevel' | 'stage'>; metrics?: Metrics }) {
  const metrics = deps.metrics ?? createMetrics('fetchFailures', deps.config.stage, deps.config.logLevel);
  return async (record: unknown, context: Pick<Context, 'awsRequestId'>): Promise<AbandonedJob> => {
    const log = createLogger({ ...invocationFields('fetchFailures', context), invocation_id: context.awsRequestId }, deps.config.logLevel);
    try {
      const abandoned = await recordAbandonedJob(record, { ...deps, log });
      if (abandoned.recordedFailed) count(metrics, METRIC.jobsAbandoned);
      return abandoned;
    } finally {
      flushMetrics(metrics);
    }
  };
}

// Cold start: configuration validated and clients built once per container.
const config = loadConfig();
if (!config.failuresQueueUrl) throw new ConfigError('FETCH_FAILURES_QUEUE_URL', 'is required by fetchFailures but not set.');
export const handler = createFetchFailuresHandler({
  config,
  jobs: { dynamodb: createDynamoDbClient(config), table: config.jobsTable, ttlSeconds: config.jobTtlSeconds, now: () => new Date() },
  sqs: createSqsClient(config),
  queueUrl: config.failuresQueueUrl,
  s3: createS3Client(config),
  bucket: config.packagesBucket,
  versionsTable: config.versionsTable,
});
