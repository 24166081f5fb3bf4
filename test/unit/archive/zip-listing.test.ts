/**
 * ZipListing: a zip is listed from its local headers, in stream order, and every
 * central-directory entry must describe exactly one of them. Archives are built by
 * test/fixtures/zip-builder.ts, which can make any header lie.
 */
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { ArchiveLimits, ArchiveSummary } from '../../../lib/archive/archive-safety';
import { LINK_TARGET_BUDGET_BYTES, ZipListing } from '../../../lib/archive/zip-listing';
import { rawZip, unicodePathExtra, type RawZipEntry } from '../../fixtures/zip-builder';

const MiB = 1024 * 1024;
const LIMITS: ArchiveLimits = { maxEntries: 10_000, maxUncompressedBytes: 10 * MiB };
const UNEVEN = [1, 7, 511, 513, 3, 1500, 64, 4096, 2, 65_536];

function* unevenChunks(bytes: Buffer): Generator<Buffer> {
  let offset = 0;
  for (let i = 0; offset < bytes.length; i += 1) {
    const size = UNEVEN[i % UNEVEN.length] ?? 1;
    yield bytes.subarray(offset, offset + size);
    offset += size;
  }
}

/** `fed` counts the bytes taken; with no read-ahead (0) only as the parser reads them (see byte-feed.test.ts). */
async function listZip(bytes: Buffer, limits = LIMITS, fed = { bytes: 0 }, readAheadBytes?: number): Promise<ArchiveSummary> {
  const listing = new ZipListing(limits, undefined, undefined, readAheadBytes);
  try {
    for (const chunk of unevenChunks(bytes)) {
      await listing.write(chunk);
      fed.bytes += chunk.length;
    }
    return await listing.end();
  } finally {
    listing.destroy();
  }
}

function refusal(detail: string): Record<string, unknown> {
  return { code: 'INVALID_PACKAGE_FORMAT', detail: expect.stringContaining(detail) };
}

/** Not compressible, so the deflated data spans many chunks and takes the streaming path. */
function noise(bytes: number): Buffer {
  const out = Buffer.alloc(bytes);
  let state = 12345;
  for (let i = 0; i < bytes; i += 1) {
    state = (state * 1103515245 + 12345) >>> 0;
    out[i] = state >>> 24;
  }
  return out;
}

/** `prefix`, then a data descriptor that is right for `prefix` alone. */
function plantedDescriptor(prefix: string): Buffer {
  const descriptor = Buffer.alloc(16);
  descriptor.writeUInt32LE(0x08074b50, 0);
  descriptor.writeUInt32LE(crc32(Buffer.from(prefix)) >>> 0, 4);
  descriptor.writeUInt32LE(prefix.length, 8);
  descriptor.writeUInt32LE(prefix.length, 12);
  return Buffer.concat([Buffer.from(prefix), descriptor]);
}

const APP: RawZipEntry[] = [
  { name: 'app/', method: 0 },
  { name: 'app/app.yaml', data: 'spec_version: 2\n' },
  { name: 'app/blob.bin', data: noise(600_000) },
];
const APP_BYTES = 16 + 600_000;

describe('ZipListing accepts', () => {
  it.each([
    ['sizes in the local headers', {}],
    ['data descriptors with their signature', { descriptor: 'signed' as const }],
    ['data descriptors without a signature', { descriptor: 'bare' as const }],
    ['zip64 sizes', { zip64: true }],
    ['zip64 sizes and data descriptors', { zip64: true, descriptor: 'signed' as const }],
  ])('entries with %s, small and streamed, whatever the chunk boundaries', async (_case, fields) => {
    const bytes = rawZip(APP.map((entry, i) => (i === 0 ? entry : { ...entry, ...fields })), { zip64End: 'zip64' in fields });

    await expect(listZip(bytes)).resolves.toEqual({ entryCount: 3, uncompressedBytes: APP_BYTES });
  });

  it('stored entries with data descriptors (as Python writes to a pipe)', async () => {
    const data = Buffer.concat([noise(100_000), Buffer.from('PK\u0007', 'latin1'), noise(100_000), Buffer.from('PK\u0007\u0008', 'latin1').subarray(0, 3)]);
    const bytes = rawZip([
      { name: 'app/a.bin', data, method: 0, descriptor: 'signed' },
      { name: 'app/empty', data: '', method: 0, descriptor: 'signed' },
      { name: 'app/b.bin', data: 'PK\u0007'.repeat(10_000), method: 0, descriptor: 'signed', zip64: true },
    ]);

    await expect(listZip(bytes)).resolves.toEqual({ entryCount: 3, uncompressedBytes: data.length + 30_000 });
  });

  it('stored entries, and a symbolic link that stays inside', async () => {
    const bytes = rawZip([
      { name: 'app/a.txt', data: 'aaaa', method: 0 },
      { name: 'app/current', data: 'a.txt', mode: 0o120777, method: 0 },
    ]);

    await expect(listZip(bytes)).resolves.toEqual({ entryCount: 2, uncompressedBytes: 4 + 5 });
  });

  it('a Unicode path field that gives the same name as the header', async () => {
    const bytes = rawZip([{ name: 'app/a.txt', data: 'x', local: { extra: unicodePathExtra('app/a.txt', 'app/a.txt') } }]);

    await expect(listZip(bytes)).resolves.toMatchObject({ entryCount: 1 });
  });
});

describe('ZipListing refuses', () => {
  it.each<[string, RawZipEntry[], Parameters<typeof rawZip>[1], string]>([
    [
      'a local header naming ../../../evil.txt under a harmless central name',
      [{ name: 'app/okay_name.txt', data: 'x', local: { name: '../../../evil.txt' } }],
      {},
      'Entry "../../../evil.txt" escapes the archive root.',
    ],
    [
      'a local header whose name differs from the central directory',
      [{ name: 'app/okay_name.txt', data: 'x', local: { name: 'app/other_name.txt' } }],
      {},
      'Entry "app/okay_name.txt" has another name in its local header',
    ],
    [
      'a central directory that declares another size',
      [{ name: 'app/a.txt', data: 'hello', central: { size: 4 } }],
      {},
      'Entry "app/a.txt" holds 5 bytes where its central directory entry says 4.',
    ],
    [
      'a local header that declares another compressed size',
      [{ name: 'app/a.txt', data: 'hello', local: { compressedSize: 3 } }],
      {},
      'Entry "app/a.txt" has compressed data that goes on past the 3 bytes its header says.',
    ],
    [
      'a CRC-32 that does not match the data',
      [{ name: 'app/a.txt', data: 'hello', local: { crc: 1 }, central: { crc: 1 } }],
      {},
      'Entry "app/a.txt" does not match the CRC-32 in its local header.',
    ],
    [
      'a compression method that differs between the headers',
      [{ name: 'app/a.txt', data: 'hello', method: 0, central: { method: 8 } }],
      {},
      'compression method in its local header that differs',
    ],
    [
      'a UTF-8 flag only in the central directory',
      [{ name: 'app/a.txt', data: 'hello', central: { flags: 0x0800 } }],
      {},
      'flags in its local header that differ',
    ],
    ['two central entries on one local header (overlapping entries)', [{ name: 'app/a.txt', data: 'x' }], { duplicates: [{ of: 0, name: 'app/b.txt' }] }, 'two entries for the local header at offset 0'],
    [
      'a central entry pointing inside another entry',
      [{ name: 'app/a.txt', data: 'x'.repeat(100), method: 0 }, { name: 'app/b.txt', data: 'y', central: { offset: 50 } }],
      {},
      'puts entry "app/b.txt" at offset 50, where no local header starts',
    ],
    [
      'a local header no central entry describes',
      [{ name: 'app/a.txt', data: 'x' }, { name: 'app/hidden.txt', data: 'y', inCentral: false }],
      {},
      'has 2 local headers but 1 central directory entries',
    ],
    ['bytes between two entries', [{ name: 'app/a.txt', data: 'x', gapAfter: Buffer.from('hidden') }, { name: 'app/b.txt', data: 'y' }], {}, 'bytes that start no zip record'],
    ['bytes after the end record', [{ name: 'app/a.txt', data: 'x' }], { trailer: Buffer.from('more') }, 'goes on after its end of central directory record'],
    [
      'an end record hidden in the comment',
      [{ name: 'app/a.txt', data: 'x' }],
      { comment: Buffer.concat([Buffer.from('PK\x05\x06', 'latin1'), Buffer.alloc(18)]) },
      'a zip record signature in its comment',
    ],
    ['an end record that miscounts the entries', [{ name: 'app/a.txt', data: 'x' }, { name: 'app/b.txt', data: 'y' }], { end: { entries: 1 } }, 'does not match its central directory (entriesHere)'],
    ['a stored entry with a data descriptor without its signature', [{ name: 'app/a.txt', data: 'x', method: 0, descriptor: 'bare' }], {}, 'no data descriptor matches it'],
    [
      'a stored entry with a valid descriptor planted in its data, where a streaming reader stops',
      [{ name: 'app/a.txt', data: plantedDescriptor('abc'), method: 0, descriptor: 'signed', central: { size: 3, compressedSize: 3 } }],
      {},
      'bytes that start no zip record (0x08074b50)',
    ],
    ['an encrypted entry', [{ name: 'app/a.txt', data: 'x', local: { flags: 1 }, central: { flags: 1 } }], {}, 'Entry "app/a.txt" is encrypted'],
    ['an entry compressed with bzip2', [{ name: 'app/a.txt', data: 'x', method: 0, local: { method: 12 }, central: { method: 12 } }], {}, 'uses compression method 12'],
    [
      'a small declared size over data that inflates to more (a zip bomb)',
      [{ name: 'app/bomb.bin', data: Buffer.alloc(MiB), local: { size: 1000 }, central: { size: 1000 } }],
      {},
      'inflates to more than the 1000 bytes its header says',
    ],
    [
      'a Unicode path field that gives another name',
      [{ name: 'app/a.txt', data: 'x', central: { extra: unicodePathExtra('app/a.txt', '../a.txt') } }],
      {},
      'another name in the Unicode path field of its central directory entry: "../a.txt"',
    ],
    ['a directory with data', [{ name: 'app/', data: 'x' }], {}, 'is a directory with 1 bytes of data'],
    ['a symbolic link with a newline in its target', [{ name: 'app/l', data: 'a\nb', mode: 0o120777 }], {}, 'has a control character in its target'],
    ['a symbolic link escaping the root', [{ name: 'app/l', data: '../../etc', mode: 0o120777 }], {}, 'Symbolic link "app/l" points to "../../etc", which escapes the archive root.'],
  ])('%s', async (_case, entries, options, detail) => {
    await expect(listZip(rawZip(entries, options))).rejects.toMatchObject(refusal(detail));
  });

  it('a truncated zip', async () => {
    const bytes = rawZip(APP);

    await expect(listZip(bytes.subarray(0, bytes.length - 30))).rejects.toMatchObject(refusal('The zip archive is truncated'));
  });

  it('a data-descriptor bomb once its output passes the uncompressed limit, long before its end', async () => {
    const bytes = rawZip([{ name: 'app/bomb.bin', data: Buffer.alloc(200 * MiB), descriptor: 'signed' }]);
    const fed = { bytes: 0 };

    await expect(listZip(bytes, LIMITS, fed, 0)).rejects.toMatchObject(refusal('more than 10 MiB uncompressed (the limit)'));
    expect(bytes.length).toBeGreaterThan(150_000);
    expect(fed.bytes).toBeLessThan(bytes.length / 2);
  });

  it('a symbolic link whose target was not kept, past the budget for small contents', async () => {
    // Files of 4 KiB without a newline could each be a link's target: they fill the budget exactly.
    const filler = noise(4096).toString('base64').slice(0, 4096);
    const count = LINK_TARGET_BUDGET_BYTES / 4096;
    const entries: RawZipEntry[] = Array.from({ length: count }, (_, i) => ({ name: `app/f${i}.txt`, data: filler, method: 0 }));
    entries.push({ name: 'app/link', data: 'f0.txt', mode: 0o120777, method: 0 });

    await expect(listZip(rawZip(entries), { ...LIMITS, maxEntries: count + 1, maxUncompressedBytes: 64 * MiB })).rejects.toMatchObject(
      refusal('Symbolic link "app/link" cannot be checked'),
    );
  });

  it('rejects later writes and the end with the first refusal', async () => {
    const listing = new ZipListing(LIMITS);
    const bytes = rawZip([{ name: '../evil', data: 'x' }]);

    await expect(Promise.resolve(listing.write(bytes)).then(() => listing.end())).rejects.toMatchObject(refusal('Entry "../evil" escapes'));
    await expect(listing.write(Buffer.alloc(10))).rejects.toMatchObject(refusal('Entry "../evil" escapes'));
    await expect(listing.end()).rejects.toMatchObject(refusal('Entry "../evil" escapes'));
  });
});
