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

export async function transferPackage(download: Download, inspector: PackageInspector, target: TransferTarget): Promise<TransferResult> {
  const { body } = download;
  const transport = watchTransport(download);
  let contentError: unknown;
  let aborted = false;
  const onAbort = (): void => {
    aborted = true;
    inspector.destroy(new TransferAbortedError());
    body.destroy();
  };
  if (target.signal?.aborted) onAbort();
  target.signal?.addEventListener('abort', onAbort, { once: true });

  let transportBroke = false;
  inspector.once('error', (error) => {
    if (transportBroke) return;
    contentError ??= error;
    body.unpipe(inspector);
    if (aborted || !inspector.formatKnown || error instanceof PackageTooLargeError) {
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
    if (verdict.complete || contentError !== undefined || inspector.destroyed) return;
    transportBroke = true;
    inspector.destroy(asDownloadError(verdict.error));
  });
  body.pipe(inspector);

  let uploadError: unknown;
  // Set when the upload failed first and this code cut the download: its "broken" end is ours.
  let cutAfterUploadFailed = false;
  let bodyEndedAt = 0;
  let uploadedAt = 0;
  void transport.verdict.then(() => {
    bodyEndedAt = performance.now();
  });
  try {
    await uploadStream(target.s3, target.bucket, target.key, inspector, target.upload);
  } catch (error) {
    uploadError = error;
    if (contentError === undefined && !body.readableEnded) {
      cutAfterUploadFailed = true;
      body.destroy();
    }
  } finally {
    uploadedAt = performance.now();
    target.signal?.removeEventListener('abort', onAbort);
  }
  if (aborted) throw new TransferAbortedError();
  const verdict = await transport.verdict;
  if (uploadError === undefined && contentError === undefined) {
    // Stored whole; unless the connection then showed the download was not what was declared.
    const late = transportFailure(verdict, download.contentLength);
    if (late) throw late;
    return { ...inspector.result(), bodyEndedAt: bodyEndedAt || performance.now(), uploadedAt };
  }

  const broken = transportFailure(verdict, download.contentLength);
  if (contentError !== undefined) {
    // The archive was refused; the transport's failure, if any, is the truer answer.
    if (broken && !(contentError instanceof PackageTooLargeError) && inspector.formatKnown) throw broken;
    throw contentError instanceof ServiceError ? contentError : asDownloadError(contentError);
  }
  // The upload failed on its own (S3), or because the body broke (the inspector carried it).
  if (uploadError instanceof ServiceError) throw uploadError;
  const carried = (uploadError as { cause?: unknown } | undefined)?.cause;
  if (carried instanceof ServiceError) throw carried;
  if (broken && !cutAfterUploadFailed) throw broken;
  throw new StorageUnavailableError('S3', uploadError);
}
