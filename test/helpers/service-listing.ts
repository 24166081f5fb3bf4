/**
 * What the service makes of an archive's bytes, for tests that hold it against other readers:
 * the verdict of the whole inspection (the same `PackageInspector` the worker streams through,
 * polyglot and gzip checks included) and, when it accepts, every entry as the listing saw it —
 * names and link targets as the service decoded them (bytes that are not UTF-8 as U+DC80–U+DCFF).
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import type { ArchiveEntry, ArchiveLimits } from '../../lib/archive/archive-safety';
import { PackageInspector, sniffFormat } from '../../lib/archive/package-inspector';
import { TarListing } from '../../lib/archive/tar-listing';
import { ZipListing } from '../../lib/archive/zip-listing';

export const SERVICE_LIMITS: ArchiveLimits = { maxEntries: 200_000, maxUncompressedBytes: 4 * 1024 ** 3 };

export type ServiceVerdict =
  | { ok: true; format: 'tar.gz' | 'tar' | 'zip'; entries: ArchiveEntry[] }
  | { ok: false; error: string };

const CHUNK = 64 * 1024;

function chunksOf(bytes: Buffer): Buffer[] {
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += CHUNK) chunks.push(bytes.subarray(at, at + CHUNK));
  return chunks;
}

async function entriesOf(format: 'tar.gz' | 'tar' | 'zip', bytes: Buffer): Promise<ArchiveEntry[]> {
  const entries: ArchiveEntry[] = [];
  const listing =
    format === 'zip'
      ? new ZipListing(SERVICE_LIMITS, undefined, (entry) => entries.push(entry))
      : new TarListing(format, SERVICE_LIMITS, (entry) => {
          entries.push(entry);
          return undefined;
        });
  for (const chunk of chunksOf(bytes)) await listing.write(chunk);
  await listing.end();
  return entries;
}

/** The service's verdict on `bytes`, and its listing when it accepts them. */
export async function serviceVerdict(bytes: Buffer, limits: ArchiveLimits = SERVICE_LIMITS): Promise<ServiceVerdict> {
  const inspector = new PackageInspector(8 * 1024 ** 3, bytes.length, limits);
  const sink = new Writable({ write: (_chunk, _encoding, callback) => callback() });
  try {
    await pipeline(Readable.from(chunksOf(bytes)), inspector, sink);
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  }
  const format = sniffFormat(bytes.subarray(0, 512), true);
  if (!format) return { ok: false, error: 'accepted by the inspector but not sniffed again' };
  return { ok: true, format, entries: await entriesOf(format, bytes) };
}

/** The bytes of a name as the service decoded it: lone surrogates U+DC80–U+DCFF stand for the bytes that were not UTF-8. */
export function nameBytes(text: string): Buffer {
  const bytes: number[] = [];
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    if (code >= 0xdc80 && code <= 0xdcff) bytes.push(code - 0xdc00);
    else bytes.push(...Buffer.from(char, 'utf8'));
  }
  return Buffer.from(bytes);
}
