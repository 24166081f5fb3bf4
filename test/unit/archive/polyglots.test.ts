/**
 * A file that is two archives at once is refused, whichever format it was sniffed
 * as, because the tool that extracts it later may pick the other one.
 */
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { PackageInspector, type InspectionResult } from '../../../lib/archive/package-inspector';
import { blocks, tarHeader, tarOf } from '../../fixtures/hostile-archives';
import { rawZip } from '../../fixtures/zip-builder';

const LIMITS = { maxEntries: 1000, maxUncompressedBytes: 64 * 1024 * 1024 };

async function inspect(bytes: Buffer): Promise<InspectionResult> {
  const inspector = new PackageInspector(16 * 1024 * 1024, undefined, LIMITS);
  const chunks = Array.from({ length: Math.ceil(bytes.length / 1000) }, (_, i) => bytes.subarray(i * 1000, (i + 1) * 1000));
  await pipeline(Readable.from(chunks), inspector, new Writable({ write: (_chunk, _encoding, callback) => callback() }));
  return inspector.result();
}

function refusal(detail: string): Record<string, unknown> {
  return { code: 'INVALID_PACKAGE_FORMAT', detail: expect.stringContaining(detail) };
}

/** Makes the first 512 bytes a valid tar header: ustar magic at 257, checksum at 148 (both inside an extra field). */
function withTarHeaderInFront(bytes: Buffer): Buffer {
  const out = Buffer.from(bytes);
  out.write('ustar\u000000', 257, 'latin1');
  out.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < 512; i += 1) sum += out[i] ?? 0;
  out.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 'latin1');
  return out;
}

function unknownExtraField(length: number): Buffer {
  const extra = Buffer.alloc(4 + length);
  extra.writeUInt16LE(0xcafe, 0);
  extra.writeUInt16LE(length, 2);
  return extra;
}

const END_RECORD_SIGNATURE = Buffer.from('PK\u0005\u0006', 'latin1');

/** A copy of a zip whose end-of-central-directory record (its last 22 bytes) has fields overwritten: 16-bit at 8 and 10, 32-bit at 12 and 16. */
function withEndRecord(zip: Buffer, fields: Record<number, number>): Buffer {
  const copy = Buffer.from(zip);
  const record = copy.length - 22;
  for (const [offset, value] of Object.entries(fields)) {
    if (Number(offset) >= 12) copy.writeUInt32LE(value, record + Number(offset));
    else copy.writeUInt16LE(value, record + Number(offset));
  }
  return copy;
}

const SAFE_TAR = (): Promise<Buffer> => tarOf([{ name: 'app/main.py', content: 'print("harmless")\n' }]);
const EVIL_ZIP = rawZip([{ name: '../evil-polyglot.txt', data: 'escaped' }]);

describe('polyglots', () => {
  it("refuses a .tar.gz whose gzip extra field holds a whole zip", async () => {
    const plain = gzipSync(await SAFE_TAR());
    const length = Buffer.alloc(2);
    length.writeUInt16LE(EVIL_ZIP.length);
    const head = Buffer.from(plain.subarray(0, 10));
    head[3] = 0x04;
    const polyglot = Buffer.concat([head, length, EVIL_ZIP, plain.subarray(10)]);

    await expect(inspect(polyglot)).rejects.toMatchObject(refusal("The gzip header's extra field holds a zip signature"));
  });

  it('refuses a plain tar whose last bytes hold a zip end record, even inside a file', async () => {
    const tar = await tarOf([{ name: 'app/main.py', content: 'x' }, { name: 'app/lib.zip', content: EVIL_ZIP }]);

    await expect(inspect(tar)).rejects.toMatchObject(refusal('The tar file is also a zip archive: it has a zip end of central directory record at byte'));
  });

  it('accepts a plain tar whose zip end record lies more than 80 KiB before the end', async () => {
    const tar = await tarOf([{ name: 'app/lib.zip', content: EVIL_ZIP }, { name: 'app/data.bin', content: Buffer.alloc(90_000, 1) }]);

    await expect(inspect(tar)).resolves.toMatchObject({ format: 'tar', archive: { entryCount: 2 } });
  });

  it.each([
    ['entry counts of zero (Python reads the directory whatever the counts say)', { 8: 0, 10: 0 }],
    ['per-disk and total counts that differ', { 8: 7 }],
    ['a directory offset past the record (Python and unzip find the directory from the record instead)', { 16: 0xfffffff0 }],
  ])('refuses a plain tar whose last file is a zip with %s', async (_case, patch) => {
    const tar = await tarOf([{ name: 'app/main.py', content: 'x' }, { name: 'app/lib.zip', content: withEndRecord(EVIL_ZIP, patch) }]);

    await expect(inspect(tar)).rejects.toMatchObject(refusal('The tar file is also a zip archive: it has a zip end of central directory record at byte'));
  });

  it("refuses a .tar.gz whose compressed bytes end with a zip's end record, whatever its counts (stored deflate blocks)", async () => {
    // Level 0 stores the tar as it is: the zip tools reading the .tar.gz find the zip in its tail.
    const tar = await tarOf([{ name: 'app/main.py', content: 'x' }, { name: 'app/lib.zip', content: withEndRecord(EVIL_ZIP, { 8: 0, 10: 0 }) }]);

    await expect(inspect(gzipSync(tar, { level: 0 }))).rejects.toMatchObject(refusal('The tar.gz file is also a zip archive'));
  });

  it('refuses a tar whose zip end record lies 72 KiB before the end, where unzip still looks (it reads whole 8 KiB blocks)', async () => {
    const tar = Buffer.concat([
      tarHeader({ name: 'app/pre.bin', size: 512 }),
      blocks(Buffer.alloc(512, 2)),
      tarHeader({ name: 'app/lib.zip', size: EVIL_ZIP.length }),
      blocks(EVIL_ZIP),
      tarHeader({ name: 'app/data.bin', size: 70_000 }),
      blocks(Buffer.alloc(70_000, 1)),
      Buffer.alloc(1024),
    ]);
    // A length that is a multiple of 8 KiB gives unzip its widest search: 9 blocks back.
    expect(tar.length % 8192).toBe(0);
    expect(tar.length - tar.lastIndexOf(END_RECORD_SIGNATURE)).toBe(72_067);

    await expect(inspect(tar)).rejects.toMatchObject(refusal('The tar file is also a zip archive'));
  });

  it('refuses a zip whose first 512 bytes are also a valid tar header', async () => {
    const zip = rawZip([{ name: 'app/a.txt', data: 'x', local: { extra: unknownExtraField(600) } }]);

    await expect(inspect(withTarHeaderInFront(zip))).rejects.toMatchObject(refusal('The zip file is also a tar archive'));
  });

  it('refuses a gzip whose first 512 bytes are also a valid tar header', async () => {
    const plain = gzipSync(await SAFE_TAR());
    const length = Buffer.alloc(2);
    length.writeUInt16LE(600);
    const head = Buffer.from(plain.subarray(0, 10));
    head[3] = 0x04;
    const gzip = Buffer.concat([head, length, Buffer.alloc(600), plain.subarray(10)]);

    await expect(inspect(withTarHeaderInFront(gzip))).rejects.toMatchObject(refusal('The tar.gz file is also a tar archive'));
  });

  it('refuses a zip behind a prefix (a self-extracting stub): the first bytes match no format', async () => {
    const zip = rawZip([{ name: 'app/a.txt', data: 'x' }], { prefix: Buffer.from('#!/bin/sh\nexec unzip "$0"\n') });

    await expect(inspect(zip)).rejects.toMatchObject(refusal('its first bytes match no accepted format'));
  });
});
