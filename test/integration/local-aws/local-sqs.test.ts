/**
 * The local SQS refuses what SQS refuses, with SQS's error codes, so a call that would fail on
 * AWS fails here first: visibility timeouts outside 0–43200 s, receive limits, and batch calls
 * with no entry, more than ten, repeated ids or ids SQS does not accept, and a request past its
 * size. Called through the real SDK over HTTP.
 */
import { ChangeMessageVisibilityBatchCommand, ChangeMessageVisibilityCommand, ReceiveMessageCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalQueue, type LocalQueue } from '../../helpers/local-queue';

let local: LocalQueue;
let sqs: SQSClient;
let queueUrl: string;

beforeAll(async () => {
  local = await startLocalQueue();
  ({ sqs, queueUrl } = local);
});

afterAll(async () => {
  await local?.close();
});

/** A message of its own, received (in flight) with its receipt. */
async function inFlight(): Promise<string> {
  const { MessageId } = await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'x' }));
  for (;;) {
    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 60 }));
    const mine = Messages.find((message) => message.MessageId === MessageId);
    if (mine?.ReceiptHandle) return mine.ReceiptHandle;
    if (Messages.length === 0) throw new Error('the message sent was not received');
  }
}

const invalid = (parameter: string) => ({ name: 'InvalidParameterValue', message: expect.stringContaining(`parameter ${parameter} is invalid`) });

describe('the local SQS', () => {
  it.each([-1, 43_201, 1.5])('refuses VisibilityTimeout %s on ChangeMessageVisibility and ReceiveMessage with InvalidParameterValue, as SQS does', async (seconds) => {
    const receipt = await inFlight();

    await expect(sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: receipt, VisibilityTimeout: seconds }))).rejects.toMatchObject(invalid('VisibilityTimeout'));
    await expect(sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, VisibilityTimeout: seconds }))).rejects.toMatchObject(invalid('VisibilityTimeout'));
  });

  it('accepts the limits themselves, 0 and 43200 seconds', async () => {
    const receipt = await inFlight();

    await expect(sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: receipt, VisibilityTimeout: 43_200 }))).resolves.toBeDefined();
    await expect(sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: receipt, VisibilityTimeout: 0 }))).resolves.toBeDefined();
  });

  it('refuses MaxNumberOfMessages outside 1–10 and WaitTimeSeconds outside 0–20 with InvalidParameterValue', async () => {
    await expect(sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 11 }))).rejects.toMatchObject(invalid('MaxNumberOfMessages'));
    await expect(sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 0 }))).rejects.toMatchObject(invalid('MaxNumberOfMessages'));
    await expect(sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 21 }))).rejects.toMatchObject(invalid('WaitTimeSeconds'));
  });

  it('refuses a batch with no entry (EmptyBatchRequest) or more than ten (TooManyEntriesInBatchRequest)', async () => {
    const receipt = await inFlight();
    const eleven = Array.from({ length: 11 }, (_, i) => ({ Id: `e${i}`, ReceiptHandle: receipt, VisibilityTimeout: 0 }));

    await expect(sqs.send(new ChangeMessageVisibilityBatchCommand({ QueueUrl: queueUrl, Entries: [] }))).rejects.toMatchObject({ name: 'EmptyBatchRequest' });
    await expect(sqs.send(new ChangeMessageVisibilityBatchCommand({ QueueUrl: queueUrl, Entries: eleven }))).rejects.toMatchObject({ name: 'TooManyEntriesInBatchRequest' });
  });

  it('refuses a batch whose entry ids repeat (BatchEntryIdsNotDistinct) or hold other than letters, digits, - and _ up to 80 (InvalidBatchEntryId)', async () => {
    const receipt = await inFlight();
    const entry = (Id: string) => ({ Id, ReceiptHandle: receipt, VisibilityTimeout: 0 });

    await expect(sqs.send(new ChangeMessageVisibilityBatchCommand({ QueueUrl: queueUrl, Entries: [entry('a'), entry('a')] }))).rejects.toMatchObject({ name: 'BatchEntryIdsNotDistinct' });
    await expect(sqs.send(new ChangeMessageVisibilityBatchCommand({ QueueUrl: queueUrl, Entries: [entry('a b')] }))).rejects.toMatchObject({ name: 'InvalidBatchEntryId' });
    await expect(sqs.send(new ChangeMessageVisibilityBatchCommand({ QueueUrl: queueUrl, Entries: [entry('x'.repeat(81))] }))).rejects.toMatchObject({ name: 'InvalidBatchEntryId' });
    await expect(sqs.send(new ChangeMessageVisibilityBatchCommand({ QueueUrl: queueUrl, Entries: [entry(`A-z_9${'x'.repeat(75)}`)] }))).resolves.toMatchObject({ Successful: [{ Id: `A-z_9${'x'.repeat(75)}` }] });
  });

  it("answers a batch entry's own bad VisibilityTimeout or stale receipt in Failed with SQS's code, and changes the other entries", async () => {
    const receipt = await inFlight();
    const other = await inFlight();

    const answer = await sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: queueUrl,
        Entries: [
          { Id: 'bad', ReceiptHandle: receipt, VisibilityTimeout: -1 },
          { Id: 'stale', ReceiptHandle: 'no-such-receipt', VisibilityTimeout: 0 },
          { Id: 'good', ReceiptHandle: other, VisibilityTimeout: 0 },
        ],
      }),
    );

    expect(answer.Successful).toEqual([{ Id: 'good' }]);
    expect(answer.Failed).toEqual([
      expect.objectContaining({ Id: 'bad', Code: 'InvalidParameterValue', SenderFault: true }),
      expect.objectContaining({ Id: 'stale', Code: 'ReceiptHandleIsInvalid', SenderFault: true }),
    ]);
  });

  it('refuses a request past 2 MiB (SQS takes 1 MiB of messages a call) with InvalidParameterValue, and still answers calls after it', async () => {
    await expect(sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'x'.repeat(3 * 1024 * 1024) }))).rejects.toMatchObject({
      name: 'InvalidParameterValue',
      message: expect.stringContaining('exceeds 2097152 bytes'),
    });
    await expect(sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'x'.repeat(1024 * 1024) }))).resolves.toMatchObject({ MessageId: expect.any(String) });
  });
});
