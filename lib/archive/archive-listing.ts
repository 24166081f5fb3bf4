/**
 * What the package inspector drives while the bytes stream past: a listing of the archive in
 * its detected format (`tar-listing.ts`, `zip-listing.ts`), fed chunk by chunk, that rejects
 * with the archive's first refusal.
 */
import type { ArchiveSummary } from './archive-safety';

export interface ArchiveListing {
  /** Resolves once the chunk has been taken; rejects with the archive's first refusal. */
  write(chunk: Buffer): Promise<void>;
  /** Resolves with the summary once the whole archive has been read and every rule holds. */
  end(): Promise<ArchiveSummary>;
  /** Stops listening. Promises still pending reject, without ever being unhandled. */
  destroy(): void;
}

/** The archive formats a package may be in, as detected from its first bytes. */
export type PackageFormat = 'tar.gz' | 'tar' | 'zip';

export const DESTROYED = 'The archive listing was destroyed.';
