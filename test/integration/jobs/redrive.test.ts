/**
 * Re-submitting the on-failure queue. Jobs live in the DynamoDB emulator; the queue and the
 * Lambda Invoke API are in-memory stand-ins that record what would be received, invoked and
 * deleted, except where the queue's own timing matters (the local SQS then); the real local
 * queue and Lambda service are driven end to end in test/e2e/aws-parity.test.ts.
 */
import { GetQueueAttributesCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireJob, createJob, finishJob } from '../../../lib/jobs/job-lease';
import { getJob, type JobStore } from '../../../lib/jobs/job-records';
import { listJobs } from '../../../lib/jobs/job-listing';
import { requestFingerprint } from '../../../lib/jobs/job-ids';
import { parseFetchEvent, type FetchEvent } from '../../../lib/jobs/fetch-contract';
import { createLogger } from '../../../lib/core/logger';
import { redrive } from '../../../lib/use-cases/redrive';
import { freePorts } from '../../helpers/local-stack';
import { startLocalQueue } from '../../helpers/local-queue';
import { localTemplate, startTestStorage, type TestStorage } from '../../helpers/storage';
import type { JsonObject } from '../../../scripts/local-aws/template';

let storage: TestStorage;
let jobs: JobStore;

beforeAll(async () => {
  storage = await startTestStorage();
  jobs = { dynamodb: storage.dynamodb, table: storage.jobsTable, ttlSeconds: 3600, now: () => new Date() };
});

afterAll(async () => {
  await storage?.close();
});

function event(): FetchEvent {
  const id = randomUUID();
  return { job_id: id, request_id: id, code: 'sundy820', module: 'default', package_url: 'https://example.com/a.tar.gz', version: 'v1', allow_overwrite: false, mode: 'async' };
}

/** Lambda's destination record around an event, as the on-failure queue receives it. */
function destinationRecord(payload: unknown): string {
  return JSON.stringify({ version: '1.0', requestContext: { condition: 'RetriesExhausted', approximateInvokeCount: 3 }, requestPayload: payload, responsePayload: { errorType: 'Error' } });
}

function fakeQueue(bodies: string[]) {
  const messages = bodies.map((Body, i) => ({ MessageId: `m${i}`, ReceiptHandle: `r${i}`, Body }));
  const deleted: string[] = [];
  const shownAgain: string[] = [];
  let delivered = false;
  const sqs = {
    send: async (command: { constructor: { name: string }; input: { ReceiptHandle?: string; Entries?: { ReceiptHandle: string; VisibilityTimeout: number }[] } }) => {
      if (command.constructor.name === 'ReceiveMessageCommand') {
        if (delivered) return { Messages: [] };
        delivered = true;
        return { Messages: messages };
      }
      if (command.constructor.name === 'ChangeMessageVisibilityBatchCommand') {
        for (const entry of command.input.Entries ?? []) if (entry.VisibilityTimeout === 0) shownAgain.push(entry.ReceiptHandle);
        return { Successful: [], Failed: [] };
      }
      deleted.push(command.input.ReceiptHandle ?? '');
      return {};
    },
  } as never;
  return { sqs, deleted, shownAgain };
}

function fakeLambda() {
  const invoked: { type: string; payload: Record<string, unknown> }[] = [];
  const lambda = {
    send: async (command: { input: { InvocationType?: string; Payload?: Uint8Array } }) => {
      invoked.push({ type: command.input.InvocationType ?? '', payload: JSON.parse(new TextDecoder().decode(command.input.Payload)) });
      return { StatusCode: 202 };
    },
  } as never;
  return { lambda, invoked };
}

describe('redrive', () => {
  it('reopens failed and stuck jobs and invokes their events again, skips succeeded ones, and empties the queue', async () => {
    const stuck = event();
    const succeeded = event();
    await acquireJob(jobs, stuck.job_id ?? '', stuck, 'crashed-invocation', 1);
    await createJob(jobs, succeeded.job_id ?? '', succeeded, '');
    await acquireJob(jobs, succeeded.job_id ?? '', succeeded, 'inv', 60_000);
    await finishJob(jobs, succeeded.job_id ?? '', 'inv', { result: { version: 'v1', package_name: 'a', package_size: '1', sha256_signature: 'a'.repeat(64), updated: '', created: '' } });
    // A record fetchFailures forwarded, and one of fetchFailures' own failures (the first wrapped again).
    const queue = fakeQueue([destinationRecord(JSON.parse(destinationRecord(stuck))), destinationRecord(succeeded), 'not json']);
    const { lambda, invoked } = fakeLambda();

    const report = await redrive(
      { sqs: queue.sqs, lambda, jobs, queueUrl: 'q', functionName: 'fetch', log: createLogger({}, 'silent') },
      { max: 10, dryRun: false },
    );

    expect(report).toEqual({ resubmitted: [stuck.job_id], wouldResubmit: [], alreadySucceeded: [succeeded.job_id], stillRunning: [], unreadable: 1 });
    expect(invoked).toEqual([{ type: 'Event', payload: expect.objectContaining({ job_id: stuck.job_id, mode: 'async' }) }]);
    expect(queue.deleted.sort()).toEqual(['r0', 'r1']);
    // The unreadable message stays, visible again for whoever looks next.
    expect(queue.shownAgain).toEqual(['r2']);
    expect(await getJob(jobs, stuck.job_id ?? '')).toMatchObject({ state: 'pending', attempts: 0, leaseOwner: undefined });
    expect((await getJob(jobs, succeeded.job_id ?? ''))?.state).toBe('succeeded');
  });

  it('re-creates a job whose record has expired as a whole pending job, readable and listed under its module', async () => {
    // The record's TTL ran out while its event waited in the queue: nothing is left to reopen.
    const expired = event();
    const queue = fakeQueue([destinationRecord(expired)]);
    const { lambda, invoked } = fakeLambda();

    const report = await redrive({ sqs: queue.sqs, lambda, jobs, queueUrl: 'q', functionName: 'fetch', log: createLogger({}, 'silent') }, { max: 10, dryRun: false });

    expect(report.resubmitted).toEqual([expired.job_id]);
    expect(invoked).toHaveLength(1);
    // The fingerprint link gave the request: the job's Idempotency-Key still refuses other fields.
    expect(await getJob(jobs, expired.job_id ?? '')).toMatchObject({ state: 'pending', attempts: 0, event: expired, fingerprint: requestFingerprint(parseFetchEvent(expired, '')) });
    const page = await listJobs(jobs, { code: expired.code, module: expired.module }, { limit: 50 });
    expect(page.jobs.map((job) => job.jobId)).toContain(expired.job_id);
  });

  it('leaves a job running under a live lease as it is: not reopened, not invoked again, and a dry run says so', async () => {
    const live = event();
    await acquireJob(jobs, live.job_id ?? '', live, 'alive', 60_000);
    const before = await getJob(jobs, live.job_id ?? '');
    const { lambda, invoked } = fakeLambda();
    const deps = (sqs: never) => ({ sqs, lambda, jobs, queueUrl: 'q', functionName: 'fetch', log: createLogger({}, 'silent') });

    const dryRun = await redrive(deps(fakeQueue([destinationRecord(live)]).sqs), { max: 10, dryRun: true });
    const report = await redrive(deps(fakeQueue([destinationRecord(live)]).sqs), { max: 10, dryRun: false });

    expect(dryRun).toMatchObject({ wouldResubmit: [], stillRunning: [live.job_id] });
    expect(report.stillRunning).toEqual([live.job_id]);
    expect(invoked).toEqual([]);
    expect(await getJob(jobs, live.job_id ?? '')).toEqual(before);
  });

  it('changes nothing in a dry run: lists what would be re-submitted and makes every message visible again', async () => {
    const stuck = event();
    await acquireJob(jobs, stuck.job_id ?? '', stuck, 'crashed-invocation', 1);
    const queue = fakeQueue([destinationRecord(stuck), 'not json']);
    const { lambda, invoked } = fakeLambda();

    const report = await redrive({ sqs: queue.sqs, lambda, jobs, queueUrl: 'q', functionName: 'fetch', log: createLogger({}, 'silent') }, { max: 10, dryRun: true });

    expect(report).toMatchObject({ resubmitted: [], wouldResubmit: [stuck.job_id], unreadable: 1 });
    expect(invoked).toEqual([]);
    expect(queue.deleted).toEqual([]);
    expect(queue.shownAgain.sort()).toEqual(['r0', 'r1']);
    expect((await getJob(jobs, stuck.job_id ?? ''))?.state).toBe('running');
  });

  it('lists each message once in a dry run that outlasts their hiding, and resets only their latest receipts', async () => {
    const queue = await startLocalQueue();
    try {
      const events = [event(), event(), event()];
      for (const each of events) await queue.sqs.send(new SendMessageCommand({ QueueUrl: queue.queueUrl, MessageBody: destinationRecord(each) }));
      const { lambda } = fakeLambda();
      const warnings: string[] = [];

      // Hidden 1 s: the run's second receive, long-polling 1 s, gets the same three messages again.
      const report = await redrive(
        { sqs: queue.sqs, lambda, jobs, queueUrl: queue.queueUrl, functionName: 'fetch', log: createLogger({}, 'warn', (line) => warnings.push(line)) },
        { max: 10, dryRun: true, hiddenSeconds: 1 },
      );

      expect(report.wouldResubmit.sort()).toEqual(events.map((each) => each.job_id).sort());
      expect(warnings).toEqual([]);
      const { Attributes } = await queue.sqs.send(new GetQueueAttributesCommand({ QueueUrl: queue.queueUrl, AttributeNames: ['All'] }));
      expect(Attributes).toMatchObject({ ApproximateNumberOfMessages: '3', ApproximateNumberOfMessagesNotVisible: '0' });
    } finally {
      await queue.close();
    }
  });
});

describe('npm run redrive', () => {
  const root = path.resolve(__dirname, '../../..');

  it('names the jobs table, not the queue, when the table it reads does not exist', async () => {
    const queue = await startLocalQueue();
    // A stage whose jobs table was created under another name: the one redrive reads is missing.
    const elsewhere = await startTestStorage({
      template: localTemplate((raw) => {
        ((raw.Resources as JsonObject).JobsTable as { Properties: JsonObject }).Properties.TableName = 'another-jobs-table';
      }),
    });
    try {
      await queue.sqs.send(new SendMessageCommand({ QueueUrl: queue.queueUrl, MessageBody: destinationRecord(event()) }));
      const dynamodbPort = new URL(elsewhere.emulators.dynamodbEndpoint).port;
      const failed = promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/redrive.ts', '--stage', 'local', '--dry-run'], {
        cwd: root,
        env: { ...process.env, FETCH_FAILURES_QUEUE_URL: queue.queueUrl, SQS_PORT: new URL(queue.queueUrl).port, DYNAMODB_PORT: dynamodbPort, LAMBDA_PORT: String((await freePorts()).lambda) },
      });

      await expect(failed).rejects.toMatchObject({
        code: 1,
        stderr: expect.stringMatching(
          new RegExp(`^redrive: The table bkpaas-source-package-link-local-jobs does not exist in stage local \\(http://127\\.0\\.0\\.1:${dynamodbPort}, ResourceNotFoundException\\)`, 'm'),
        ),
      });
    } finally {
      await queue.close();
      await elsewhere.close();
    }
  });
});
