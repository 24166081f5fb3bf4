/** A module's jobs, page by page, newest first, and how many there are: the jobs index's reads. */
import { QueryCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { dynamoCall, toAttributes, type Item } from '../core/dynamodb-calls';
import { countMatching } from '../storage/query-count';
import type { JobState } from './fetch-contract';
import { jobFromItem, JOBS_BY_MODULE_INDEX, moduleKeyOf, type Job, type JobStore } from './job-records';

/** Where a page of a module's jobs ended: the index's key of its last job. */
export interface JobPosition {
  jobId: string;
  created: string;
}

export interface JobPage {
  jobs: Job[];
  next: JobPosition | undefined;
}

/** Pages of the index read at most per listing call when a state filter leaves pages short. */
const MAX_QUERY_PAGES = 5;

function moduleQuery(module: { code: string; module: string }, state: JobState | undefined) {
  return {
    IndexName: JOBS_BY_MODULE_INDEX,
    KeyConditionExpression: 'module_key = :k',
    ...(state ? { FilterExpression: '#state = :state', ExpressionAttributeNames: { '#state': 'state' } } : {}),
    ExpressionAttributeValues: toAttributes({ ':k': moduleKeyOf(module.code, module.module), ':state': state }),
  };
}

/** How many of a module's jobs there are, of one `state` if given (null: more than a listing may afford to count). */
export async function countJobs(store: JobStore, module: { code: string; module: string }, state?: JobState): Promise<number | null> {
  return dynamoCall(() => countMatching(store.dynamodb, { TableName: store.table, ...moduleQuery(module, state) }));
}

/** The index's key of a job, where a page starts after it. */
function positionKey(module: { code: string; module: string }, position: JobPosition): Item {
  return toAttributes({ job_id: position.jobId, module_key: moduleKeyOf(module.code, module.module), created: position.created });
}

/**
 * One page of a module's jobs, newest first, after `after`, of one `state` if given. The index
 * is eventually consistent: a job created a moment ago may be missing.
 */
export async function listJobs(
  store: JobStore,
  module: { code: string; module: string },
  page: { limit: number; state?: JobState; after?: JobPosition },
): Promise<JobPage> {
  const jobs: Job[] = [];
  let start: Item | undefined = page.after ? positionKey(module, page.after) : undefined;
  for (let reads = 0; reads < MAX_QUERY_PAGES; reads += 1) {
    const answer = await dynamoCall(() =>
      store.dynamodb.send(
        new QueryCommand({
          TableName: store.table,
          ...moduleQuery(module, page.state),
          ScanIndexForward: false,
          Limit: page.limit + 1 - jobs.length,
          ExclusiveStartKey: start,
        }),
      ),
    );
    jobs.push(...(answer.Items ?? []).map(jobFromItem));
    start = answer.LastEvaluatedKey;
    if (jobs.length > page.limit || !start) break;
  }
  const shown = jobs.slice(0, page.limit);
  const last = shown.at(-1);
  if (jobs.length <= page.limit && start === undefined) return { jobs: shown, next: undefined };
  // Continue after the last job shown, or, when the filter left none, after what was read.
  return { jobs: shown, next: last ? { jobId: last.jobId, created: last.created } : positionOf(start) };
}

function positionOf(key: Item | undefined): JobPosition {
  const values = key ? (unmarshall(key) as Record<string, unknown>) : {};
  return { jobId: String(values.job_id ?? ''), created: String(values.created ?? '') };
}
