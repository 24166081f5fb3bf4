import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { ArchiveLimits, ArchiveSummary } from '../../../lib/archive/archive-safety';
import { TarListing } from '../../../lib/archive/tar-listing';
import { ZipListing } from '../../../lib/archive/zip-listing';
import {
  gzipBombOneEntry,
  gzipBombTrailingZeros,
  tarOf,
  zipOf,
  type TarEntry,
} from '../../fixtures/hostile-archives';

const MiB = 1024 * 1024;
const LIMITS: ArchiveLimits = { maxEntries: 100, maxUncompressedBytes: 10 * MiB };
/** Uneven chunk sizes, cycled, so entry headers and data straddle chunk boundaries. */
const UNEVEN = [1, 7, 511, 513, 3, 1500, 64, 4096, 2];

function refusal(detail: string): Record<string, unknown> {
  return { code: 'INVALID_PACKAGE_FORMAT', detail: expect.stringContaining(detail) };
}

function* unevenChunks(bytes: Buffer, sizes: number[]): Generator<Buffer> {
  let offset = 0;
  for (let i = 0; offset < bytes.length; i += 1) {
    const size = sizes[i % sizes.length] ?? 1;
    yield bytes.subarray(offset, offset + size);
    offset += size;
  }
}

/** Feeds `chunks` to a listing one write at a time, as the worker's stream would. */
/**
 * `fed` counts the chunks the listing took. Tests that count them pass no read-ahead (the
 * listing then takes a chunk only as its parser reads it), to see where it stops; the read-ahead
 * of production (ByteFeed's HIGH_WATER) has its own bound, tested in byte-feed.test.ts.
 */
async function listTarChunks(
  format: 'tar.gz' | 'tar',
  chunks: Iterable<Buffer>,
  limits = LIMITS,
  fed = { chunks: 0 },
  readAheadBytes?: number,
): Promise<ArchiveSummary> {
  const listing = new TarListing(format, limits, undefined, readAheadBytes);
  try {
    for (const chunk of chunks) {
      await listing.write(chunk);
      fed.chunks += 1;
    }
    return await listing.end();
  } finally {
    listing.destroy();
  }
}

async function archiveOf(format: 'tar.gz' | 'tar', entries: TarEntry[]): Promise<Buffer> {
  const tar = await tarOf(entries);
  return format === 'tar.gz' ? gzipSync(tar) : tar;
}

function listTar(format: 'tar.gz' | 'tar', bytes: Buffer, limits = LIMITS, sizes = UNEVEN): Promise<ArchiveSummary> {
  return listTarChunks(format, unevenChunks(bytes, sizes), limits);
}

/** Feeds a zip to a listing in uneven chunks, as the worker's stream would. */
async function listZipBytes(bytes: Buffer, limits = LIMITS, fed = { chunks: 0 }, readAheadBytes?: number): Promise<ArchiveSummary> {
  const listing = new ZipListing(limits, undefined, undefined, readAheadBytes);
  try {
    for (const chunk of unevenChunks(bytes, UNEVEN)) {
      await listing.write(chunk);
      fed.chunks += 1;
    }
    return await listing.end();
  } finally {
    listing.destroy();
  }
}

const NO_READ_AHEAD = 0;

const APP: TarEntry[] = [
  { name: 'app/', type: 'directory' },
  { name: 'app/app.yaml', content: 'spec_version: 2\n' },
  { name: 'app/src/main.py', content: 'print("hello")\n' },
  { name: 'app/blob.bin', content: Buffer.alloc(70_000, 7) },
];
const APP_BYTES = 16 + 15 + 70_000;

describe.each(['tar.gz', 'tar'] as const)('TarListing (%s)', (format) => {
  it('lists a normal archive, counting directories as entries and summing entry sizes', async () => {
    const bytes = await archiveOf(format, APP);

    await expect(listTar(format, bytes)).resolves.toEqual({ entryCount: 4, uncompressedBytes: APP_BYTES });
  });

  it('gives the same summary whatever the chunk boundaries', async () => {
    const bytes = await archiveOf(format, APP);

    for (const sizes of [[1], [511], [512], [513], [bytes.length]]) {
      await expect(listTar(format, bytes, LIMITS, sizes)).resolves.toEqual({ entryCount: 4, uncompressedBytes: APP_BYTES });
    }
  });

  it('reads pax long names', async () => {
    const longName = `app/${'d'.repeat(150)}/${'f'.repeat(120)}.txt`;
    const bytes = await archiveOf(format, [{ name: longName, content: 'x' }]);

    await expect(listTar(format, bytes)).resolves.toEqual({ entryCount: 1, uncompressedBytes: 1 });
  });

  it.each([
    ['../etc/passwd', 'Entry "../etc/passwd" escapes the archive root.'],
    ['app/../../b', 'Entry "app/../../b" escapes the archive root.'],
    ['app\\..\\..\\evil.sh', 'escapes the archive root.'],
    ['app/..', 'Entry "app/.." escapes the archive root.'],
    [`../${'x'.repeat(120)}`, 'escapes the archive root.'],
    ['/etc/passwd', 'Entry "/etc/passwd" has an absolute path.'],
    ['C:\\Windows\\evil.dll', 'has an absolute path.'],
    ['C:evil.dll', 'Entry "C:evil.dll" has an absolute path.'],
    ['\\\\server\\share\\evil', 'has an absolute path.'],
  ])('refuses the entry name %j', async (name, detail) => {
    const bytes = await archiveOf(format, [{ name: 'app/ok.txt', content: 'ok' }, { name, content: 'evil' }]);

    await expect(listTar(format, bytes)).rejects.toMatchObject(refusal(detail));
  });

  it('refuses a symbolic link that points outside the root, resolved from its own directory', async () => {
    const bytes = await archiveOf(format, [{ name: 'app/config', type: 'symlink', linkname: '../../etc' }]);

    await expect(listTar(format, bytes)).rejects.toMatchObject(
      refusal('Symbolic link "app/config" points to "../../etc", which escapes the archive root.'),
    );
  });

  it('refuses an entry that takes the path of an earlier symbolic link (extractors disagree on what it does)', async () => {
    // a -> b/.. is inside when added; b -> . makes it escape; Python's tarfile keeps the link
    // "a" when the directory "a/" comes, and writes a/escaped.txt outside the root.
    const bytes = await archiveOf(format, [
      { name: 'a', type: 'symlink', linkname: 'b/..' },
      { name: 'b', type: 'symlink', linkname: '.' },
      { name: 'a/', type: 'directory' },
      { name: 'a/escaped.txt', content: 'x' },
    ]);

    await expect(listTar(format, bytes)).rejects.toMatchObject(refusal('replaces the symbolic link'));
  });

  it('refuses a symbolic link to an absolute path', async () => {
    const bytes = await archiveOf(format, [{ name: 'app/passwd', type: 'symlink', linkname: '/etc/passwd' }]);

    await expect(listTar(format, bytes)).rejects.toMatchObject(
      refusal('Symbolic link "app/passwd" points to the absolute path "/etc/passwd".'),
    );
  });

  it('refuses a hard link whose target, an archive path from the root, leaves the root', async () => {
    // Relative to the link's own directory "app/../secret" would stay inside; tar resolves it from the root.
    const bytes = await archiveOf(format, [
      { name: 'app/', type: 'directory' },
      { name: 'app/shadow', type: 'link', linkname: '../secret' },
    ]);

    await expect(listTar(format, bytes)).rejects.toMatchObject(
      refusal('Hard link "app/shadow" points to "../secret", which escapes the archive root.'),
    );
  });

  it('refuses a hard link to an absolute path', async () => {
    const bytes = await archiveOf(format, [{ name: 'shadow', type: 'link', linkname: '/etc/shadow' }]);

    await expect(listTar(format, bytes)).rejects.toMatchObject(refusal('Hard link "shadow" points to the absolute path'));
  });

  it('accepts links that stay inside the archive', async () => {
    const bytes = await archiveOf(format, [
      { name: 'app/src/main.py', content: 'print(1)\n' },
      { name: 'app/current', type: 'symlink', linkname: '../app/src' },
      { name: 'app/src/entry.py', type: 'symlink', linkname: 'main.py' },
      { name: 'app/root', type: 'symlink', linkname: '..' },
      { name: 'app/copy.py', type: 'link', linkname: 'app/src/main.py' },
    ]);

    await expect(listTar(format, bytes)).resolves.toEqual({ entryCount: 5, uncompressedBytes: 9 });
  });

  it('refuses an entry written through a symbolic link', async () => {
    const bytes = await archiveOf(format, [
      { name: 'app/up', type: 'symlink', linkname: '.' },
      { name: 'app/up/evil.sh', content: 'rm -rf /' },
    ]);

    await expect(listTar(format, bytes)).rejects.toMatchObject(
      refusal('Entry "app/up/evil.sh" is placed through the symbolic link "app/up".'),
    );
  });

  it('refuses a link that a later link makes escape', async () => {
    // "a -> x/.." is the root while x is nothing; once "x -> ." exists, x/.. is above the root.
    const bytes = await archiveOf(format, [
      { name: 'a', type: 'symlink', linkname: 'x/..' },
      { name: 'x', type: 'symlink', linkname: '.' },
    ]);

    await expect(listTar(format, bytes)).rejects.toMatchObject(
      refusal('Symbolic link "a" points to "x/..", which escapes the archive root.'),
    );
  });

  it('refuses a link at a path an earlier entry made a directory', async () => {
    // Python fails to make the link over the directory; GNU tar removes an empty one and links.
    const bytes = await archiveOf(format, [
      { name: 's/s/t', type: 'symlink', linkname: '../..' },
      { name: 's', type: 'symlink', linkname: '.' },
    ]);

    await expect(listTar(format, bytes)).rejects.toMatchObject(
      refusal('Entry "s" is a symlink where an earlier entry is a directory'),
    );
  });

  it.each(['character-device', 'block-device', 'fifo'] as const)('refuses a %s entry', async (type) => {
    const bytes = await archiveOf(format, [{ name: 'app/dev', type }]);

    await expect(listTar(format, bytes)).rejects.toMatchObject(refusal(`Entry "app/dev" is a ${type}`));
  });

  it('refuses more entries than the limit', async () => {
    const bytes = await archiveOf(format, APP);

    await expect(listTar(format, bytes, { ...LIMITS, maxEntries: 3 })).rejects.toMatchObject(
      refusal('The archive holds more than 3 entries (the limit); "app/blob.bin" is entry 4.'),
    );
  });

  it('refuses entries that add up to more uncompressed bytes than the limit, naming the entry that passed it', async () => {
    const bytes = await archiveOf(format, APP);

    await expect(listTar(format, bytes, { ...LIMITS, maxUncompressedBytes: 50_000 })).rejects.toMatchObject(
      refusal('more than 50000 bytes uncompressed (the limit), reached at entry "app/blob.bin"'),
    );
  });

  it('refuses an archive cut inside an entry', async () => {
    const tar = await tarOf(APP);
    const cut = tar.subarray(0, 512 * 6 + 100);
    const bytes = format === 'tar.gz' ? gzipSync(cut) : cut;

    await expect(listTar(format, bytes)).rejects.toMatchObject(
      refusal('The tar archive is truncated: it ends inside or after entry "app/blob.bin".'),
    );
  });

  it('refuses a corrupt header after the first entry', async () => {
    const tar = await tarOf(APP);
    tar.write('garbage', 512 * 3 + 10, 'latin1'); // inside the third entry's header
    const bytes = format === 'tar.gz' ? gzipSync(tar) : tar;

    await expect(listTar(format, bytes)).rejects.toMatchObject(
      refusal('The tar archive is corrupt: a header after entry "app/app.yaml" has a wrong checksum.'),
    );
  });

  it('rejects every later write and the end with the first refusal', async () => {
    const bytes = await archiveOf(format, [{ name: '../evil', content: 'x' }, ...APP]);
    const listing = new TarListing(format, LIMITS);

    // The write that carries the bad entry may be taken before the parser reaches it (gunzip works
    // in the thread pool); the refusal must surface on a later write or at the end.
    await Promise.resolve(listing.write(bytes)).catch(() => undefined);
    await expect(listing.end()).rejects.toMatchObject(refusal('Entry "../evil" escapes'));
    await expect(listing.write(Buffer.alloc(512))).rejects.toMatchObject(refusal('Entry "../evil" escapes'));
    await expect(listing.end()).rejects.toMatchObject(refusal('Entry "../evil" escapes'));
    listing.destroy();
  });

  it('once destroyed, settles what was pending without unhandled rejections and refuses further use', async () => {
    const bytes = await archiveOf(format, APP);
    const listing = new TarListing(format, LIMITS);
    void listing.write(bytes.subarray(0, 700));
    const ending = listing.end();

    listing.destroy();
    listing.destroy();

    await expect(ending).rejects.toThrow('The archive listing was destroyed.');
    await expect(listing.write(bytes.subarray(700))).rejects.toThrow('The archive listing was destroyed.');
    await new Promise((resolve) => setImmediate(resolve));
  });
});

describe('TarListing (tar.gz only)', () => {
  it('stops a gzip bomb at the header of its giant entry, long before the end of the stream', async () => {
    const chunks = await gzipBombOneEntry(200 * MiB);
    const fed = { chunks: 0 };

    await expect(listTarChunks('tar.gz', chunks, LIMITS, fed, NO_READ_AHEAD)).rejects.toMatchObject(
      refusal('more than 10 MiB uncompressed (the limit), reached at entry "bomb.bin"'),
    );
    expect(chunks.length).toBeGreaterThan(10);
    expect(fed.chunks).toBeLessThan(chunks.length / 10);
  });

  it('stops a gzip bomb made of zeros after the end of the tar once the tar data passes its cap', async () => {
    const chunks = await gzipBombTrailingZeros(200 * MiB);
    const fed = { chunks: 0 };

    await expect(listTarChunks('tar.gz', chunks, LIMITS, fed, NO_READ_AHEAD)).rejects.toMatchObject(
      refusal('The archive decompresses to more than'),
    );
    expect(fed.chunks).toBeLessThan(chunks.length);
  });

  it('refuses a gzip whose content is not a tar', async () => {
    const bytes = gzipSync('<html><body>Sign in</body></html>\n'.repeat(40));

    await expect(listTar('tar.gz', bytes)).rejects.toMatchObject(refusal('The gzip content is not a tar archive.'));
  });

  it('refuses a gzip of nothing', async () => {
    await expect(listTar('tar.gz', gzipSync(Buffer.alloc(0)))).rejects.toMatchObject(
      refusal('The gzip content is not a tar archive.'),
    );
  });

  it('refuses a truncated gzip stream', async () => {
    const bytes = await archiveOf('tar.gz', APP);

    await expect(listTar('tar.gz', bytes.subarray(0, bytes.length - 100))).rejects.toMatchObject(
      refusal('The gzip stream is truncated.'),
    );
  });

  it('refuses a gzip stream whose checksum does not match', async () => {
    const bytes = await archiveOf('tar.gz', APP);
    const crcAt = bytes.length - 8;
    bytes.writeUInt32LE(~bytes.readUInt32LE(crcAt) >>> 0, crcAt);

    await expect(listTar('tar.gz', bytes)).rejects.toMatchObject(refusal('The gzip stream is corrupt'));
  });
});

describe('TarListing (tar only)', () => {
  it('refuses bytes that are not a tar', async () => {
    await expect(listTar('tar', Buffer.from('x'.repeat(2048)))).rejects.toMatchObject(
      refusal('The file is not a tar archive.'),
    );
  });
});

describe('listZip', () => {
  const APP_ZIP = [
    { name: 'app', directory: true },
    { name: 'app/app.yaml', content: 'spec_version: 2\n' },
    { name: 'app/src/main.py', content: 'print("hello")\n' },
    { name: 'app/blob.bin', content: Buffer.alloc(70_000, 7) },
  ];

  it('lists a normal zip from its central directory, counting directories as entries', async () => {
    const bytes = await zipOf(APP_ZIP);

    await expect(listZipBytes(bytes)).resolves.toEqual({ entryCount: 4, uncompressedBytes: APP_BYTES });
  });

  it('lists a zip of 1000 entries as it streams, whatever the chunk boundaries', async () => {
    const entries = Array.from({ length: 1000 }, (_, i) => ({ name: `app/src/module_${i}.py`, content: `x = ${i}\n` }));
    const bytes = await zipOf(entries);

    await expect(listZipBytes(bytes, { ...LIMITS, maxEntries: 1000 })).resolves.toMatchObject({ entryCount: 1000 });
  });

  it.each([
    ['xx/etc/passwd', '../etc/passwd', 'Entry "../etc/passwd" escapes the archive root.'],
    ['app/xx/xx/b', 'app/../../b', 'Entry "app/../../b" escapes the archive root.'],
    ['app/xxxxxxevil.sh', 'app\\..\\..\\evil.sh', 'Entry "app\\\\..\\\\..\\\\evil.sh" escapes the archive root.'],
    ['xetc/passwd', '/etc/passwd', 'Entry "/etc/passwd" has an absolute path.'],
    ['xxxwin/evil.dll', 'C:\\win\\evil.dll', 'Entry "C:\\\\win\\\\evil.dll" has an absolute path.'],
  ])('refuses the entry name %j renamed to %j', async (placeholder, hostile, detail) => {
    const bytes = await zipOf([{ name: 'app/ok.txt', content: 'ok' }, { name: placeholder, content: 'evil' }], {
      [placeholder]: hostile,
    });

    await expect(listZipBytes(bytes)).rejects.toMatchObject(refusal(detail));
  });

  it('refuses a symbolic link that points outside the root', async () => {
    const bytes = await zipOf([{ name: 'app/config', content: '../../etc', mode: 0o120777 }]);

    await expect(listZipBytes(bytes)).rejects.toMatchObject(
      refusal('Symbolic link "app/config" points to "../../etc", which escapes the archive root.'),
    );
  });

  it('refuses a symbolic link to an absolute path', async () => {
    const bytes = await zipOf([{ name: 'app/passwd', content: '/etc/passwd', mode: 0o120777 }]);

    await expect(listZipBytes(bytes)).rejects.toMatchObject(
      refusal('Symbolic link "app/passwd" points to the absolute path "/etc/passwd".'),
    );
  });

  it('accepts a symbolic link that stays inside the archive', async () => {
    const bytes = await zipOf([
      { name: 'app/src/main.py', content: 'print(1)\n' },
      { name: 'app/current', content: '../app/src', mode: 0o120777 },
    ]);

    await expect(listZipBytes(bytes)).resolves.toEqual({ entryCount: 2, uncompressedBytes: 9 + 10 });
  });

  it('refuses a symbolic link whose target is longer than a path can be', async () => {
    const bytes = await zipOf([{ name: 'app/long', content: 'a/'.repeat(3000), mode: 0o120777 }]);

    await expect(listZipBytes(bytes)).rejects.toMatchObject(
      refusal('Symbolic link "app/long" has a target of 6000 bytes; the limit is 4096.'),
    );
  });

  it('refuses a fifo entry', async () => {
    const bytes = await zipOf([{ name: 'app/pipe', mode: 0o010644 }]);

    await expect(listZipBytes(bytes)).rejects.toMatchObject(refusal('Entry "app/pipe" is a fifo'));
  });

  it('refuses a central directory that declares more uncompressed bytes than the limit', async () => {
    const bytes = await zipOf([...APP_ZIP, { name: 'app/zeros.bin', content: Buffer.alloc(11 * MiB) }]);
    expect(bytes.length).toBeLessThan(MiB);

    await expect(listZipBytes(bytes)).rejects.toMatchObject(
      refusal('more than 10 MiB uncompressed (the limit), reached at entry "app/zeros.bin"'),
    );
  });

  it('refuses more entries than the limit at the first local header past it, before the rest is read', async () => {
    const bytes = await zipOf(Array.from({ length: 50 }, (_, i) => ({ name: `app/f${i}.txt`, content: `file ${i}\n` })));
    const fed = { chunks: 0 };

    await expect(listZipBytes(bytes, { ...LIMITS, maxEntries: 3 }, fed, NO_READ_AHEAD)).rejects.toMatchObject(
      refusal('The archive holds more than 3 entries (the limit); "app/f3.txt" is entry 4.'),
    );
    expect(fed.chunks).toBeLessThan([...unevenChunks(bytes, UNEVEN)].length / 2);
  });

  it('refuses a truncated zip', async () => {
    const bytes = await zipOf(APP_ZIP);
    const cut = bytes.subarray(0, bytes.length - 200);

    await expect(listZipBytes(cut)).rejects.toMatchObject(refusal('The zip archive is truncated'));
  });

  it('refuses a zip whose central directory is corrupt', async () => {
    const bytes = await zipOf(APP_ZIP);
    const centralDirectory = bytes.readUInt32LE(bytes.length - 22 + 16);
    bytes.write('XXXX', centralDirectory, 'latin1');

    await expect(listZipBytes(bytes)).rejects.toMatchObject(refusal('The zip archive is corrupt'));
  });
});
