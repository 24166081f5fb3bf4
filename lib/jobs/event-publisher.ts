/**
 * Puts a job's end on the event bus without ever failing or holding up the job: it runs after the
 * job's final record is written, makes a few attempts with a short pause between them (a refused
 * entry, `FailedEntryCount`, counts as a failed attempt), and stops at a time budget, aborting a
 * call the bus does not answer. An attempt that timed out may still have been stored: PutEvents is
 * not idempotent, so the next one can put the event twice, and subscribers drop the repeat by the
 * detail's (`job_id`, `finished_at`) (docs/api.md#events). What could not be published is logged
 * and counted (`EventsNotPublished`, alarmed: docs/operations.md#alarms); the job's outcome stands
 * either way.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { PutEventsCommand, type EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { Logger } from '../core/logger';
import { count, METRIC, type Metrics } from '../core/metrics';
import { EVENT_SOURCE, type JobEndEvent } from './job-events';

export interface PublishDeps {
  events: EventBridgeClient;
  busName: string;
  log: Logger;
  metrics?: Metrics;
}

export interface PublishBounds {
  attempts: number;
  /** The pause before the second attempt; it doubles before each later one. */
  backoffMs: number;
  /** Everything, attempts and pauses, ends within this. */
  budgetMs: number;
}

// Three calls of a healthy bus take tens of milliseconds; 3 s bounds what a sick one can cost a job.
export const PUBLISH_BOUNDS: PublishBounds = { attempts: 3, backoffMs: 100, budgetMs: 3_000 };

// Refusals that another attempt cannot change.
const PERMANENT = new Set(['AccessDeniedException', 'ValidationException', 'ResourceNotFoundException']);

/** True when the bus took the event; never throws. */
export async function publishJobEnd(event: JobEndEvent, deps: PublishDeps, bounds: PublishBounds = PUBLISH_BOUNDS): Promise<boolean> {
  const deadline = AbortSignal.timeout(Math.max(0, bounds.budgetMs));
  const entry = {
    Source: EVENT_SOURCE,
    DetailType: event.detailType,
    Detail: JSON.stringify(event.detail),
    EventBusName: deps.busName,
    // The job's end by the worker's clock, so that every attempt (and a repeat) carries the same time.
    Time: new Date(event.detail.finished_at),
  };
  let why = 'no attempt fitted in the budget';
  for (let attempt = 1; attempt <= bounds.attempts && !deadline.aborted; attempt += 1) {
    try {
      const answer = await deps.events.send(new PutEventsCommand({ Entries: [entry] }), { abortSignal: deadline });
      const refused = answer.Entries?.[0];
      if (!answer.FailedEntryCount) {
        deps.log.info('job end published', { detail_type: event.detailType, event_id: refused?.EventId, attempt });
        return true;
      }
      why = `the bus refused the entry: ${refused?.ErrorCode ?? 'unknown'} ${refused?.ErrorMessage ?? ''}`.trim();
    } catch (error) {
      why = deadline.aborted ? `no answer within ${bounds.budgetMs} ms` : `${(error as Error).name}: ${(error as Error).message}`;
      if (PERMANENT.has((error as Error).name)) break;
    }
    if (attempt < bounds.attempts) await sleep(bounds.backoffMs * 2 ** (attempt - 1), undefined, { signal: deadline }).catch(() => undefined);
  }
  deps.log.error('job end not published', { detail_type: event.detailType, bus: deps.busName, why });
  if (deps.metrics) count(deps.metrics, METRIC.eventsNotPublished);
  return false;
}
