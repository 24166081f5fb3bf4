/**
 * The local SQS's checks of a request's parameters, with SQS's own error codes: a visibility
 * timeout outside 0–43200 s, a batch with no entry or more than ten, repeated entry ids or ids SQS
 * does not accept. The calls this service makes must meet them locally as they must on AWS.
 */

export class SqsError extends Error {
  constructor(
    readonly type: string,
    readonly queryError: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }

  /** The code SQS puts in a batch's Failed entry (the query error without its fault). */
  get code(): string {
    return this.queryError.split(';')[0] ?? this.queryError;
  }
}

const MAX_VISIBILITY_SECONDS = 43_200;
const MAX_BATCH_ENTRIES = 10;
const BATCH_ID = /^[A-Za-z0-9_-]{1,80}$/;

function invalidParameter(name: string, value: unknown, reason: string): SqsError {
  return new SqsError('com.amazonaws.sqs#InvalidParameterValueException', 'InvalidParameterValue;Sender', `Value ${String(value)} for parameter ${name} is invalid. Reason: ${reason}`);
}

/**
 * A whole number in [min, max]; when absent, `fallback`, or SQS's MissingParameter for a required
 * one (no fallback). Anything else is SQS's InvalidParameterValue.
 */
export function integerParameter(name: string, value: unknown, range: { min: number; max: number; fallback?: number }): number {
  if (value === undefined || value === null) {
    if (range.fallback !== undefined) return range.fallback;
    throw new SqsError('com.amazonaws.sqs#MissingParameter', 'MissingParameter;Sender', `The request must contain the parameter ${name}.`);
  }
  if (typeof value !== 'number' || !Number.isInteger(value) || value < range.min || value > range.max) {
    throw invalidParameter(name, value, `Must be between ${range.min} and ${range.max}, if provided.`);
  }
  return value;
}

/** VisibilityTimeout of a receive (the queue's when absent) or a change (required): 0–43200 s (12 hours). */
export function visibilityTimeout(value: unknown, fallback?: number): number {
  return integerParameter('VisibilityTimeout', value, { min: 0, max: MAX_VISIBILITY_SECONDS, fallback });
}

/** A batch call's entries: 1–10 of them, each Id distinct and of SQS's charset (at most 80 letters, digits, - and _). */
export function batchEntries(body: Record<string, unknown>, entryName: string): Record<string, unknown>[] {
  const entries = Array.isArray(body.Entries) ? (body.Entries as Record<string, unknown>[]) : [];
  if (entries.length === 0) {
    throw new SqsError('com.amazonaws.sqs#EmptyBatchRequest', 'AWS.SimpleQueueService.EmptyBatchRequest;Sender', `There should be at least one ${entryName} in the request.`);
  }
  if (entries.length > MAX_BATCH_ENTRIES) {
    throw new SqsError(
      'com.amazonaws.sqs#TooManyEntriesInBatchRequest',
      'AWS.SimpleQueueService.TooManyEntriesInBatchRequest;Sender',
      `Maximum number of entries per request are ${MAX_BATCH_ENTRIES}. You have sent ${entries.length}.`,
    );
  }
  const seen = new Set<string>();
  for (const entry of entries) {
    const id = String(entry.Id ?? '');
    if (!BATCH_ID.test(id)) {
      throw new SqsError(
        'com.amazonaws.sqs#InvalidBatchEntryId',
        'AWS.SimpleQueueService.InvalidBatchEntryId;Sender',
        'A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.',
      );
    }
    if (seen.has(id)) throw new SqsError('com.amazonaws.sqs#BatchEntryIdsNotDistinct', 'AWS.SimpleQueueService.BatchEntryIdsNotDistinct;Sender', `Id ${id} repeated.`);
    seen.add(id);
  }
  return entries;
}
