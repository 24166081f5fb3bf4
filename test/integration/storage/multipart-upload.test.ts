/**
 * The lean multipart uploader (lib/storage/multipart-upload.ts) against the real S3 emulator
 * (s3rver behind the fetch role's IAM check): what it stores, how it cuts parts, and that every
 * failure path aborts the multipart upload and leaves no object. Faults at an exact moment (a
 * part, the completion or the creation refused; a part's first attempt answered 500; an answer
 * held back while the body fails) come from a
 * wrapper around the real client — a mock, said so in each test's name — since no emulator fails
 * on cue.
 */
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../lib/core/logger';
import { uploadStream } from '../../../lib/storage/multipart-upload';
import { abortUploadsAt } from '../../../lib/storage/package-store';
import { multipartUploadsInProgress, objectBytes, startTestStorage, type TestStorage } from '../../helpers/storage';

const MiB = 1024 * 1024;
const SETTINGS = { partBytes: 5 * MiB, queueSize: 2 };

let storage: TestStorage;

beforeAll(async () => {
  storage = await startTestStorage();
});

afterAll(async () => {
  await storage?.close();
});

function uniqueKey(): string {
  return `packages/upload-test/default/${randomUUID()}`;
}

/** `total` random bytes in chunks of `chunkBytes` (the last shorter), and the stream of them. */
function chunked(total: number, chunkBytes: number): { bytes: Buffer; body: () => Readable } {
  const bytes = randomBytes(total);
  const chunks: Buffer[] = [];
  for (let at = 0; at < total; at += chunkBytes) chunks.push(bytes.subarray(at, at + chunkBytes));
  return { bytes, body: () => Readable.from(chunks) };
}

/** A body that sends `before` bytes and then fails with `error`. */
function failingBody(before: number, error: Error): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= before) return this.destroy(error);
      const chunk = randomBytes(Math.min(256 * 1024, before - sent));
      sent += chunk.length;
      this.push(chunk);
    },
  });
}

/** Fails unless each part buffer was sent again only after the part it last held had settled. */
function expectReuseOnlyAfterSettled(calls: Call[]): void {
  const parts = calls.filter((c) => c.command === 'UploadPartCommand');
  for (const [i, part] of parts.entries()) {
    const next = parts.slice(i + 1).find((later) => later.memory === part.memory);
    if (next) expect(next.sentAt).toBeGreaterThan(part.settledAt ?? Infinity);
  }
}

interface Call {
  command: string;
  /** The part number and body length of an UploadPart. */
  part?: number;
  length?: number;
  /** The memory an UploadPart's body lies in: one per part buffer. */
  memory?: ArrayBufferLike;
  /** When it was sent and when its promise settled, on one counter of both. */
  sentAt: number;
  settledAt?: number;
}

interface Faults {
  /** An error to throw at once instead of sending the command. */
  refuse?: (command: string, callIndex: number, part?: number) => Error | undefined;
  /**
   * Milliseconds to hold the answer back after s3rver has acted on the command. A signal that
   * fires meanwhile rejects it at once, as the SDK gives up on a request in flight.
   */
  hold?: (command: string, part?: number) => number;
}

function abortError(): Error {
  return Object.assign(new Error('The operation was aborted'), { name: 'AbortError' });
}

function held<T>(answer: Promise<T>, ms: number, signal: AbortSignal | undefined): Promise<T> {
  if (ms <= 0) return answer;
  return answer.then(
    (value) =>
      new Promise<T>((resolve, reject) => {
        if (signal?.aborted) return reject(abortError());
        const timer = setTimeout(() => resolve(value), ms);
        signal?.addEventListener('abort', () => {
          clearTimeout(timer);
          reject(abortError());
        }, { once: true });
      }),
  );
}

/**
 * The fetch role's client behind a recording wrapper (a mock only where `refuse` says): each
 * command is sent to s3rver unless `refuse` answers an error for it, which is thrown at once.
 */
function recordingClient(faults: Faults | Faults['refuse'] = {}): {
  s3: S3Client;
  calls: Call[];
} {
  const { refuse = () => undefined, hold = () => 0 } = typeof faults === 'function' ? { refuse: faults } : faults;
  const real = storage.clientsOf('fetch').s3;
  const calls: Call[] = [];
  let clock = 0;
  const s3 = new Proxy(real, {
    get(target, property, receiver) {
      if (property !== 'send') return Reflect.get(target, property, receiver);
      return (command: { constructor: { name: string }; input: { PartNumber?: number; ContentLength?: number; Body?: unknown } }, ...rest: unknown[]) => {
        const { PartNumber: part, ContentLength: length, Body: body } = command.input;
        const memory = body instanceof Uint8Array ? body.buffer : undefined;
        const call: Call = { command: command.constructor.name, part, length, memory, sentAt: clock++ };
        calls.push(call);
        const refusal = refuse(call.command, calls.length - 1, call.part);
        const signal = (rest[0] as { abortSignal?: AbortSignal } | undefined)?.abortSignal;
        const sent = refusal ? Promise.reject(refusal) : held(target.send(command as never, ...(rest as [])), hold(call.command, call.part), signal);
        return sent.finally(() => {
          call.settledAt = clock++;
        });
      };
    },
  });
  return { s3, calls };
}

async function exists(key: string): Promise<boolean> {
  try {
    await storage.s3.send(new HeadObjectCommand({ Bucket: storage.bucket, Key: key }));
    return true;
  } catch {
    return false;
  }
}

/** Compared as digests: vitest compares 12 MiB buffers byte by byte for a minute. */
function digest(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function internalError(): Error {
  return Object.assign(new Error('We encountered an internal error. Please try again.'), { name: 'InternalError', $metadata: { httpStatusCode: 500 } });
}

describe('uploadStream: what it stores', () => {
  it('stores the bytes exactly, in parts of exactly partBytes whatever the chunks, reusing a part buffer only after its part is stored', async () => {
    // Arrange: chunks that straddle every part boundary, and more parts than buffers (queueSize).
    const key = uniqueKey();
    const chunkBytes = 300 * 1024 + 7;
    const { bytes, body } = chunked(5 * SETTINGS.partBytes + 123, chunkBytes);
    const { s3, calls } = recordingClient();

    // Act
    await uploadStream(s3, storage.bucket, key, body(), SETTINGS);

    // Assess
    expect(digest(await objectBytes(storage, key))).toBe(digest(bytes));
    const parts = calls.filter((c) => c.command === 'UploadPartCommand');
    expect(parts.map((p) => p.part)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(parts.map((p) => p.length)).toEqual([...Array<number>(5).fill(SETTINGS.partBytes), 123]);
    expect(calls.map((c) => c.command)).toEqual([
      'CreateMultipartUploadCommand',
      ...Array<string>(6).fill('UploadPartCommand'),
      'CompleteMultipartUploadCommand',
    ]);
    expectReuseOnlyAfterSettled(calls);
  });

  it('holds at most queueSize part buffers while the target is slower than the body, the rest of a chunk waiting for one (mock: answers held back)', async () => {
    // Arrange: every part's answer held back, so the queue is full whenever a part fills; the last
    // chunk straddles the fifth part's end, so the body ends while its last 123 bytes wait.
    const key = uniqueKey();
    const { bytes, body } = chunked(5 * SETTINGS.partBytes + 123, 300 * 1024 + 7);
    const { s3, calls } = recordingClient({ hold: (command) => (command === 'UploadPartCommand' ? 150 : 0) });

    // Act
    await uploadStream(s3, storage.bucket, key, body(), SETTINGS);

    // Assess
    expect(digest(await objectBytes(storage, key))).toBe(digest(bytes));
    const parts = calls.filter((c) => c.command === 'UploadPartCommand');
    expect(parts.map((p) => p.length)).toEqual([...Array<number>(5).fill(SETTINGS.partBytes), 123]);
    expect(new Set(parts.map((p) => p.memory)).size).toBe(SETTINGS.queueSize);
    expectReuseOnlyAfterSettled(calls);
  });

  it('refuses settings with no queue or parts below S3\'s minimum, before reading the body', async () => {
    for (const settings of [{ ...SETTINGS, queueSize: 0 }, { ...SETTINGS, queueSize: Number.NaN }, { ...SETTINGS, partBytes: 5 * MiB - 1 }]) {
      const { body } = chunked(11 * MiB, 300 * 1024 + 7);
      const { s3, calls } = recordingClient();
      await expect(uploadStream(s3, storage.bucket, uniqueKey(), body(), settings)).rejects.toThrow(RangeError);
      expect(calls).toEqual([]);
    }
  });

  it('sends a body smaller than one part in a single PutObject, without a multipart upload', async () => {
    const key = uniqueKey();
    const { bytes, body } = chunked(3 * MiB, 64 * 1024);
    const { s3, calls } = recordingClient();

    await uploadStream(s3, storage.bucket, key, body(), SETTINGS);

    expect(digest(await objectBytes(storage, key))).toBe(digest(bytes));
    expect(calls.map((c) => c.command)).toEqual(['PutObjectCommand']);
  });

  it('sends a part again, whole, when its first attempt fails with a 500 (mock: the SDK sees the 500 instead of s3rver\'s answer)', async () => {
    // Arrange: the SDK retries; the second attempt must carry the part's bytes from the start.
    const key = uniqueKey();
    const { bytes, body } = chunked(11 * MiB, 128 * 1024);
    const s3 = storage.clientsOf('fetch').s3;
    const attempts: number[] = [];
    let failed = false;
    const fail500 = (next: (args: unknown) => Promise<unknown>) => async (args: unknown) => {
      const request = (args as { request: { path?: string; query?: Record<string, string>; body?: unknown } }).request;
      if (request.query?.partNumber === '2') {
        attempts.push(2);
        if (!failed) {
          failed = true;
          throw internalError();
        }
      }
      return next(args);
    };
    s3.middlewareStack.add(fail500 as never, { step: 'deserialize', name: 'fail500Once', priority: 'low' });

    try {
      // Act
      await uploadStream(s3, storage.bucket, key, body(), SETTINGS);
    } finally {
      s3.middlewareStack.remove('fail500Once');
    }

    // Assess
    expect(failed).toBe(true);
    expect(attempts).toEqual([2, 2]);
    expect(digest(await objectBytes(storage, key))).toBe(digest(bytes));
  });
});

describe('uploadStream: every failure aborts the upload and leaves no object', () => {
  it('aborts when the body fails after two parts (real s3rver, no mock)', async () => {
    const key = uniqueKey();
    const broken = new Error('the download broke');

    await expect(uploadStream(storage.clientsOf('fetch').s3, storage.bucket, key, failingBody(11 * MiB, broken), SETTINGS)).rejects.toBe(broken);

    expect(await multipartUploadsInProgress(storage)).toBe(0);
    expect(await exists(key)).toBe(false);
  });

  it('aborts when the third part is refused (mock), only after the parts in flight have settled, and rethrows that error', async () => {
    const key = uniqueKey();
    const refusal = internalError();
    // Part 2's answer is held back (mock): it is still on its way when part 3 is refused.
    const { s3, calls } = recordingClient({
      refuse: (command, _index, part) => (command === 'UploadPartCommand' && part === 3 ? refusal : undefined),
      hold: (command, part) => (command === 'UploadPartCommand' && part === 2 ? 300 : 0),
    });

    await expect(uploadStream(s3, storage.bucket, key, chunked(22 * MiB, 256 * 1024).body(), SETTINGS)).rejects.toBe(refusal);

    const abort = calls.find((c) => c.command === 'AbortMultipartUploadCommand');
    expect(abort).toBeDefined();
    expect(calls[calls.length - 1]).toBe(abort);
    for (const call of calls.filter((c) => c.command === 'UploadPartCommand')) expect(call.settledAt).toBeLessThan(abort?.sentAt ?? -1);
    expect(calls.some((c) => c.command === 'CompleteMultipartUploadCommand')).toBe(false);
    expect(await multipartUploadsInProgress(storage)).toBe(0);
    expect(await exists(key)).toBe(false);
  });

  it('aborts when CompleteMultipartUpload is refused (mock)', async () => {
    const key = uniqueKey();
    const refusal = internalError();
    const { s3, calls } = recordingClient((command) => (command === 'CompleteMultipartUploadCommand' ? refusal : undefined));

    await expect(uploadStream(s3, storage.bucket, key, chunked(11 * MiB, 256 * 1024).body(), SETTINGS)).rejects.toBe(refusal);

    expect(calls.map((c) => c.command).slice(-2)).toEqual(['CompleteMultipartUploadCommand', 'AbortMultipartUploadCommand']);
    expect(await multipartUploadsInProgress(storage)).toBe(0);
    expect(await exists(key)).toBe(false);
  });

  it('rethrows a refused CreateMultipartUpload (mock) with nothing to abort and nothing stored', async () => {
    const key = uniqueKey();
    const refusal = Object.assign(new Error('Access Denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
    const { s3, calls } = recordingClient((command) => (command === 'CreateMultipartUploadCommand' ? refusal : undefined));

    await expect(uploadStream(s3, storage.bucket, key, chunked(11 * MiB, 256 * 1024).body(), SETTINGS)).rejects.toBe(refusal);

    expect(calls.some((c) => c.command === 'AbortMultipartUploadCommand')).toBe(false);
    expect(await multipartUploadsInProgress(storage)).toBe(0);
    expect(await exists(key)).toBe(false);
  });

  it('aborts an upload whose creation was on its way when the body failed (mock: its answer held back)', async () => {
    const key = uniqueKey();
    const broken = new Error('the download broke');
    // s3rver creates the upload at once; its answer comes 300 ms later, long after the body failed.
    const { s3, calls } = recordingClient({ hold: (command) => (command === 'CreateMultipartUploadCommand' ? 300 : 0) });

    await expect(uploadStream(s3, storage.bucket, key, failingBody(5 * MiB + 256 * 1024, broken), SETTINGS)).rejects.toBe(broken);

    expect(calls.map((c) => c.command)).toEqual(['CreateMultipartUploadCommand', 'AbortMultipartUploadCommand']);
    expect(await multipartUploadsInProgress(storage)).toBe(0);
    expect(await exists(key)).toBe(false);
  });

  it('settles when the body is destroyed without an error, aborting what it started', async () => {
    const key = uniqueKey();
    let sent = 0;
    const body = new Readable({
      read() {
        if (sent >= 6 * MiB) return void this.destroy();
        sent += 256 * 1024;
        this.push(randomBytes(256 * 1024));
      },
    });

    await expect(uploadStream(storage.clientsOf('fetch').s3, storage.bucket, key, body, SETTINGS)).rejects.toMatchObject({ code: 'ERR_STREAM_PREMATURE_CLOSE' });

    expect(await multipartUploadsInProgress(storage)).toBe(0);
    expect(await exists(key)).toBe(false);
  });

  it('still rethrows the first error when the abort itself is refused (mock), leaving the upload to the lifecycle rule', async () => {
    const key = uniqueKey();
    const refusal = internalError();
    const abortRefusal = internalError();
    const { s3, calls } = recordingClient((command, _index, part) =>
      command === 'UploadPartCommand' && part === 2 ? refusal : command === 'AbortMultipartUploadCommand' ? abortRefusal : undefined,
    );

    await expect(uploadStream(s3, storage.bucket, key, chunked(11 * MiB, 256 * 1024).body(), SETTINGS)).rejects.toBe(refusal);

    try {
      expect(calls.filter((c) => c.command === 'AbortMultipartUploadCommand')).toHaveLength(1);
      expect(await multipartUploadsInProgress(storage)).toBe(1);
      expect(await exists(key)).toBe(false);
    } finally {
      // What the lifecycle rule would do, so that later tests count from zero.
      await abortUploadsAt(storage.s3, storage.bucket, key, createLogger({}, 'error'));
    }
  });
});

describe('uploadStream: a failure while the rest of a chunk waits for a part buffer', () => {
  // Chunks that do not divide a part, and parts answered late: whenever the last buffer fills,
  // the rest of its chunk waits for a part to settle.
  const AWKWARD = 300 * 1024 + 7;

  it('rethrows a refused part, aborts and leaves no object (mock: part 3 refused, answers held back)', async () => {
    const key = uniqueKey();
    const refusal = internalError();
    const { s3, calls } = recordingClient({
      refuse: (command, _i, part) => (command === 'UploadPartCommand' && part === 3 ? refusal : undefined),
      hold: (command) => (command === 'UploadPartCommand' ? 150 : 0),
    });

    await expect(uploadStream(s3, storage.bucket, key, chunked(8 * SETTINGS.partBytes, AWKWARD).body(), SETTINGS)).rejects.toBe(refusal);

    expect(calls.at(-1)?.command).toBe('AbortMultipartUploadCommand');
    expect(await multipartUploadsInProgress(storage)).toBe(0);
    expect(await exists(key)).toBe(false);
  });

  it('rethrows the body\'s error, aborts and leaves no object (mock: answers held back)', async () => {
    const key = uniqueKey();
    const broken = new Error('the download broke while bytes waited');
    const body = new Readable({
      read() {
        this.push(randomBytes(AWKWARD));
      },
    });
    setTimeout(() => body.destroy(broken), 200);
    const { s3 } = recordingClient({ hold: (command) => (command === 'UploadPartCommand' ? 600 : 0) });

    await expect(uploadStream(s3, storage.bucket, key, body, SETTINGS)).rejects.toBe(broken);

    expect(await multipartUploadsInProgress(storage)).toBe(0);
    expect(await exists(key)).toBe(false);
  });

  it('does not complete when the body ends while bytes wait and the part that would free a buffer fails (mock: part 4 fails on its answer)', async () => {
    const key = uniqueKey();
    const refusal = internalError();
    const { s3: recording, calls } = recordingClient({ hold: (command, part) => (command === 'UploadPartCommand' ? (part === 4 ? 50 : 300) : 0) });
    const s3 = new Proxy(recording, {
      get(target, property, receiver) {
        if (property !== 'send') return Reflect.get(target, property, receiver);
        return (command: { constructor: { name: string }; input: { PartNumber?: number } }, ...rest: unknown[]) => {
          const sent = (target.send as (...args: unknown[]) => Promise<unknown>)(command, ...rest);
          return command.constructor.name === 'UploadPartCommand' && command.input.PartNumber === 4 ? sent.then(() => Promise.reject(refusal)) : sent;
        };
      },
    });

    await expect(uploadStream(s3, storage.bucket, key, chunked(4 * SETTINGS.partBytes + 123, AWKWARD).body(), SETTINGS)).rejects.toBe(refusal);

    expect(calls.some((c) => c.command === 'CompleteMultipartUploadCommand')).toBe(false);
    expect(await multipartUploadsInProgress(storage)).toBe(0);
    expect(await exists(key)).toBe(false);
  });
});
