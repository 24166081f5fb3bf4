/**
 * Streams a body into one S3 object with a multipart upload, sending the body's chunks as they
 * came: a part is the chunks received until they reach `partBytes`, never copied into one
 * buffer (lib-storage's `Upload` concatenated every 8 MiB part, and that churn of
 * external memory made V8 run a full garbage collection every few dozen MiB). At most
 * `queueSize` parts are in flight; the body is paused meanwhile, so memory holds at most
 * (queueSize + 1) parts. A body that ends before its first part is full goes in one PutObject.
 *
 * Every failure — the body's error or early close, a part, the completion — stops reading, lets
 * the requests already on their way finish (S3 keeps a part that lands after an abort, and
 * creates an upload whose request we gave up on: cancelling them would leave both behind; at most
 * `queueSize` parts wait), aborts the multipart upload and rethrows the first error as it came.
 * An abort that fails is left to the bucket's lifecycle rule (incomplete uploads go after a day)
 * and does not mask that error.
 *
 * The SDK retries a failed request by sending it again; a stream body cannot be read twice, so
 * each attempt gets a fresh stream over the same chunks (`freshBodyPerAttempt`).
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';
import { finished, Readable } from 'node:stream';

export interface UploadSettings {
  partBytes: number;
  queueSize: number;
}

const CONTENT_TYPE = 'application/octet-stream';

/** A stream over `chunks`, read without copying; pushes until the consumer is full. */
function streamOf(chunks: readonly Buffer[]): Readable {
  let next = 0;
  return new Readable({
    read() {
      while (next < chunks.length) {
        if (!this.push(chunks[next++])) return;
      }
      this.push(null);
    },
  });
}

interface Bodied {
  middlewareStack: { add: (middleware: never, options: { step: 'deserialize'; name: string }) => void };
}

/**
 * The request body for `chunks`: the buffer itself when there is one, else a stream that each
 * attempt of the command (the SDK's retries included) gets afresh, just before it is sent.
 */
function withBody<C extends Bodied>(command: C, chunks: readonly Buffer[]): C {
  if (chunks.length <= 1) return command;
  const middleware = (next: (args: { request: { body?: unknown } }) => Promise<unknown>) => (args: { request: { body?: unknown } }) => {
    args.request.body = streamOf(chunks);
    return next(args);
  };
  command.middlewareStack.add(middleware as never, { step: 'deserialize', name: 'freshBodyPerAttempt' });
  return command;
}

function bytesOf(chunks: readonly Buffer[]): number {
  let bytes = 0;
  for (const chunk of chunks) bytes += chunk.length;
  return bytes;
}

/** The first byte of a body of one chunk, or of none: what the command carries when no stream is needed. */
function plainBody(chunks: readonly Buffer[]): Buffer | undefined {
  return chunks.length === 1 ? chunks[0] : chunks.length === 0 ? Buffer.alloc(0) : undefined;
}

export async function uploadStream(s3: S3Client, bucket: string, key: string, body: Readable, settings: UploadSettings): Promise<void> {
  const { partBytes, queueSize } = settings;
  let uploadId: Promise<string> | undefined;
  const parts: CompletedPart[] = [];
  const inFlight = new Set<Promise<void>>();
  let filling: Buffer[] = [];
  let fillingBytes = 0;
  let failure: { error: unknown } | undefined;
  let settle!: { resolve: () => void; reject: (error: unknown) => void };
  const ended = new Promise<void>((resolve, reject) => {
    settle = { resolve, reject };
  });

  const fail = (error: unknown): void => {
    if (failure) return;
    failure = { error };
    body.pause();
    settle.reject(error);
  };

  const createUpload = async (): Promise<string> => {
    const created = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ContentType: CONTENT_TYPE }));
    if (!created.UploadId) throw new Error('CreateMultipartUpload answered no UploadId');
    return created.UploadId;
  };

  const sendPart = (chunks: Buffer[]): void => {
    const partNumber = parts.length + 1;
    parts.push({ PartNumber: partNumber });
    uploadId ??= createUpload();
    const started = uploadId;
    const sending = (async () => {
      const id = await started;
      // Failed while the upload was being created: this part would only be aborted.
      if (failure) return;
      const command = new UploadPartCommand({
        Bucket: bucket,
        Key: key,
        UploadId: id,
        PartNumber: partNumber,
        ContentLength: bytesOf(chunks),
        Body: plainBody(chunks),
      });
      const answer = await s3.send(withBody(command, chunks));
      parts[partNumber - 1] = { PartNumber: partNumber, ETag: answer.ETag };
    })();
    inFlight.add(sending);
    sending.then(
      () => {
        inFlight.delete(sending);
        if (!failure && inFlight.size < queueSize && body.isPaused()) body.resume();
      },
      (error: unknown) => {
        inFlight.delete(sending);
        fail(error);
      },
    );
    if (inFlight.size >= queueSize) body.pause();
  };

  body.on('data', (chunk: Buffer) => {
    if (failure) return;
    filling.push(chunk);
    fillingBytes += chunk.length;
    if (fillingBytes < partBytes) return;
    sendPart(filling);
    filling = [];
    fillingBytes = 0;
  });
  // Ended, failed, or closed before its end (destroyed without an error): each settles `ended`.
  finished(body, { writable: false }, (error) => (error ? fail(error) : settle.resolve()));

  try {
    await ended;
    if (!uploadId) {
      // The whole body fits in one part: no multipart upload at all.
      const command = new PutObjectCommand({ Bucket: bucket, Key: key, ContentType: CONTENT_TYPE, ContentLength: fillingBytes, Body: plainBody(filling) });
      await s3.send(withBody(command, filling));
      return;
    }
    if (fillingBytes > 0) sendPart(filling);
    filling = [];
    while (inFlight.size > 0 && !failure) await Promise.race(inFlight).catch(() => undefined);
    if (failure) throw failure.error;
    await s3.send(
      new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: await uploadId, MultipartUpload: { Parts: parts } }),
    );
  } catch (error) {
    fail(error);
    await Promise.allSettled(inFlight);
    if (uploadId) await abort(s3, bucket, key, uploadId);
    throw failure?.error ?? error;
  }
}

/** Aborts the multipart upload, if it was ever created; a failure here is the lifecycle rule's to clean. */
async function abort(s3: S3Client, bucket: string, key: string, uploadId: Promise<string>): Promise<void> {
  let id: string;
  try {
    id = await uploadId;
  } catch {
    return;
  }
  try {
    await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: id }));
  } catch {
    // Incomplete uploads are aborted by the bucket's lifecycle rule after a day.
  }
}
