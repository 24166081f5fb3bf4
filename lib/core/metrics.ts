/**
 * The service's metrics, in CloudWatch's embedded metric format through Powertools for AWS Lambda
 * (one JSON line per flush in the function's log; CloudWatch turns it into metrics, no API
 * call). One namespace; every metric has the dimensions `service`, `function` and `stage`, and
 * the per-code ones also `Code` (or `Reason`). The names below are documented in docs/operations.md
 * ("Metrics") and drawn on the dashboard: change them together.
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { LOCAL_STAGE } from './config';
import { SERVICE_NAME, type LogLevel } from './logger';

export const METRICS_NAMESPACE = 'BkpaasSourcePackageLink';

export const METRIC = {
  /** link: one per answered request, dimension Code (OK, ACCEPTED, or the error code). */
  linkRequests: 'LinkRequests',
  /** link: how long a synchronous request waited for its job (ms). */
  syncWait: 'SyncWait',
  /** fetch: jobs that ended, succeeded or failed (dimension Code). */
  jobsSucceeded: 'JobsSucceeded',
  jobsFailed: 'JobsFailed',
  /** fetch: of each package stored. */
  packageBytes: 'PackageBytes',
  downloadDuration: 'DownloadDuration',
  downloadThroughput: 'DownloadThroughput',
  uploadDuration: 'UploadDuration',
  archiveEntries: 'ArchiveEntries',
  /** fetch: deliveries a job needed beyond its first, when it ended. */
  retriesTaken: 'RetriesTaken',
  /** fetch: a job's end that could not be put on the event bus after every attempt. */
  eventsNotPublished: 'EventsNotPublished',
  /** authorize: refused tokens, dimension Reason. */
  authorizerRefusals: 'AuthorizerRefusals',
  /** fetchFailures: jobs Lambda gave up on. */
  jobsAbandoned: 'JobsAbandoned',
} as const;

export type { Metrics };

// Metrics made at a level above info in the local stage: their lines are log lines there, and
// LOG_LEVEL=warn asks for fewer lines. A deployed stage writes them whatever the level, because
// the dashboard and the alarms read nothing else (docs/operations.md#logs): turning the log down,
// or Lambda's AWS_LAMBDA_LOG_LEVEL, must not silence an alarm.
const quiet = new WeakSet<Metrics>();

/** One per function and container; flushed at the end of every invocation. */
export function createMetrics(functionKey: string, stage: string, logLevel: LogLevel = 'info'): Metrics {
  const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME, defaultDimensions: { function: functionKey, stage } });
  if (stage === LOCAL_STAGE && logLevel !== 'debug' && logLevel !== 'info') quiet.add(metrics);
  return metrics;
}

/** Writes what this invocation recorded (Powertools would warn about an empty flush). */
export function flushMetrics(metrics: Metrics): void {
  if (!metrics.hasStoredMetrics()) return;
  if (quiet.has(metrics)) metrics.clearMetrics();
  else metrics.publishStoredMetrics();
}

// One single-metric instance per Metrics, reused: building one reads a dozen environment variables
// and was a quarter of link's own CPU per request (bench part 2). It publishes on addMetric and
// then forgets its dimension, so reuse is safe while the function serves one request at a time.
const singles = new WeakMap<Metrics, Metrics>();

/** A count under one more dimension, published at once (its dimensions differ from the rest). */
export function countBy(metrics: Metrics, name: string, dimension: 'Code' | 'Reason', value: string): void {
  if (quiet.has(metrics)) return;
  let single = singles.get(metrics);
  if (!single) {
    single = metrics.singleMetric();
    singles.set(metrics, single);
  }
  single.addDimension(dimension, value);
  single.addMetric(name, MetricUnit.Count, 1);
}

/** An HTTP answer's outcome as the LinkRequests dimension: OK, ACCEPTED, or its error code. */
export function outcomeOf(answer: { statusCode: number; headers: Record<string, string> }): string {
  if (answer.statusCode === 200) return 'OK';
  if (answer.statusCode === 202) return 'ACCEPTED';
  return answer.headers['bkapi-error-code'] ?? String(answer.statusCode);
}

export function count(metrics: Metrics, name: string, value = 1): void {
  metrics.addMetric(name, MetricUnit.Count, value);
}

export function milliseconds(metrics: Metrics, name: string, value: number): void {
  metrics.addMetric(name, MetricUnit.Milliseconds, Math.max(0, Math.round(value)));
}

export function bytes(metrics: Metrics, name: string, value: number): void {
  metrics.addMetric(name, MetricUnit.Bytes, value);
}

export function bytesPerSecond(metrics: Metrics, name: string, value: number): void {
  metrics.addMetric(name, MetricUnit.BytesPerSecond, Math.round(value));
}
