/**
 * TarListing's rules: where a tar and a gzip end, and the tar records readers
 * disagree on. (Entry names, links and limits are in archive-safety.test.ts.)
 */
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { ArchiveSummary } from '../../../lib/archive/archive-safety';
import { TarListing } from '../../../lib/archive/tar-listing';
import { blocks, gnuLongHeader, paxHeader, tarHeader, tarOf } from '../../fixtures/hostile-archives';
import { rawZip } from '../../fixtures/zip-builder';

const LIMITS = { maxEntries: 100, maxUncompressedBytes: 10 * 1024 * 1024 };
const END = Buffer.alloc(1024);

function refusal(detail: string): Record<string, unknown> {
  return { code: 'INVALID_PACKAGE_FORMAT', detail: expect.stringContaining(detail) };
}

async function list(format: 'tar.gz' | 'tar', bytes: Buffer, chunkSize = 333): Promise<ArchiveSummary> {
  const listing = new TarListing(format, LIMITS);
  try {
    for (let offset = 0; offset < bytes.length; offset += chunkSize) await listing.write(bytes.subarray(offset, offset + chunkSize));
    return await listing.end();
  } finally {
    listing.destroy();
  }
}

function file(name: string, content: string): Buffer {
  return Buffer.concat([tarHeader({ name, size: Buffer.byteLength(content) }), blocks(content)]);
}

/** A gzip header with optional fields (FLG bits), then the deflate stream and trailer of `content`. */
function gzipWithFields(content: Buffer, fields: { extra?: Buffer; name?: string; comment?: string; flags?: number }): Buffer {
  const plain = gzipSync(content);
  let flags = fields.flags ?? 0;
  const parts: Buffer[] = [];
  if (fields.extra) {
    flags |= 0x04;
    const length = Buffer.alloc(2);
    length.writeUInt16LE(fields.extra.length);
    parts.push(length, fields.extra);
  }
  if (fields.name !== undefined) {
    flags |= 0x08;
    parts.push(Buffer.from(fields.name, 'latin1'), Buffer.alloc(1));
  }
  if (fields.comment !== undefined) {
    flags |= 0x10;
    parts.push(Buffer.from(fields.comment, 'latin1'), Buffer.alloc(1));
  }
  const head = Buffer.from(plain.subarray(0, 10));
  head[3] = flags;
  return Buffer.concat([head, ...parts, plain.subarray(10)]);
}

describe('TarListing: where a tar ends', () => {
  it.each(['tar.gz', 'tar'] as const)('accepts zeros of any length after the end-of-archive blocks (%s)', async (format) => {
    const tar = Buffer.concat([file('app/a.txt', 'a'), END, Buffer.alloc(9 * 1024)]);

    await expect(list(format, format === 'tar' ? tar : gzipSync(tar))).resolves.toEqual({ entryCount: 1, uncompressedBytes: 1 });
  });

  it.each(['tar.gz', 'tar'] as const)('refuses an entry hidden after the end-of-archive blocks (%s)', async (format) => {
    // GNU tar and Python stop at the first zero block; tar-stream, which this listing used, read on.
    const tar = Buffer.concat([file('app/a.txt', 'a'), END, file('app/hidden.txt', 'b'), END]);

    await expect(list(format, format === 'tar' ? tar : gzipSync(tar))).rejects.toMatchObject(
      refusal('The tar archive goes on after its end-of-archive block'),
    );
  });

  it('refuses a zip appended after the end of a tar', async () => {
    const tar = Buffer.concat([file('app/a.txt', 'a'), END, rawZip([{ name: '../evil.txt', data: 'x' }])]);

    await expect(list('tar', tar)).rejects.toMatchObject(refusal('goes on after its end-of-archive block'));
  });
});

describe('TarListing: records readers disagree on', () => {
  it('reads GNU long names and long link names', async () => {
    const longName = `app/${'d'.repeat(150)}/${'f'.repeat(120)}.txt`;
    const tar = Buffer.concat([
      file('app/target.txt', 't'),
      gnuLongHeader(longName),
      tarHeader({ name: longName.slice(0, 99), size: 1, gnu: true }),
      blocks('x'),
      gnuLongHeader(`app/${'l'.repeat(120)}`),
      gnuLongHeader(`${'./'.repeat(60)}target.txt`, 'K'),
      tarHeader({ name: 'app/l', type: '2', linkname: 'ignored', gnu: true }),
      END,
    ]);

    await expect(list('tar', tar)).resolves.toEqual({ entryCount: 3, uncompressedBytes: 2 });
  });

  it.each([
    ['a pax global header that sets a path', Buffer.concat([paxHeader({ path: 'evil' }, 'g'), file('app/a.txt', 'a'), END]), 'pax global header before its first entry whose record "path" has a keyword that renames'],
    ['two pax headers for one entry', Buffer.concat([paxHeader({ path: 'app/x' }), paxHeader({ path: 'app/y' }), file('app/a.txt', 'a'), END]), 'two extended headers of one kind'],
    ['a pax path and a GNU long name that disagree', Buffer.concat([paxHeader({ path: 'app/x' }), gnuLongHeader('app/y'), file('app/a.txt', 'a'), END]), 'two different names'],
    ['a pax header repeating a key', Buffer.concat([paxHeader({ uid: '1', gid: '2' }).fill('uid', 512 + 10, 512 + 13), file('app/a.txt', 'a'), END]), 'the keyword "uid" twice'],
    ['an extended header with no entry after it', Buffer.concat([file('app/a.txt', 'a'), paxHeader({ path: 'app/x' }), END]), 'an extended header that has no entry'],
    ['a directory carrying data', Buffer.concat([tarHeader({ name: 'app/', type: '5', size: 512 }), blocks('x'.repeat(512)), END]), 'is a directory with 512 bytes of data'],
    ['a symbolic link carrying data', Buffer.concat([tarHeader({ name: 'app/l', type: '2', linkname: 'a', size: 3 }), blocks('abc'), END]), 'is a symlink with 3 bytes of data'],
    ['a pax size that is not a number', Buffer.concat([paxHeader({ size: '1e3' }), file('app/a.txt', 'a'), END]), 'record "size" has a value that is not a decimal number'],
    ['a GNU sparse file', Buffer.concat([tarHeader({ name: 'app/s', type: 'S', gnu: true }), END]), 'is a sparse file'],
    ['a GNU volume header', Buffer.concat([tarHeader({ name: 'vol', type: 'V', gnu: true }), END]), 'has a GNU volume label "vol"'],
  ])('refuses %s', async (_case, tar, detail) => {
    await expect(list('tar', tar)).rejects.toMatchObject(refusal(detail));
  });

  it('refuses a pax path that escapes the root behind a harmless ustar name', async () => {
    const tar = Buffer.concat([paxHeader({ path: '../../evil.txt' }), file('app/okay.txt', 'a'), END]);

    await expect(list('tar', tar)).rejects.toMatchObject(refusal('Entry "../../evil.txt" escapes the archive root.'));
  });

  it("refuses a GNU header with bytes in the prefix field, which tarfile puts before the name and GNU tar ignores", async () => {
    const tar = Buffer.concat([tarHeader({ name: 'app/a.txt', size: 1, gnu: true, prefix: 'elsewhere' }), blocks('a'), END]);

    await expect(list('tar', tar)).rejects.toMatchObject(refusal('GNU tar ignores them, Python\'s tarfile puts them before the name'));
  });

  it('reads a POSIX ustar prefix as part of the name, as every reader does', async () => {
    const tar = Buffer.concat([tarHeader({ name: 'a.txt', size: 1, prefix: '../..' }), blocks('a'), END]);

    await expect(list('tar', tar)).rejects.toMatchObject(refusal('Entry "../../a.txt" escapes the archive root.'));
  });

  it('keeps names that are not UTF-8 apart byte for byte', async () => {
    // Decoded lossily, "x\xff" and "x\xfe" would both be "x\ufffd": L would seem to climb out of
    // the link's deep target and stay inside, while on disk x\xfe is no link and L escapes.
    const link = (name: string, target: string): Buffer => {
      const header = tarHeader({ name: 'placeholder', type: '2' });
      header.fill(0, 0, 100).fill(0, 157, 257).fill(0x20, 148, 156);
      header.write(name, 0, 'latin1');
      header.write(target, 157, 'latin1');
      let sum = 0;
      for (const byte of header) sum += byte;
      header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
      return header;
    };
    const tar = Buffer.concat([tarHeader({ name: 'a/b/c/', type: '5' }), link('x\xff', 'a/b/c'), link('L', 'x\xfe/../..'), END]);

    await expect(list('tar', tar)).rejects.toMatchObject(refusal('Symbolic link "L" points to'));
  });
});

describe('TarListing: where a gzip ends', () => {
  it('refuses a second gzip member', async () => {
    const bytes = Buffer.concat([gzipSync(await tarOf([{ name: 'app/a.txt', content: 'a' }])), gzipSync(Buffer.alloc(1024))]);

    await expect(list('tar.gz', bytes)).rejects.toMatchObject(refusal('a second gzip stream after the first'));
  });

  it('refuses a second gzip member even when it is empty, as well as one that holds more tar', async () => {
    const tar = await tarOf([{ name: 'app/a.txt', content: 'a' }]);

    await expect(list('tar.gz', Buffer.concat([gzipSync(tar), gzipSync(Buffer.alloc(0))]))).rejects.toMatchObject(
      refusal('a second gzip stream after the first'),
    );
    await expect(list('tar.gz', Buffer.concat([gzipSync(tar.subarray(0, 1024)), gzipSync(tar.subarray(1024))]))).rejects.toMatchObject(
      refusal('a second gzip stream after the first'),
    );
  });

  it.each([
    ['inside its 10-byte header', 5],
    ['right after its header', 10],
    ['inside its deflate data', -40],
    ['before its trailer', -8],
    ['inside its CRC-32', -6],
    ['inside its length', -2],
    ['one byte short', -1],
  ])('refuses a gzip cut %s as truncated', async (_where, at) => {
    const bytes = gzipSync(await tarOf([{ name: 'app/a.txt', content: 'a'.repeat(3000) }]));

    await expect(list('tar.gz', bytes.subarray(0, at < 0 ? bytes.length + at : at))).rejects.toMatchObject(
      refusal('The gzip stream is truncated.'),
    );
  });

  it('refuses bytes appended after the gzip stream, even zeros', async () => {
    const tarGz = gzipSync(await tarOf([{ name: 'app/a.txt', content: 'a' }]));

    await expect(list('tar.gz', Buffer.concat([tarGz, Buffer.alloc(10)]))).rejects.toMatchObject(refusal('goes on after the end of its gzip stream'));
    await expect(list('tar.gz', Buffer.concat([tarGz, rawZip([{ name: 'evil', data: 'x' }])]))).rejects.toMatchObject(
      refusal('goes on after the end of its gzip stream'),
    );
  });

  it.each([
    ['extra field', { extra: rawZip([{ name: '../evil-polyglot.txt', data: 'x' }]) }],
    ['file name', { name: 'PK\u0003\u0004' }],
    ['comment', { comment: 'see PK\u0005\u0006' }],
  ])('refuses a zip signature in the gzip header\'s %s', async (what, fields) => {
    const bytes = gzipWithFields(await tarOf([{ name: 'app/main.py', content: 'print(1)\n' }]), fields);

    await expect(list('tar.gz', bytes)).rejects.toMatchObject(refusal(`The gzip header's ${what} holds a zip signature`));
  });

  it('accepts a gzip header with an ordinary file name, comment and extra field', async () => {
    const bytes = gzipWithFields(await tarOf([{ name: 'app/main.py', content: 'print(1)\n' }]), {
      name: 'app.tar',
      comment: 'built by ci',
      extra: Buffer.from('AB\u0002\u0000hi'),
    });

    await expect(list('tar.gz', bytes, 1)).resolves.toEqual({ entryCount: 1, uncompressedBytes: 9 });
  });

  it('refuses reserved gzip flags, and a file name longer than 64 KiB', async () => {
    const tar = await tarOf([{ name: 'app/main.py', content: 'x' }]);

    await expect(list('tar.gz', gzipWithFields(tar, { flags: 0x20 }))).rejects.toMatchObject(refusal('reserved header flags'));
    await expect(list('tar.gz', gzipWithFields(tar, { name: 'n'.repeat(70_000) }))).rejects.toMatchObject(refusal('longer than 65536 bytes'));
  });

  it('refuses a gzip whose stored length does not match its content', async () => {
    const bytes = gzipSync(await tarOf([{ name: 'app/main.py', content: 'x' }]));
    bytes.writeUInt32LE(bytes.readUInt32LE(bytes.length - 4) + 1, bytes.length - 4);

    await expect(list('tar.gz', bytes)).rejects.toMatchObject(refusal('the length of its content does not match'));
  });
});
