/**
 * The listings hand an entry's data to a reader that asks for it, as the archive streams past
 * (the next issue reads app_desc.yaml this way), in every format.
 */
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { ArchiveEntry } from '../../../lib/archive/archive-safety';
import { TarListing } from '../../../lib/archive/tar-listing';
import { ZipListing } from '../../../lib/archive/zip-listing';
import { tarOf } from '../../fixtures/hostile-archives';
import { rawZip } from '../../fixtures/zip-builder';

const LIMITS = { maxEntries: 100, maxUncompressedBytes: 10 * 1024 * 1024 };
const DESC = 'spec_version: 2\napp_version: "1.0"\n'.repeat(2000);

/** Feeds `bytes` to a listing in 1000-byte chunks, as the worker's stream would. */
async function feed(listing: TarListing | ZipListing, bytes: Buffer): Promise<void> {
  for (let offset = 0; offset < bytes.length; offset += 1000) await listing.write(bytes.subarray(offset, offset + 1000));
  await listing.end();
}

/** A reader that records every entry offered and keeps the data of app/app_desc.yaml. */
function readerFor(kept: Buffer[], names: string[]): (entry: ArchiveEntry) => ((bytes: Buffer) => void) | undefined {
  return (entry) => {
    names.push(entry.name);
    return entry.name === 'app/app_desc.yaml' ? (bytes) => kept.push(Buffer.from(bytes)) : undefined;
  };
}

describe('entry content', () => {
  it.each([
    ['tar.gz', async () => gzipSync(await tarOf([{ name: 'app/main.py', content: 'x' }, { name: 'app/app_desc.yaml', content: DESC }]))],
    ['tar', () => tarOf([{ name: 'app/main.py', content: 'x' }, { name: 'app/app_desc.yaml', content: DESC }])],
    ['zip, deflated', async () => rawZip([{ name: 'app/main.py', data: 'x' }, { name: 'app/app_desc.yaml', data: DESC }])],
    ['zip, with data descriptors', async () => rawZip([{ name: 'app/main.py', data: 'x', descriptor: 'signed' }, { name: 'app/app_desc.yaml', data: DESC, descriptor: 'bare' }])],
    ['zip, stored', async () => rawZip([{ name: 'app/main.py', data: 'x', method: 0 }, { name: 'app/app_desc.yaml', data: DESC, method: 0, descriptor: 'signed' }])],
  ] as const)('reaches the reader whole in a %s', async (format, build) => {
    // Prepare
    const kept: Buffer[] = [];
    const names: string[] = [];
    const listing = format.startsWith('zip') ? new ZipListing(LIMITS, readerFor(kept, names)) : new TarListing(format as 'tar' | 'tar.gz', LIMITS, readerFor(kept, names));

    // Act
    await feed(listing, await build());

    // Assess
    expect(names).toEqual(['app/main.py', 'app/app_desc.yaml']);
    expect(Buffer.concat(kept).toString()).toBe(DESC);
  });
});
