/**
 * What the package inspector drives while the bytes stream past: a listing of the archive in
 * its detected format (`tar-listing.ts`, `zip-listing.ts`), fed chunk by chunk, that rejects
 * with the archive's first refusal.
 */
import type { FoundDescription } from './app-desc-finder';
import type { ArchiveSummary } from './archive-safety';

export interface ArchiveListing {
  /**
   * Takes the next chunk. Answers undefined when the caller may go on at once, else a promise to
   * wait for (backpressure); never throws. The archive's first refusal rejects the promise of
   * this or of a later write, or `end()`.
   */
  write(chunk: Buffer): Promise<void> | undefined;
  /** Resolves with the summary once the whole archive has been read and every rule holds. */
  end(): Promise<ArchiveSummary>;
  /** Stops listening. Promises still pending reject, without ever being unhandled. */
  destroy(): void;
  /**
   * A listing that reads the app description itself (on another thread) answers what it found,
   * once `end()` has resolved; the others leave it to the caller's finder.
   */
  foundDescription?(): FoundDescription | undefined;
}

/** The archive formats a package may be in, as detected from its first bytes. */
export type PackageFormat = 'tar.gz' | 'tar' | 'zip';

export const DESTROYED = 'The archive listing was destroyed.';
