/**
 * The events' documented schemas (docs/events/*.schema.json, the files docs/api.md#events links),
 * compiled once: a test checks what the bus really took against them.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { DETAIL_TYPE } from '../../lib/jobs/job-events';
import type { DeliveredEvent } from '../../scripts/local-aws/event-bus';

const docs = path.resolve(__dirname, '../../docs/events');
const SCHEMA_FILES: Record<string, string> = {
  [DETAIL_TYPE.registered]: 'source-package-registered.schema.json',
  [DETAIL_TYPE.failed]: 'source-package-job-failed.schema.json',
};

const ajv = new Ajv({ allErrors: true, strict: true });
addFormats(ajv);
const validators = Object.fromEntries(Object.entries(SCHEMA_FILES).map(([type, file]) => [type, ajv.compile(JSON.parse(readFileSync(path.join(docs, file), 'utf8')))]));

/** Where `event` breaks its detail-type's documented schema; empty when it follows it. */
export function schemaProblems(event: DeliveredEvent): string[] {
  const validate = validators[event['detail-type']];
  if (!validate) return [`no schema documents the detail-type "${event['detail-type']}"`];
  if (validate(event)) return [];
  return (validate.errors ?? []).map((error) => `${error.instancePath || '(event)'} ${error.message ?? ''}`.trim());
}

/** The events a bus directory holds for `bus`, one per line, as the local EventBridge keeps them. */
export function eventsOnBus(dir: string, bus = 'default'): DeliveredEvent[] {
  try {
    return readFileSync(path.join(dir, `${bus}.jsonl`), 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as DeliveredEvent);
  } catch {
    return [];
  }
}

/** The events on a bus directory's `default` bus about one job. */
export function eventsOfJob(dir: string, jobId: string): DeliveredEvent[] {
  return eventsOnBus(dir).filter((event) => (event.detail as { job_id?: string }).job_id === jobId);
}
