/**
 * A small SQS for the local stack: the queues the template declares, the calls the service
 * and `npm run redrive` make (SendMessage, ReceiveMessage with visibility timeout and long
 * polling, ChangeMessageVisibility[Batch], DeleteMessage, GetQueueUrl, GetQueueAttributes,
 * PurgeQueue) in SQS's JSON protocol, their parameters checked as SQS checks them (sqs-validation.ts),
 * each checked against the caller's role, messages kept on disk and dropped after the queue's
 * retention period. Lambda's on-failure destination writes here.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { sqsRequest, type Account } from './aws-requests';
import { accessKeyOf, type IamAuthority } from './iam';
import { readRequestBody } from './request-body';
import { batchEntries, integerParameter, SqsError, visibilityTimeout } from './sqs-validation';

interface Message {
  id: string;
  body: string;
  md5: string;
  sentAt: number;
  visibleAt: number;
  receiveCount: number;
  receipt: string | undefined;
}

export interface QueueSpec {
  name: string;
  retentionSeconds: number;
}

export interface SqsOptions {
  dir: string;
  queues: QueueSpec[];
  iam: IamAuthority;
  account: Account;
  /** The endpoint clients use, for the queue URLs it answers. */
  endpoint: () => string;
  onDenied?: (line: string) => void;
}

const MAX_WAIT_SECONDS = 20;
/** SQS takes up to 1 MiB of messages a request (one, or a batch's sum); the rest is room for JSON escaping and attributes. */
const MAX_BODY_BYTES = 2 * 1024 * 1024;
/** The queues' VisibilityTimeout attribute (the template sets none: SQS's default). */
const DEFAULT_VISIBILITY_SECONDS = 30;

export class LocalSqs {
  private readonly queues = new Map<string, { spec: QueueSpec; messages: Message[] }>();

  constructor(private readonly options: SqsOptions) {
    mkdirSync(options.dir, { recursive: true });
    for (const spec of options.queues) {
      let messages: Message[] = [];
      try {
        messages = JSON.parse(readFileSync(this.file(spec.name), 'utf8')) as Message[];
      } catch {
        // A new queue.
      }
      this.queues.set(spec.name, { spec, messages });
    }
  }

  private file(name: string): string {
    return path.join(this.options.dir, `${name}.json`);
  }

  private save(name: string): void {
    const queue = this.queues.get(name);
    if (!queue) return;
    writeFileSync(`${this.file(name)}.tmp`, JSON.stringify(queue.messages));
    renameSync(`${this.file(name)}.tmp`, this.file(name));
  }

  private queue(nameOrUrl: string): { spec: QueueSpec; messages: Message[] } {
    const name = nameOrUrl.split('/').pop() ?? '';
    const queue = this.queues.get(name);
    if (!queue) throw new SqsError('com.amazonaws.sqs#QueueDoesNotExist', 'AWS.SimpleQueueService.NonExistentQueue;Sender', 'The specified queue does not exist.');
    const oldest = Date.now() - queue.spec.retentionSeconds * 1000;
    if (queue.messages.some((message) => message.sentAt < oldest)) {
      queue.messages = queue.messages.filter((message) => message.sentAt >= oldest);
      this.save(name);
    }
    return queue;
  }

  /** Messages in a queue, visible or not (for tests and the start banner). */
  depth(name: string): number {
    return this.queue(name).messages.length;
  }

  /** Sends as the local account (Lambda's destination delivery checks the function's role before calling this). */
  send(queueName: string, body: string): string {
    const queue = this.queue(queueName);
    const message: Message = { id: randomUUID(), body, md5: createHash('md5').update(body, 'utf8').digest('hex'), sentAt: Date.now(), visibleAt: 0, receiveCount: 0, receipt: undefined };
    queue.messages.push(message);
    this.save(queue.spec.name);
    return message.id;
  }

  private async call(operation: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const queueRef = String(body.QueueUrl ?? body.QueueName ?? '');
    switch (operation) {
      case 'GetQueueUrl': {
        const { spec } = this.queue(queueRef);
        return { QueueUrl: `${this.options.endpoint()}/${this.options.account.accountId}/${spec.name}` };
      }
      case 'SendMessage': {
        const text = String(body.MessageBody ?? '');
        const id = this.send(queueRef, text);
        return { MessageId: id, MD5OfMessageBody: createHash('md5').update(text, 'utf8').digest('hex') };
      }
      case 'ReceiveMessage': {
        const max = integerParameter('MaxNumberOfMessages', body.MaxNumberOfMessages, { min: 1, max: 10, fallback: 1 });
        const visibility = visibilityTimeout(body.VisibilityTimeout, DEFAULT_VISIBILITY_SECONDS);
        const waitUntil = Date.now() + integerParameter('WaitTimeSeconds', body.WaitTimeSeconds, { min: 0, max: MAX_WAIT_SECONDS, fallback: 0 }) * 1000;
        for (;;) {
          const queue = this.queue(queueRef);
          const now = Date.now();
          const visible = queue.messages.filter((message) => message.visibleAt <= now).slice(0, max);
          if (visible.length > 0 || now >= waitUntil) {
            for (const message of visible) {
              message.visibleAt = now + visibility * 1000;
              message.receiveCount += 1;
              message.receipt = randomUUID();
            }
            if (visible.length > 0) this.save(queue.spec.name);
            return {
              Messages: visible.map((message) => ({
                MessageId: message.id,
                ReceiptHandle: message.receipt,
                MD5OfBody: message.md5,
                Body: message.body,
                Attributes: { ApproximateReceiveCount: String(message.receiveCount), SentTimestamp: String(message.sentAt) },
              })),
            };
          }
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
      case 'ChangeMessageVisibility': {
        const queue = this.queue(queueRef);
        this.changeVisibility(queue, String(body.ReceiptHandle ?? ''), visibilityTimeout(body.VisibilityTimeout));
        this.save(queue.spec.name);
        return {};
      }
      case 'ChangeMessageVisibilityBatch': {
        const queue = this.queue(queueRef);
        const entries = batchEntries(body, 'ChangeMessageVisibilityBatchRequestEntry');
        const Successful: { Id: string }[] = [];
        const Failed: { Id: string; Code: string; Message: string; SenderFault: boolean }[] = [];
        for (const entry of entries) {
          const id = String(entry.Id ?? '');
          try {
            this.changeVisibility(queue, String(entry.ReceiptHandle ?? ''), visibilityTimeout(entry.VisibilityTimeout));
            Successful.push({ Id: id });
          } catch (error) {
            // SQS answers each entry's own failure in Failed, with that failure's code.
            if (!(error instanceof SqsError)) throw error;
            Failed.push({ Id: id, Code: error.code, Message: error.message, SenderFault: true });
          }
        }
        this.save(queue.spec.name);
        return { Successful, Failed };
      }
      case 'DeleteMessage': {
        const queue = this.queue(queueRef);
        const index = queue.messages.findIndex((message) => message.receipt === body.ReceiptHandle);
        if (index < 0) throw new SqsError('com.amazonaws.sqs#ReceiptHandleIsInvalid', 'ReceiptHandleIsInvalid;Sender', 'The input receipt handle is invalid.');
        queue.messages.splice(index, 1);
        this.save(queue.spec.name);
        return {};
      }
      case 'GetQueueAttributes': {
        const queue = this.queue(queueRef);
        const now = Date.now();
        return {
          Attributes: {
            ApproximateNumberOfMessages: String(queue.messages.filter((message) => message.visibleAt <= now).length),
            ApproximateNumberOfMessagesNotVisible: String(queue.messages.filter((message) => message.visibleAt > now).length),
            MessageRetentionPeriod: String(queue.spec.retentionSeconds),
          },
        };
      }
      case 'PurgeQueue': {
        const queue = this.queue(queueRef);
        queue.messages = [];
        this.save(queue.spec.name);
        return {};
      }
      default:
        throw new SqsError('com.amazonaws.sqs#UnsupportedOperation', 'AWS.SimpleQueueService.UnsupportedOperation;Sender', `${operation} is not supported by the local SQS.`);
    }
  }

  /** As SQS: only a message still in flight under that receipt can change; 0 makes it visible now. */
  private changeVisibility(queue: { messages: Message[] }, receipt: string, seconds: number): void {
    const message = queue.messages.find((candidate) => candidate.receipt === receipt);
    if (!message) throw new SqsError('com.amazonaws.sqs#ReceiptHandleIsInvalid', 'ReceiptHandleIsInvalid;Sender', 'The input receipt handle is invalid.');
    if (message.visibleAt <= Date.now()) {
      throw new SqsError('com.amazonaws.sqs#MessageNotInflight', 'AWS.SimpleQueueService.MessageNotInflight;Sender', 'The message referred to is not in flight.');
    }
    message.visibleAt = Date.now() + seconds * 1000;
  }

  listener(): http.RequestListener {
    return (req, res) => {
      void readRequestBody(req, MAX_BODY_BYTES).then(({ bytes }) => {
        const answer = (status: number, body: Record<string, unknown>, headers: Record<string, string> = {}): void => {
          res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': randomUUID(), ...headers }).end(JSON.stringify(body));
        };
        const handle = async (): Promise<void> => {
          if (!bytes) throw new SqsError('com.amazonaws.sqs#InvalidParameterValue', 'InvalidParameterValue;Sender', `The request exceeds ${MAX_BODY_BYTES} bytes.`);
          const target = String(req.headers['x-amz-target'] ?? '');
          const body = bytes.length > 0 ? (JSON.parse(bytes.toString('utf8')) as Record<string, unknown>) : {};
          const url = new URL(req.url ?? '/', 'http://127.0.0.1');
          const caller = this.options.iam.callerOf(accessKeyOf(req.headers, url));
          const request = sqsRequest(this.options.account, target, body);
          const decision = await this.options.iam.authorize(caller, request);
          if (!decision.allowed) {
            this.options.onDenied?.(`[local IAM] denied ${request.action} on ${request.resources.join(', ')}: ${decision.message}`);
            throw new SqsError('com.amazon.coral.service#AccessDeniedException', 'AccessDenied;Sender', decision.message);
          }
          answer(200, await this.call(target.split('.').pop() ?? '', body));
        };
        handle().catch((error: unknown) => {
          if (error instanceof SqsError) answer(error.status, { __type: error.type, message: error.message }, { 'x-amzn-query-error': error.queryError });
          else answer(500, { __type: 'com.amazonaws.sqs#InternalError', message: String(error) });
        });
      });
    };
  }
}
