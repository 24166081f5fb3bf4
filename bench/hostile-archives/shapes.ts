/**
 * The archive shapes issue 11 found stalling the archive checks, built in memory (a few KB each
 * once gzipped): deep names cost the old checks time quadratic in a path's depth.
 */
import { gzipSync } from 'node:zlib';
import { pack, type Header } from 'tar-stream';

type Headers = Partial<Header> & { name: string };

export interface HostileShape {
  name: string;
  format: 'tar.gz';
  bytes: Buffer;
}

async function tarOf(headers: Headers[]): Promise<Buffer> {
  const tar = pack();
  const chunks: Buffer[] = [];
  tar.on('data', (chunk) => {
    chunks.push(chunk as Buffer);
  });
  const ended = new Promise<void>((resolve, reject) => {
    tar.on('end', resolve);
    tar.on('error', reject);
  });
  for (const header of headers) {
    // A fixed time, so the corpus made from these shapes is the same bytes every time.
    const fixed = { mtime: new Date('2020-08-24T17:15:51Z'), ...header };
    if (header.type === 'directory') tar.entry(fixed);
    else tar.entry(fixed, '');
  }
  tar.finalize();
  await ended;
  return Buffer.concat(chunks);
}

/** `levels` segments: `prefix/a/a/…/a`. */
function deepName(prefix: string, levels: number): string {
  return `${prefix}${'/a'.repeat(levels - 1)}`;
}

export async function hostileShapes(scale = 1): Promise<HostileShape[]> {
  const n = (count: number): number => Math.max(2, Math.round(count * scale));
  const nested = Array.from({ length: n(2_000) }, (_, i): Headers => ({ name: `${'d/'.repeat(i + 1)}`, type: 'directory' }));
  return [
    { name: `one entry ${n(32_000)} levels deep`, format: 'tar.gz', bytes: gzipSync(await tarOf([{ name: deepName('a', n(32_000)) }]), { level: 9 }) },
    { name: `${n(2_000)} nested directories`, format: 'tar.gz', bytes: gzipSync(await tarOf(nested), { level: 9 }) },
    {
      name: `${n(30)} entries ${n(20_000)} levels deep`,
      format: 'tar.gz',
      bytes: gzipSync(await tarOf(Array.from({ length: n(30) }, (_, i) => ({ name: deepName(`x${i}`, n(20_000)) }))), { level: 9 }),
    },
  ];
}
