/**
 * Re-submits the worker events waiting in the on-failure queue: each message is Lambda's
 * destination record (`requestPayload` is the original event); its job is reopened (unless it
 * succeeded meanwhile) and the event invoked again asynchronously, then the message is deleted.
 */
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { DeleteMessageCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { parseFetchEvent } from '../jobs/fetch-contract';
import { getJob, type JobStore } from '../jobs/job-records';
import { reopenJob } from '../jobs/job-lease';
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

export async function redrive(deps: RedriveDeps, options: { max: number; dryRun: boolean }): Promise<RedriveReport> {
  const report: RedriveReport = { resubmitted: [], alreadySucceeded: [], stillRunning: [], unreadable: 0 };
  let handled = 0;
  while (handled < options.max) {
    const { Messages = [] } = await deps.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: deps.queueUrl, MaxNumberOfMessages: Math.min(10, options.max - handled), WaitTimeSeconds: 1, VisibilityTimeout: 60 }),
    );
    if (Messages.length === 0) break;
    for (const message of Messages) {
      handled += 1;
      let event: Record<string, unknown>;
      let jobId: string;
      try {
        event = eventOfMessage(message.Body ?? '') as Record<string, unknown>;
        jobId = parseFetchEvent(event, '').jobId;
      } catch (error) {
        report.unreadable += 1;
        deps.log.error('unreadable message left in the queue', { message_id: message.MessageId, error });
        continue;
      }
      if (options.dryRun) {
        report.resubmitted.push(jobId);
        continue;
      }
      if (await reopenJob(deps.jobs, jobId)) {
        const payload = new TextEncoder().encode(JSON.stringify({ ...event, job_id: jobId, mode: 'async' }));
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
  return report;
}
