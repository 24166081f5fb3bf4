/**
 * Streams a body into one S3 object with a multipart upload. The body's chunks are copied into
 * part buffers of exactly `partBytes`, reused from part to part: a downloaded chunk is garbage as
 * soon as its `data` event returns, so it dies young, where a chunk held until its part was sent
 * outlived the young generation and waited, with tens of MiB like it, for a full garbage
 * collection (bench/TUNING.md: the worker's peak memory grew with the archive's length, and its
 * CPU with those collections). At most `queueSize` parts are in flight, and at most `queueSize`
 * part buffers exist: while every buffer is in flight the body is paused, and the rest of the
 * chunk that filled the last one waits, a slice of that chunk, for the first buffer to come back
 * (a buffer for it alone, rotated through, made one more 8 MiB part resident whenever the target
 * was slower than the download: bench/TUNING.md). A body that ends before its first part is full
 * goes in one PutObject.
 *
 * Every failure — the body's error or early close, a part, the completion — stops reading, lets
 * the requests already on their way finish (S3 keeps a part that lands after an abort, and
 * creates an upload whose request we gave up on: cancelling them would leave both behind; at most
 * `queueSize` parts wait), aborts the multipart upload and rethrows the first error as it came.
 * An abort that fails is left to the bucket's lifecycle rule (incomplete uploads go after a day)
 * and does not mask that error.
 *
 * A part's buffer is reused only once its request has settled with success: the SDK's retries
 * send the same bytes again, and a failed part ends the upload.
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
import { finished, type Readable } from 'node:stream';
import { MIN_UPLOAD_PART_BYTES } from '../core/config';

export interface UploadSettings {
  partBytes: number;
  queueSize: number;
}

const CONTENT_TYPE = 'application/octet-stream';

export async function uploadStream(s3: S3Client, bucket: string, key: string, body: Readable, settings: UploadSettings): Promise<void> {
  const { partBytes, queueSize } = settings;
  // Config allows neither (lib/core/config.ts); a direct caller with no queue would never pause
  // the body, nor send what it holds.
  if (!Number.isInteger(queueSize) || queueSize < 1) throw new RangeError(`queueSize must be a whole number of parts, at least 1; got ${queueSize}`);
  if (!Number.isInteger(partBytes) || partBytes < MIN_UPLOAD_PART_BYTES) throw new RangeError(`partBytes must be a whole number of at least ${MIN_UPLOAD_PART_BYTES}; got ${partBytes}`);
  let uploadId: Promise<string> | undefined;
  const parts: CompletedPart[] = [];
  const inFlight = new Set<Promise<void>>();
  const spare: Buffer[] = [];
  let filling: Buffer | undefined;
  let fillingBytes = 0;
  /** The rest of a chunk that came while every part buffer was in flight. */
  let waiting: Buffer | undefined;
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

  const sendPart = (buffer: Buffer, bytes: number): void => {
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
        ContentLength: bytes,
        Body: buffer.subarray(0, bytes),
      });
      const answer = await s3.send(command);
      parts[partNumber - 1] = { PartNumber: partNumber, ETag: answer.ETag };
    })();
    inFlight.add(sending);
    sending.then(
      () => {
        inFlight.delete(sending);
        spare.push(buffer);
        if (failure) return;
        const rest = waiting;
        waiting = undefined;
        if (rest) take(rest);
        if (!waiting && inFlight.size < queueSize && body.isPaused()) body.resume();
      },
      (error: unknown) => {
        inFlight.delete(sending);
        fail(error);
      },
    );
    if (inFlight.size >= queueSize) body.pause();
  };

  /** Copies `chunk` into part buffers, sending each one full; keeps what no buffer is free for. */
  const take = (chunk: Buffer): void => {
    for (let at = 0; at < chunk.length; ) {
      if (!filling && spare.length === 0 && inFlight.size >= queueSize) {
        waiting = chunk.subarray(at);
        return;
      }
      filling ??= spare.pop() ?? Buffer.allocUnsafeSlow(partBytes);
      const copied = chunk.copy(filling, fillingBytes, at);
      at += copied;
      fillingBytes += copied;
      if (fillingBytes < partBytes) continue;
      sendPart(filling, fillingBytes);
      filling = undefined;
      fillingBytes = 0;
    }
  };

  body.on('data', (chunk: Buffer) => {
    if (failure) return;
    // A paused body emits nothing more; kept in order all the same should one come.
    if (waiting) waiting = Buffer.concat([waiting, chunk]);
    else take(chunk);
  });
  // Ended, failed, or closed before its end (destroyed without an error): each settles `ended`.
  finished(body, { writable: false }, (error) => (error ? fail(error) : settle.resolve()));

  try {
    await ended;
    if (!uploadId) {
      // The whole body fits in one part: no multipart upload at all.
      const bytes = filling?.subarray(0, fillingBytes) ?? Buffer.alloc(0);
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, ContentType: CONTENT_TYPE, ContentLength: bytes.length, Body: bytes }));
      return;
    }
    // The body may end while its last bytes wait for a buffer: a part settling takes them.
    while (waiting && !failure) await Promise.race(inFlight).catch(() => undefined);
    if (filling && fillingBytes > 0) sendPart(filling, fillingBytes);
    filling = undefined;
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
