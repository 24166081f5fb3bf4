/**
 * Lists a .tar.gz or .tar while its bytes stream past: for .tar.gz the gzip file is read
 * (`gzip-reader.ts`) and its content handed to the tar walk (`tar-parser.ts`) as it inflates.
 * Nothing is buffered beyond a chunk and one header, and nothing touches disk.
 */
import { DESTROYED, type ArchiveListing } from './archive-listing';
import type { ArchiveLimits, ArchiveSummary } from './archive-safety';
import { ByteFeed, HIGH_WATER } from './byte-feed';
import { readGzip } from './gzip-reader';
import { TarParser, type ContentReader } from './tar-parser';

function noop(): void {}

export class TarListing implements ArchiveListing {
  private readonly parser: TarParser;
  /** .tar.gz only: the compressed bytes, and the reading of them. */
  private readonly gzip: { feed: ByteFeed; read: Promise<void> } | undefined;
  private failure: Error | undefined;

  /** @param readAheadBytes compressed bytes taken ahead of the gunzip (ByteFeed; 0: none) */
  constructor(format: 'tar.gz' | 'tar', limits: ArchiveLimits, contentOf?: ContentReader, readAheadBytes = HIGH_WATER) {
    this.parser = new TarParser(format === 'tar.gz', limits, contentOf);
    if (format === 'tar.gz') {
      const feed = new ByteFeed(readAheadBytes);
      const read = readGzip(feed, (bytes) => this.parser.write(bytes)).then(
        () => feed.finish(),
        (error: Error) => {
          this.fail(error);
          throw error;
        },
      );
      read.catch(noop);
      this.gzip = { feed, read };
    }
  }

  write(chunk: Buffer): Promise<void> | undefined {
    if (this.failure) return Promise.reject(this.failure);
    if (this.gzip) return this.gzip.feed.push(chunk);
    try {
      this.parser.write(chunk);
      return undefined;
    } catch (error) {
      this.fail(error as Error);
      return Promise.reject(error as Error);
    }
  }

  async end(): Promise<ArchiveSummary> {
    // A turn first, so a destroy() right after end() wins over a summary computed too early.
    await null;
    if (this.failure) throw this.failure;
    if (this.gzip) {
      this.gzip.feed.end();
      await this.gzip.read;
    }
    try {
      return this.parser.end();
    } catch (error) {
      this.fail(error as Error);
      throw error;
    }
  }

  destroy(): void {
    this.fail(new Error(DESTROYED), true);
  }

  private fail(error: Error, quiet = false): void {
    if (this.failure) return;
    this.failure = error;
    this.gzip?.feed.fail(error, { quiet });
  }
}
