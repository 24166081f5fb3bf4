/**
 * The download piped through the inspector into an S3 multipart upload, and the verdict on how
 * it went. A download the remote cut short or stalled is the transport's failure (502/504,
 * retryable) even when the archive listing has already complained about the bytes it saw: when
 * the listing refuses an archive before the body has ended, the rest of the body is drained
 * (within the download's own time limits and the size cap) to learn whether it arrives whole.
 * Only a complete download that is not a valid archive is the archive's fault (422). A wrong
 * format seen in the first bytes is answered at once.
 */
import { finished } from 'node:stream';
import { asDownloadError, type Download } from '../download/download-guard';
import { PackageDownloadFailedError, PackageTooLargeError, ServiceError, StorageUnavailableError, TransferAbortedError } from '../core/errors';
import type { InspectionResult, PackageInspector } from '../archive/package-inspector';
import { uploadStream, type UploadSettings } from '../storage/package-store';
import type { S3Client } from '@aws-sdk/client-s3';

export interface TransferTarget {
  s3: S3Client;
  bucket: string;
  key: string;
  upload: UploadSettings;
  maxBytes: number;
  /** Aborts the transfer (the run lost its job): the upload is abandoned. */
  signal?: AbortSignal;
}

type TransportVerdict = { complete: true; bytes: number } | { complete: false; error: unknown };

// After the body's last byte the connection closes at once (one request per connection); a
// failure it reports in that time is the transport's. Past this, the body's own end is trusted.
const CLOSE_GRACE_MS = 1_000;

/**
 * Resolves with how the download ended: read to its end on a connection that closed cleanly,
 * or broken (reset, timed out, destroyed, more bytes than declared).
 */
function watchTransport(download: Download): { verdict: Promise<TransportVerdict>; bytes: () => number } {
  const { body } = download;
  let bytes = 0;
  body.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
  });
  // finished() also answers for a body that broke before anyone listened.
  const verdict = new Promise<TransportVerdict>((resolve) => {
    finished(body, { readable: true, writable: false }, (error) => {
      if (error) return resolve({ complete: false, error });
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<undefined>((done) => {
        timer = setTimeout(() => done(undefined), CLOSE_GRACE_MS);
      });
      void Promise.race([download.exchange, grace]).then((failure) => {
        clearTimeout(timer);
        resolve(failure ? { complete: false, error: failure } : { complete: true, bytes });
      });
    });
  });
  return { verdict, bytes: () => bytes };
}

/** The transport's own failure, if it had one: broken, or fewer or more bytes than declared. */
function transportFailure(verdict: TransportVerdict, declared: number | undefined): ServiceError | undefined {
  if (!verdict.complete) return asDownloadError(verdict.error);
  if (declared !== undefined && verdict.bytes !== declared) {
    return new PackageDownloadFailedError(`The package URL declared ${declared} bytes but sent ${verdict.bytes}.`, { transient: true });
  }
  return undefined;
}

/** What was stored, and when the body ended and the upload completed (`performance.now()`, a monotonic clock). */
export interface TransferResult extends InspectionResult {
  bodyEndedAt: number;
  uploadedAt: number;
}

/** What each end of the transfer did, noted as it happens and read once both have settled. */
interface Ends {
  /** The run lost its job: the transfer was abandoned. */
  aborted: boolean;
  /** The inspector refused the bytes (the archive's fault, unless the transport broke too). */
  contentError: unknown;
  /** The transport broke first, and the inspector was destroyed with its error. */
  transportBroke: boolean;
  uploadError: unknown;
  /** The upload failed first and this code cut the download: its "broken" end is ours. */
  cutAfterUploadFailed: boolean;
  /** When the body ended, on the monotonic clock (0 until it has). */
  bodyEndedAt: number;
}

export async function transferPackage(download: Download, inspector: PackageInspector, target: TransferTarget): Promise<TransferResult> {
  const { body } = download;
  const transport = watchTransport(download);
  const ends: Ends = { aborted: false, contentError: undefined, transportBroke: false, uploadError: undefined, cutAfterUploadFailed: false, bodyEndedAt: 0 };
  const onAbort = (): void => {
    ends.aborted = true;
    inspector.destroy(new TransferAbortedError());
    body.destroy();
  };
  if (target.signal?.aborted) onAbort();
  target.signal?.addEventListener('abort', onAbort, { once: true });

  inspector.once('error', (error) => {
    if (ends.transportBroke) return;
    ends.contentError ??= error;
    body.unpipe(inspector);
    if (ends.aborted || !inspector.formatKnown || error instanceof PackageTooLargeError) {
      body.destroy();
      return;
    }
    // Read on, discarding, to learn whether the body arrives whole; never past the size cap.
    body.on('data', () => {
      if (transport.bytes() > target.maxBytes) body.destroy(new PackageTooLargeError(target.maxBytes));
    });
    body.resume();
  });
  // A broken body breaks the upload too (pipe() does not carry errors).
  void transport.verdict.then((verdict) => {
    ends.bodyEndedAt = performance.now();
    if (verdict.complete || ends.contentError !== undefined || inspector.destroyed) return;
    ends.transportBroke = true;
    inspector.destroy(asDownloadError(verdict.error));
  });
  body.pipe(inspector);

  try {
    await uploadStream(target.s3, target.bucket, target.key, inspector, target.upload);
  } catch (error) {
    ends.uploadError = error;
    if (ends.contentError === undefined && !body.readableEnded) {
      ends.cutAfterUploadFailed = true;
      body.destroy();
    }
  } finally {
    target.signal?.removeEventListener('abort', onAbort);
  }
  const uploadedAt = performance.now();
  if (ends.aborted) throw new TransferAbortedError();
  const failure = failureOf(ends, await transport.verdict, download.contentLength, inspector.formatKnown);
  if (failure) throw failure;
  return { ...inspector.result(), bodyEndedAt: ends.bodyEndedAt || performance.now(), uploadedAt };
}

/**
 * Which failure is the transfer's answer once both ends have settled, or undefined when the
 * package was stored whole: the one place that decides which error wins.
 */
function failureOf(ends: Ends, verdict: TransportVerdict, declared: number | undefined, formatKnown: boolean): ServiceError | undefined {
  const broken = transportFailure(verdict, declared);
  const { contentError, uploadError } = ends;
  // Stored whole; unless the connection then showed the download was not what was declared.
  if (uploadError === undefined && contentError === undefined) return broken;
  if (contentError !== undefined) {
    // The archive was refused; the transport's failure, if any, is the truer answer.
    if (broken && !(contentError instanceof PackageTooLargeError) && formatKnown) return broken;
    return contentError instanceof ServiceError ? contentError : asDownloadError(contentError);
  }
  // The upload failed on its own (S3), or because the body broke (the inspector carried it).
  if (uploadError instanceof ServiceError) return uploadError;
  const carried = (uploadError as { cause?: unknown } | undefined)?.cause;
  if (carried instanceof ServiceError) return carried;
  if (broken && !ends.cutAfterUploadFailed) return broken;
  return new StorageUnavailableError('S3', uploadError);
}
