/**
 * The archive listing on a worker thread (issue 13; `LISTING_THREAD=true`, off by default): the
 * main thread hashes, uploads and posts each chunk (a copy) to a thread that gunzips, walks and
 * checks the archive and reads its app description, with the same code as in process
 * (`TarListing`, `ZipListing`, `AppDescFinder`). The idea was a second vCPU for the listing and
 * a small heap for the garbage that inflating makes; measured on two cores it cost 1.15–1.3×
 * the CPU and 1.1× the time of listing in process (the thread loads the whole bundle, every
 * chunk is copied, and inflating and walking stay one after the other), so it stays off.
 * It is kept, tested, to measure again where the harness cannot run (a Lambda of 2+ vCPUs).
 *
 * A worker thread needs a file to run. The thread is the script named by `ListingThreadScript`:
 * on Lambda the fetch bundle itself (handlers/fetch.ts builds no handler there), in tests this
 * module run through tsx. Either way, this module serves the listing when it finds itself loaded
 * in a thread marked as a listing thread.
 *
 * At most READ_AHEAD_BYTES are posted and not yet taken by the thread's listing; past that a
 * write answers a promise (backpressure). A refusal comes back as the same error class
 * (INVALID_PACKAGE_FORMAT); anything else as a plain Error with its message. The thread is
 * stopped at the end, on failure and on destroy.
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { AppDescFinder, type FoundDescription } from './app-desc-finder';
import { DESTROYED, type ArchiveListing, type PackageFormat } from './archive-listing';
import type { ArchiveLimits, ArchiveSummary } from './archive-safety';
import { InvalidPackageFormatError, ServiceError } from '../core/errors';
import { TarListing } from './tar-listing';
import { ZipListing } from './zip-listing';

const ROLE = 'bkpaas-listing-thread';
/** Bytes posted to the thread and not yet taken by its listing, before a write must wait. */
export const READ_AHEAD_BYTES = 4 * 1024 * 1024;

/**
 * The thread itself failed (it ran out of memory, its script did not load, it exited): our fault,
 * not the archive's or the remote's, so the transfer answers it as unexpected, not as a refusal.
 */
export class ListingThreadError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ListingThreadError';
  }
}

export interface ListingThreadScript {
  /** The file the thread runs: the fetch bundle on Lambda. */
  file: string;
  /** Node options for the thread (tests: `--import tsx`). */
  execArgv?: string[];
}

interface ThreadSetup {
  role: typeof ROLE;
  format: PackageFormat;
  limits: ArchiveLimits;
}

type ToThread = { type: 'chunk'; bytes: Uint8Array } | { type: 'end' };
type FromThread =
  | { type: 'taken'; bytes: number }
  | { type: 'done'; summary: ArchiveSummary; found: FoundDescription | undefined }
  | { type: 'failed'; code?: string; detail?: string; message: string };

/** Whether this thread was started as a listing thread. */
export function isListingThread(): boolean {
  return !isMainThread && (workerData as Partial<ThreadSetup> | null)?.role === ROLE;
}

function noop(): void {}

/** The thread's side: one listing, fed by the messages of the main thread. */
function serveListing(setup: ThreadSetup): void {
  const port = parentPort;
  if (!port) return;
  const finder = new AppDescFinder();
  const listing =
    setup.format === 'zip' ? new ZipListing(setup.limits, finder.open, finder.listed) : new TarListing(setup.format, setup.limits, finder.open);
  let over = false;
  const failed = (error: unknown): void => {
    if (over) return;
    over = true;
    const message = error instanceof Error ? error.message : String(error);
    const answer: FromThread =
      error instanceof ServiceError ? { type: 'failed', code: error.code, detail: error.detail, message } : { type: 'failed', message };
    port.postMessage(answer);
    listing.destroy();
    port.close();
  };
  let chain: Promise<void> | undefined;
  port.on('message', (message: ToThread) => {
    if (message.type === 'end') {
      void (chain ?? Promise.resolve())
        .then(() => listing.end())
        .then((summary) => {
          if (over) return;
          over = true;
          port.postMessage({ type: 'done', summary, found: finder.result() } satisfies FromThread);
          port.close();
        }, failed);
      return;
    }
    const chunk = Buffer.from(message.bytes.buffer, message.bytes.byteOffset, message.bytes.byteLength);
    const take = (): Promise<void> | undefined => {
      const wait = listing.write(chunk);
      if (!wait) return void port.postMessage({ type: 'taken', bytes: chunk.length } satisfies FromThread);
      return wait.then(() => port.postMessage({ type: 'taken', bytes: chunk.length } satisfies FromThread));
    };
    // Chunks are taken in order: once one had to wait, the next waits behind it.
    chain = chain ? chain.then(take) : take();
    chain?.catch(failed);
  });
}

if (isListingThread()) serveListing(workerData as ThreadSetup);

/** A Buffer again (structured cloning makes Buffers plain Uint8Arrays). */
function asBuffer(bytes: Buffer | Uint8Array | 'too large'): Buffer | 'too large' {
  return bytes === 'too large' ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function revived(found: FoundDescription | undefined): FoundDescription | undefined {
  if (!found) return undefined;
  return { ...found, content: asBuffer(found.content), logo: found.logo === undefined ? undefined : asBuffer(found.logo) };
}

/** The main thread's side: an ArchiveListing whose work runs in a thread. */
export class ThreadedListing implements ArchiveListing {
  private readonly worker: Worker;
  private posted = 0;
  private taken = 0;
  private failure: Error | undefined;
  private waiting: { resolve: () => void; reject: (error: Error) => void } | undefined;
  private readonly finished: Promise<{ summary: ArchiveSummary; found: FoundDescription | undefined }>;
  private found: FoundDescription | undefined;
  /** Resolves with the thread's exit code once it has stopped. */
  readonly exited: Promise<number>;

  constructor(format: PackageFormat, limits: ArchiveLimits, script: ListingThreadScript) {
    const setup: ThreadSetup = { role: ROLE, format, limits };
    this.worker = new Worker(script.file, { workerData: setup, execArgv: script.execArgv ?? [] });
    this.exited = new Promise((resolve) => this.worker.once('exit', resolve));
    this.finished = new Promise((resolve, reject) => {
      this.worker.on('message', (message: FromThread) => {
        if (message.type === 'taken') {
          this.taken += message.bytes;
          if (this.waiting && this.posted - this.taken <= READ_AHEAD_BYTES) {
            this.waiting.resolve();
            this.waiting = undefined;
          }
        } else if (message.type === 'done') {
          resolve({ summary: message.summary, found: revived(message.found) });
        } else {
          const error =
            message.code === 'INVALID_PACKAGE_FORMAT' && message.detail !== undefined
              ? new InvalidPackageFormatError(message.detail)
              : new ListingThreadError(`The archive listing failed: ${message.message}`);
          this.fail(error);
          reject(error);
        }
      });
      this.worker.once('error', (cause) => {
        const error = new ListingThreadError(`The archive listing thread failed: ${cause.message}`, { cause });
        this.fail(error);
        reject(error);
      });
      this.worker.once('exit', (code) => {
        const error = new ListingThreadError(`The archive listing thread stopped (exit code ${code}).`);
        this.fail(error);
        reject(error);
      });
    });
    this.finished.catch(noop);
  }

  write(chunk: Buffer): Promise<void> | undefined {
    if (this.failure) return Promise.reject(this.failure);
    if (this.waiting) return Promise.reject(new Error('ThreadedListing.write: the previous write is still waiting; wait for it first.'));
    // The chunk also goes on to the upload, so the thread gets a copy of exactly its bytes, handed
    // over rather than cloned again (cloning a view would copy the whole buffer it is cut from).
    const bytes = new Uint8Array(chunk);
    this.worker.postMessage({ type: 'chunk', bytes } satisfies ToThread, [bytes.buffer]);
    this.posted += chunk.length;
    if (this.posted - this.taken <= READ_AHEAD_BYTES) return undefined;
    const wait = new Promise<void>((resolve, reject) => {
      this.waiting = { resolve, reject };
    });
    // A caller that gave up on this write (destroy) must not leave an unhandled rejection.
    wait.catch(noop);
    return wait;
  }

  async end(): Promise<ArchiveSummary> {
    if (this.failure) throw this.failure;
    this.worker.postMessage({ type: 'end' } satisfies ToThread);
    try {
      const { summary, found } = await this.finished;
      this.found = found;
      return summary;
    } finally {
      void this.worker.terminate();
    }
  }

  /** The app description the thread's finder chose; valid once `end()` has resolved. */
  foundDescription(): FoundDescription | undefined {
    return this.found;
  }

  destroy(): void {
    this.fail(new Error(DESTROYED));
    void this.worker.terminate();
  }

  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    this.waiting?.reject(error);
    this.waiting = undefined;
  }
}
