/**
 * `fetchFailures`: the fetch function's on-failure destination. Lambda invokes it with its
 * invocation record once it has given up on a worker event; the job is recorded failed and the
 * record forwarded to the failure queue. Throws when it cannot, so Lambda retries it (and, that
 * failing too, puts the record straight into the queue). Part of the worker: a job it ends is
 * announced on the worker's bus, and a job end not published is counted as the worker's
 * (`EventsNotPublished` under `function=fetch`, the one alarm: docs/operations.md#alarms).
 */
import { createDynamoDbClient, createEventBridgeClient, createS3Client, createSqsClient } from '../lib/core/aws-clients';
import { recordAbandonedJob, type AbandonedJob, type AbandonedJobDeps } from '../lib/use-cases/abandoned-jobs';
import { ConfigError, loadConfig, type Config } from '../lib/core/config';
import { createLogger, invocationFields } from '../lib/core/logger';
import { count, createMetrics, flushMetrics, METRIC, type Metrics } from '../lib/core/metrics';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { Context } from 'aws-lambda';

type Deps = Omit<AbandonedJobDeps, 'log' | 'events'> & {
  config: Pick<Config, 'logLevel' | 'stage' | 'eventBusName'>;
  /** Absent, no job end is announced (tests not about events). */
  events?: EventBridgeClient;
  metrics?: Metrics;
  /** The worker's own metrics (`function=fetch`), where `EventsNotPublished` is counted. */
  workerMetrics?: Metrics;
};

export function createFetchFailuresHandler(deps: Deps) {
  const { config, events, ...rest } = deps;
  const metrics = deps.metrics ?? createMetrics('fetchFailures', config.stage, config.logLevel);
  const workerMetrics = deps.workerMetrics ?? createMetrics('fetch', config.stage, config.logLevel);
  return async (record: unknown, context: Pick<Context, 'awsRequestId'>): Promise<AbandonedJob> => {
    const log = createLogger({ ...invocationFields('fetchFailures', context), invocation_id: context.awsRequestId }, config.logLevel);
    try {
      const announced = events ? { events: { events, busName: config.eventBusName, metrics: workerMetrics } } : {};
      const abandoned = await recordAbandonedJob(record, { ...rest, ...announced, log });
      if (abandoned.recordedFailed) count(metrics, METRIC.jobsAbandoned);
      return abandoned;
    } finally {
      flushMetrics(metrics);
      flushMetrics(workerMetrics);
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
  events: createEventBridgeClient(config),
});
