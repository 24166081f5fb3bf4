/**
 * PackageInspector: one pass over the archive's bytes on their way to S3 — SHA-256, byte count,
 * size cap, declared length, format sniffing — with the bytes passed through unchanged.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { PackageInspector, sniffFormat, type InspectionResult } from '../../../lib/archive/package-inspector';
import { tarGzArchive } from '../../helpers/archives';

const archive = (name: string): Buffer => readFileSync(path.join(__dirname, '../../fixtures/archives', name));
const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

/** A minimal ustar archive: one 512-byte header for an empty file, then two zero blocks. */
function handBuiltUstar(): Buffer {
  const header = Buffer.alloc(512);
  header.write('app/empty.txt', 0, 'ascii');
  header.write('0000644\0', 100, 'ascii');
  header.write('0000000\0', 108, 'ascii');
  header.write('0000000\0', 116, 'ascii');
  header.write('00000000000\0', 124, 'ascii');
  header.write('13735261647\0', 136, 'ascii');
  header.write('0', 156, 'ascii');
  header.write('ustar\0' + '00', 257, 'ascii');
  header.fill(' ', 148, 156);
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'ascii');
  return Buffer.concat([header, Buffer.alloc(1024)]);
}

/** Splits the bytes into chunks of `size` bytes, as a socket may deliver them. */
function chunks(bytes: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let offset = 0; offset < bytes.length; offset += size) out.push(bytes.subarray(offset, offset + size));
  return out;
}

const LIMITS = { maxEntries: 1000, maxUncompressedBytes: 64 * 1024 * 1024 };

async function inspect(
  input: Buffer[],
  options: { maxBytes?: number; declaredLength?: number } = {},
): Promise<{ result: InspectionResult; output: Buffer }> {
  const inspector = new PackageInspector(options.maxBytes ?? 1024 * 1024, options.declaredLength, LIMITS);
  const received: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      received.push(chunk);
      callback();
    },
  });
  await pipeline(Readable.from(input), inspector, sink);
  return { result: inspector.result(), output: Buffer.concat(received) };
}

describe('PackageInspector', () => {
  it.each([
    ['a .tar.gz made by tar and gzip', 'sundy820-app.tar.gz', 'tar.gz'],
    ['a ustar .tar made by tar', 'sundy820-app.tar', 'tar'],
    ['a .zip made by zip', 'sundy820-app.zip', 'zip'],
  ] as const)('recognises %s', async (_case, file, format) => {
    // Prepare
    const bytes = archive(file);

    // Act
    const { result } = await inspect(chunks(bytes, 100));

    // Assess
    expect(result.format).toBe(format);
  });

  it('recognises gzip bytes from zlib.gzipSync', async () => {
    // Prepare
    const bytes = gzipSync(archive('sundy820-app.tar'));

    // Act
    const { result } = await inspect([bytes]);

    // Assess
    expect(result.format).toBe('tar.gz');
  });

  it('recognises a hand-built ustar header delivered one byte at a time', async () => {
    // Prepare
    const bytes = handBuiltUstar();

    // Act
    const { result, output } = await inspect(chunks(bytes, 1));

    // Assess
    expect(result).toEqual({ format: 'tar', size: 1536, sha256: sha256(bytes), archive: { entryCount: 1, uncompressedBytes: 0 } });
    expect(output.equals(bytes)).toBe(true);
  });

  it("gives the SHA-256 and size node:crypto gives over the same bytes, and passes them on unchanged", async () => {
    // Prepare
    const bytes = archive('sundy820-app.tar');

    // Act
    const { result, output } = await inspect(chunks(bytes, 777));

    // Assess
    expect(result.sha256).toBe(sha256(bytes));
    expect(result.size).toBe(bytes.length);
    expect(output.equals(bytes)).toBe(true);
  });

  it('refuses an HTML page with INVALID_PACKAGE_FORMAT that says it is HTML', async () => {
    // Prepare
    const page = archive('sign-in-page.html');

    // Act
    const inspecting = inspect([page]);

    // Assess
    await expect(inspecting).rejects.toMatchObject({ code: 'INVALID_PACKAGE_FORMAT', status: 422, detail: expect.stringMatching(/HTML/) });
  });

  it('refuses a short HTML error page once the stream ends', async () => {
    // Prepare
    const page = Buffer.from('  <html><body>404 Not Found</body></html>\n');

    // Act
    const inspecting = inspect([page]);

    // Assess
    await expect(inspecting).rejects.toMatchObject({ code: 'INVALID_PACKAGE_FORMAT', detail: expect.stringMatching(/HTML/) });
  });

  it('refuses an empty download', async () => {
    // Act
    const inspecting = inspect([]);

    // Assess
    await expect(inspecting).rejects.toMatchObject({ code: 'INVALID_PACKAGE_FORMAT', detail: expect.stringMatching(/empty/) });
  });

  it('refuses a JSON error body, saying it looks like JSON', async () => {
    // Act
    const inspecting = inspect([Buffer.from('{"error": "AccessDenied"}')]);

    // Assess
    await expect(inspecting).rejects.toMatchObject({ code: 'INVALID_PACKAGE_FORMAT', detail: expect.stringMatching(/JSON/) });
  });

  it('accepts a package of exactly the size limit', async () => {
    // Prepare
    const bytes = archive('sundy820-app.tar.gz');

    // Act
    const { result } = await inspect([bytes], { maxBytes: bytes.length });

    // Assess
    expect(result.size).toBe(bytes.length);
  });

  it('refuses with PACKAGE_TOO_LARGE a package one byte over the limit', async () => {
    // Prepare
    const bytes = archive('sundy820-app.tar.gz');

    // Act
    const inspecting = inspect(chunks(bytes, 64), { maxBytes: bytes.length - 1 });

    // Assess
    await expect(inspecting).rejects.toMatchObject({ code: 'PACKAGE_TOO_LARGE', status: 422 });
  });

  it('stops passing bytes on once the limit is crossed', async () => {
    // Prepare
    const bytes = archive('sundy820-app.tar');
    const inspector = new PackageInspector(2048, undefined, LIMITS);
    const received: Buffer[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        received.push(chunk);
        callback();
      },
    });

    // Act
    const piping = pipeline(Readable.from(chunks(bytes, 1024)), inspector, sink);

    // Assess
    await expect(piping).rejects.toMatchObject({ code: 'PACKAGE_TOO_LARGE' });
    expect(Buffer.concat(received).length).toBeLessThanOrEqual(2048);
  });

  it.each([
    ['fewer', 1],
    ['more', -1],
  ])('fails with PACKAGE_DOWNLOAD_FAILED when the server sends %s bytes than it declared', async (_case, delta) => {
    // Prepare
    const bytes = archive('sundy820-app.zip');

    // Act
    const inspecting = inspect([bytes], { declaredLength: bytes.length + delta });

    // Assess
    await expect(inspecting).rejects.toMatchObject({ code: 'PACKAGE_DOWNLOAD_FAILED', status: 502 });
  });

  it('accepts a download whose length matches the declared length', async () => {
    // Prepare
    const bytes = archive('sundy820-app.zip');

    // Act
    const { result } = await inspect([bytes], { declaredLength: bytes.length });

    // Assess
    expect(result).toEqual({ format: 'zip', size: bytes.length, sha256: sha256(bytes), archive: { entryCount: 4, uncompressedBytes: 105 } });
  });

  it('has no result before the stream has ended', () => {
    // Prepare
    const inspector = new PackageInspector(1024, undefined, LIMITS);

    // Act
    const reading = () => inspector.result();

    // Assess
    expect(reading).toThrow(/before the stream ended/);
  });
});

describe('sniffFormat', () => {
  it('asks for more bytes while a tar header could still follow', () => {
    // Act
    const verdict = sniffFormat(Buffer.alloc(100), false);

    // Assess
    expect(verdict).toBeUndefined();
  });

  it('decides "none" for short bytes once the stream is complete', () => {
    // Act
    const verdict = sniffFormat(Buffer.from('PK'), true);

    // Assess
    expect(verdict).toBeNull();
  });

  it('waits for a whole block without the ustar magic, then refuses one whose checksum is wrong', () => {
    // Act
    const early = sniffFormat(Buffer.alloc(262, 0x41), false);
    const verdict = sniffFormat(Buffer.alloc(512, 0x41), false);

    // Assess
    expect(early).toBeUndefined();
    expect(verdict).toBeNull();
  });

  it('takes a block without the ustar magic for a tar when its header checksum is right (old V7 tars)', () => {
    // Prepare
    const v7 = handBuiltUstar().subarray(0, 512);
    v7.fill(0, 257, 265);
    let sum = 0;
    for (const [at, byte] of v7.entries()) sum += at >= 148 && at < 156 ? 0x20 : byte;
    v7.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');

    // Act
    const verdict = sniffFormat(v7, false);

    // Assess
    expect(verdict).toBe('tar');
  });
});

describe('PackageInspector archive listing', () => {
  it('lists a .tar.gz in the same pass and refuses one that escapes its root, before the stream ends', async () => {
    // Prepare
    const safe = await tarGzArchive([{ name: 'app/a.txt', content: 'a' }, { name: 'app/b.txt', content: 'bb' }]);
    const unsafe = await tarGzArchive([{ name: '../outside.txt', content: 'x' }]);

    // Act
    const { result } = await inspect(chunks(safe, 7));
    const refused = inspect(chunks(unsafe, 7));

    // Assess
    expect(result.archive).toEqual({ entryCount: 2, uncompressedBytes: 3 });
    await expect(refused).rejects.toMatchObject({ code: 'INVALID_PACKAGE_FORMAT', detail: expect.stringContaining('../outside.txt') });
  });

  it('refuses a gzip whose content is not a tar', async () => {
    // Act
    const refused = inspect([gzipSync(Buffer.from('just some text, not a tar archive'.repeat(40)))]);

    // Assess
    await expect(refused).rejects.toMatchObject({ code: 'INVALID_PACKAGE_FORMAT' });
  });
});
