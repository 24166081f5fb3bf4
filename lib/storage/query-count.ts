/**
 * The total behind a listing's `count`: a DynamoDB COUNT query over the same index, page by
 * page. Each page reads up to 1 MB of the index (billed like reading those items; a state
 * filter is applied after the read, so it saves nothing), so the total is only computed up to
 * a budget: a module holding more than that answers `count: null` instead of making one request
 * read without bound.
 */
import { QueryCommand, type DynamoDBClient, type QueryCommandInput } from '@aws-sdk/client-dynamodb';

/**
 * About 4 MB of index, on a listing's first page only (later pages carry the total in their
 * cursor): thousands of versions or jobs, at most 512 read units.
 */
export const MAX_COUNT_READS = 4;

export interface CountBudget {
  reads: number;
  /** Items evaluated per read (DynamoDB's Limit); unset, a read stops at 1 MB. Tests set it to reach the budget cheaply. */
  itemsPerRead?: number;
}

/** How many items `query` matches (its filter applied), or null past the budget's reads. */
export async function countMatching(
  dynamodb: DynamoDBClient,
  query: Omit<QueryCommandInput, 'Select' | 'Limit' | 'ExclusiveStartKey' | 'ScanIndexForward'>,
  budget: CountBudget = { reads: MAX_COUNT_READS },
): Promise<number | null> {
  let total = 0;
  let start: QueryCommandInput['ExclusiveStartKey'];
  for (let reads = 0; reads < budget.reads; reads += 1) {
    const answer = await dynamodb.send(
      new QueryCommand({ ...query, Select: 'COUNT', ExclusiveStartKey: start, ...(budget.itemsPerRead ? { Limit: budget.itemsPerRead } : {}) }),
    );
    total += answer.Count ?? 0;
    start = answer.LastEvaluatedKey;
    if (!start) return total;
  }
  return null;
}
