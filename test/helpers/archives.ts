/**
 * Real archives for the tests, built in memory: .tar.gz and .tar with tar-stream, .zip with yazl.
 */
import { createHash, randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { ZipFile } from 'yazl';

export interface ArchiveEntry {
  name: string;
  content: Buffer | string;
}

export function sampleEntries(seed = 'app', extraBytes = 0): ArchiveEntry[] {
  return [
    { name: `${seed}/app.yaml`, content: `spec_version: 2\napp_code: ${seed}\n` },
    { name: `${seed}/src/main.py`, content: `print("hello from ${seed}")\n` },
    ...(extraBytes > 0 ? [{ name: `${seed}/blob.bin`, content: randomBytes(extraBytes) }] : []),
  ];
}

export async function tarArchive(entries: ArchiveEntry[]): Promise<Buffer> {
  const tar = pack();
  const chunks: Buffer[] = [];
  tar.on('data', (chunk: unknown) => chunks.push(chunk as Buffer));
  const ended = new Promise<void>((resolve, reject) => {
    tar.on('end', resolve);
    tar.on('error', reject);
  });
  for (const entry of entries) tar.entry({ name: entry.name }, entry.content);
  tar.finalize();
  await ended;
  return Buffer.concat(chunks);
}

export async function tarGzArchive(entries: ArchiveEntry[]): Promise<Buffer> {
  return gzipSync(await tarArchive(entries));
}

export function zipArchive(entries: ArchiveEntry[]): Promise<Buffer> {
  const zip = new ZipFile();
  for (const entry of entries) zip.addBuffer(Buffer.from(entry.content), entry.name);
  zip.end();
  const chunks: Buffer[] = [];
  return new Promise((resolve, reject) => {
    zip.outputStream.on('data', (chunk: Buffer) => chunks.push(chunk));
    zip.outputStream.on('end', () => resolve(Buffer.concat(chunks)));
    zip.outputStream.on('error', reject);
  });
}

export function sha256Of(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}
