/**
 * The bench's second archive: a .tar.gz shaped like a real source package — many small files of
 * real code and text, some binary assets, directories, compressing about 4–6× — where the first
 * (archive-file.ts, one random blob) barely compresses and has one entry.
 *
 * Its content is this repository's own `node_modules` (regular files up to 1 MiB, walked in
 * sorted order: JavaScript, TypeScript, JSON, Markdown, C++ sources, a few native binaries; the
 * same bytes wherever `npm ci` installed the same lockfile), copied under `src-001/`,
 * `src-002/`, … until the compressed file reaches the size asked for, plus, after every
 * ASSET_EVERY-th file, an "asset" of seeded pseudo-random bytes (an image or font does not
 * compress either). Written with ustar headers (pax records for paths over 255 bytes), the mode,
 * owner and time fixed, and gzip level 6 (gzip's and `tar -z`'s default). Offline and
 * deterministic: the same lockfile gives the same bytes.
 *
 * The caller checks the compression ratio (`checkSourceLike`): a corpus that drifted out of the
 * 4–6× band would measure something else.
 */
import { createHash } from 'node:crypto';
import { createWriteStream, readdirSync, readFileSync, lstatSync } from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';
import { createGzip } from 'node:zlib';

const BLOCK = 512;
const MAX_FILE_BYTES = 1024 * 1024;
const ASSET_EVERY = 70;
const MTIME = 1_600_000_000;

export interface SourceArchive {
  file: string;
  bytes: number;
  sha256: string;
  /** Bytes of the tar stream inside the gzip. */
  tarBytes: number;
  entries: number;
  files: number;
  /** tarBytes / bytes. */
  ratio: number;
}

interface CorpusFile {
  path: string;
  bytes: Buffer;
}

const corpora = new Map<string, CorpusFile[]>();

/** Regular files up to 1 MiB under `dir`, in sorted order, links skipped (read once per process). */
function corpusOf(dir: string): CorpusFile[] {
  let corpus = corpora.get(dir);
  if (!corpus) corpora.set(dir, (corpus = readCorpus(dir)));
  return corpus;
}

function readCorpus(dir: string, prefix = ''): CorpusFile[] {
  const files: CorpusFile[] = [];
  for (const name of readdirSync(dir).sort()) {
    const full = path.join(dir, name);
    const stat = lstatSync(full);
    if (stat.isDirectory()) files.push(...readCorpus(full, `${prefix}${name}/`));
    else if (stat.isFile() && stat.size <= MAX_FILE_BYTES) files.push({ path: `${prefix}${name}`, bytes: readFileSync(full) });
  }
  return files;
}

/** Deterministic pseudo-random bytes (xorshift32): incompressible, like an image or a font. */
function assetBytes(seed: number, length: number): Buffer {
  const bytes = Buffer.alloc(length + 3);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < length; i += 4) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    bytes.writeUInt32LE(state >>> 0, i);
  }
  return bytes.subarray(0, length);
}

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

function header(name: Buffer, prefix: Buffer, size: number, type: string, mode: number): Buffer {
  const block = Buffer.alloc(BLOCK);
  name.copy(block, 0);
  block.write(octal(mode, 8), 100, 'latin1');
  block.write(octal(0, 8), 108, 'latin1');
  block.write(octal(0, 8), 116, 'latin1');
  block.write(octal(size, 12), 124, 'latin1');
  block.write(octal(MTIME, 12), 136, 'latin1');
  block.write('        ', 148, 'latin1');
  block.write(type, 156, 'latin1');
  block.write('ustar\u000000', 257, 'latin1');
  block.write('root', 265, 'latin1');
  block.write('root', 297, 'latin1');
  prefix.copy(block, 345);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(octal(sum, 7) + ' ', 148, 'latin1');
  return block;
}

function padding(size: number): Buffer {
  return Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);
}

/** A pax record "<length> path=<value>\n", whose length counts itself. */
function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from('\n')]);
  let length = body.length + 1;
  while (String(length).length + body.length !== length) length += 1;
  return Buffer.concat([Buffer.from(String(length)), body]);
}

/** The header blocks of one entry: ustar name and prefix when they fit, else a pax path. */
function entryHeader(name: string, size: number, type: '0' | '5'): Buffer[] {
  const bytes = Buffer.from(name);
  const mode = type === '5' ? 0o755 : 0o644;
  if (bytes.length <= 100) return [header(bytes, Buffer.alloc(0), size, type, mode)];
  for (let cut = bytes.lastIndexOf(0x2f, 155); cut > 0; cut = bytes.lastIndexOf(0x2f, cut - 1)) {
    if (bytes.length - cut - 1 <= 100 && bytes.length - cut - 1 > 0) {
      return [header(bytes.subarray(cut + 1), bytes.subarray(0, cut), size, type, mode)];
    }
  }
  const pax = paxRecord('path', bytes);
  return [header(Buffer.from('PaxHeader'), Buffer.alloc(0), pax.length, 'x', 0o644), pax, padding(pax.length), header(bytes.subarray(0, 100), Buffer.alloc(0), size, type, mode)];
}

export async function writeSourceArchive(file: string, approxBytes: number, corpusDir: string): Promise<SourceArchive> {
  const corpus = corpusOf(corpusDir);
  if (corpus.length === 0) throw new Error(`${corpusDir} holds no files for the source-like archive; run npm ci`);
  const out = createWriteStream(file);
  const gzip = createGzip({ level: 6 });
  const hash = createHash('sha256');
  let compressed = 0;
  gzip.on('data', (chunk: Buffer) => {
    compressed += chunk.length;
    hash.update(chunk);
    if (!out.write(chunk)) gzip.pause();
  });
  out.on('drain', () => gzip.resume());
  let tarBytes = 0;
  let entries = 0;
  let files = 0;
  const write = async (pieces: Buffer[]): Promise<void> => {
    for (const piece of pieces) {
      tarBytes += piece.length;
      if (!gzip.write(piece)) await once(gzip, 'drain');
    }
  };
  const directories = new Set<string>();
  const addDirectories = async (name: string): Promise<void> => {
    const parts = name.split('/');
    for (let depth = 1; depth < parts.length; depth++) {
      const dir = `${parts.slice(0, depth).join('/')}/`;
      if (directories.has(dir)) continue;
      directories.add(dir);
      entries += 1;
      await write(entryHeader(dir, 0, '5'));
    }
  };
  const addFile = async (name: string, bytes: Buffer): Promise<void> => {
    await addDirectories(name);
    entries += 1;
    files += 1;
    await write([...entryHeader(name, bytes.length, '0'), bytes, padding(bytes.length)]);
  };

  let seed = 0x2545f491;
  for (let copy = 1; compressed < approxBytes; copy++) {
    const root = `src-${String(copy).padStart(3, '0')}/`;
    for (const [index, source] of corpus.entries()) {
      if (compressed >= approxBytes) break;
      await addFile(`${root}${source.path}`, source.bytes);
      if (index % ASSET_EVERY === ASSET_EVERY - 1) {
        seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
        await addFile(`${root}assets/${String(index).padStart(6, '0')}.bin`, assetBytes(seed, 4096 + (seed % (28 * 1024))));
      }
    }
  }
  await write([Buffer.alloc(2 * BLOCK)]);
  gzip.end();
  await once(gzip, 'end');
  out.end();
  await once(out, 'close');
  return { file, bytes: compressed, sha256: hash.digest('hex'), tarBytes, entries, files, ratio: tarBytes / compressed };
}

/** Throws unless the archive compresses as a source tree does (4–6×). */
export function checkSourceLike(archive: SourceArchive): void {
  if (archive.ratio < 4 || archive.ratio > 6) {
    throw new Error(
      `the source-like archive compresses ${archive.ratio.toFixed(2)}×, outside the 4–6× of real source trees: ` +
        'the node_modules corpus changed; adjust ASSET_EVERY in bench/streaming/source-archive.ts',
    );
  }
}
