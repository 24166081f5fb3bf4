/**
 * Re-submits the worker events waiting in the on-failure queue: each message is Lambda's
 * destination record (`requestPayload` is the original event); its job is reopened (unless it
 * succeeded meanwhile) and the event invoked again asynchronously, then the message is deleted.
 * A message left in the queue (a dry run's, an unreadable one) is made visible again at the end,
 * so a redrive right after finds it instead of waiting out the receive's visibility timeout.
 */
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { ChangeMessageVisibilityBatchCommand, DeleteMessageCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { parseFetchEvent, toFetchEvent } from '../jobs/fetch-contract';
import type { PackageRequest } from '../core/package-request';
import { getJob, type JobStore } from '../jobs/job-records';
import { reopenable, reopenJob } from '../jobs/job-lease';
import { requestFingerprint } from '../jobs/job-ids';
import type { Logger } from '../core/logger';

export interface RedriveDeps {
  sqs: SQSClient;
  lambda: LambdaClient;
  jobs: JobStore;
  queueUrl: string;
  functionName: string;
  log: Logger;
}

export interface RedriveReport {
  resubmitted: string[];
  /** A dry run's jobs that a real run would re-submit (it re-submits nothing). */
  wouldResubmit: string[];
  alreadySucceeded: string[];
  /** Jobs running under a live lease (a delivery of their own is at work): left to finish. */
  stillRunning: string[];
  unreadable: number;
}

/**
 * The original event inside a message: Lambda's invocation record (forwarded by fetchFailures),
 * a record of fetchFailures' own failure around it, or a bare event.
 */
export function eventOfMessage(body: string): unknown {
  let event = JSON.parse(body) as Record<string, unknown>;
  for (let depth = 0; depth < 3 && typeof event.requestPayload === 'object' && event.requestPayload !== null; depth += 1) {
    event = event.requestPayload as Record<string, unknown>;
  }
  return event;
}

/** How long a received message stays hidden from other readers while a run holds it (seconds). */
const HIDDEN_SECONDS = 60;

export async function redrive(deps: RedriveDeps, options: { max: number; dryRun: boolean; hiddenSeconds?: number }): Promise<RedriveReport> {
  const report: RedriveReport = { resubmitted: [], wouldResubmit: [], alreadySucceeded: [], stillRunning: [], unreadable: 0 };
  const hiddenSeconds = options.hiddenSeconds ?? HIDDEN_SECONDS;
  // The messages this run leaves in the queue, by MessageId, with their latest receipt: kept hidden
  // until the run ends, then shown again. A run longer than the hiding receives them again (with a
  // new receipt, the old one stale): each message counts once, and only its latest receipt is reset.
  const leftInQueue = new Map<string, string>();
  const seen = new Set<string>();
  let handled = 0;
  try {
    while (handled < options.max) {
      const { Messages = [] } = await deps.sqs.send(
        new ReceiveMessageCommand({ QueueUrl: deps.queueUrl, MaxNumberOfMessages: Math.min(10, options.max - handled), WaitTimeSeconds: 1, VisibilityTimeout: hiddenSeconds }),
      );
      const fresh = Messages.filter((message) => !seen.has(message.MessageId ?? ''));
      for (const again of Messages) {
        if (again.MessageId && again.ReceiptHandle && leftInQueue.has(again.MessageId)) leftInQueue.set(again.MessageId, again.ReceiptHandle);
      }
      // Nothing new: the queue is empty, or has come round to messages this run already handled.
      if (fresh.length === 0) break;
      for (const message of fresh) {
        handled += 1;
        const messageId = message.MessageId ?? String(handled);
        seen.add(messageId);
        const leave = (): void => {
          if (message.ReceiptHandle) leftInQueue.set(messageId, message.ReceiptHandle);
        };
        let request: PackageRequest;
        try {
          request = parseFetchEvent(eventOfMessage(message.Body ?? ''), '');
        } catch (error) {
          report.unreadable += 1;
          leave();
          deps.log.error('unreadable message left in the queue', { message_id: message.MessageId, error });
          continue;
        }
        const jobId = request.jobId;
        if (options.dryRun) {
          leave();
          const job = await getJob(deps.jobs, jobId);
          if (job?.state === 'succeeded') report.alreadySucceeded.push(jobId);
          else if (reopenable(job, deps.jobs.now().getTime())) report.wouldResubmit.push(jobId);
          else report.stillRunning.push(jobId);
          continue;
        }
        const retried = toFetchEvent({ ...request, mode: 'async' });
        if (await reopenJob(deps.jobs, jobId, retried, requestFingerprint(request))) {
          const payload = new TextEncoder().encode(JSON.stringify(retried));
          await deps.lambda.send(new InvokeCommand({ FunctionName: deps.functionName, InvocationType: 'Event', Payload: payload }));
          report.resubmitted.push(jobId);
        } else if ((await getJob(deps.jobs, jobId))?.state === 'succeeded') {
          report.alreadySucceeded.push(jobId);
        } else {
          report.stillRunning.push(jobId);
        }
        await deps.sqs.send(new DeleteMessageCommand({ QueueUrl: deps.queueUrl, ReceiptHandle: message.ReceiptHandle }));
      }
    }
  } finally {
    await showAgain(deps, [...leftInQueue.values()], hiddenSeconds);
  }
  return report;
}

/** Visibility 0 for each receipt, ten per call (SQS's batch limit). */
async function showAgain(deps: Pick<RedriveDeps, 'sqs' | 'queueUrl' | 'log'>, receipts: string[], hiddenSeconds: number): Promise<void> {
  for (let start = 0; start < receipts.length; start += 10) {
    const batch = receipts.slice(start, start + 10);
    const { Failed = [] } = await deps.sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: deps.queueUrl,
        Entries: batch.map((ReceiptHandle, i) => ({ Id: String(start + i), ReceiptHandle, VisibilityTimeout: 0 })),
      }),
    );
    for (const failure of Failed) deps.log.warn(`message stays hidden until its visibility timeout (${hiddenSeconds} s)`, { code: failure.Code, detail: failure.Message });
  }
}
