/**
 * The archives the streaming scenarios move, written on first use into the run's archive
 * directory (or BENCH_ARCHIVE_CACHE, where they are kept and reused: the 1 GiB source-like
 * archive takes minutes to compress). A kept archive is reused only when its description says
 * it was made by this generator version from the same lockfile, and its file is still whole.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { writeArchiveFile } from './archive-file';
import { checkSourceLike, writeSourceArchive } from './source-archive';

/** *random*: one file of random bytes at gzip level 1; *source*: a tree of real source files (source-archive.ts). */
export type ArchiveKind = 'random' | 'source';

/** Bump when either generator changes what it writes. */
const GENERATOR_VERSION = 1;
const MiB = 1024 * 1024;

export interface BenchArchive {
  kind: ArchiveKind;
  sizeBytes: number;
  file: string;
  bytes: number;
  sha256: string;
  tarBytes: number;
  entries: number;
}

const root = path.resolve(__dirname, '../..');

function lockfileDigest(): string {
  return createHash('sha256').update(readFileSync(path.join(root, 'package-lock.json'))).digest('hex').slice(0, 12);
}

export async function archiveFor(dir: string, kind: ArchiveKind, sizeBytes: number, log: (line: string) => void): Promise<BenchArchive> {
  const stem = `${kind}-${sizeBytes / MiB}MiB-v${GENERATOR_VERSION}${kind === 'source' ? `-${lockfileDigest()}` : ''}`;
  const file = path.join(dir, `${stem}.tar.gz`);
  const facts = path.join(dir, `${stem}.json`);
  if (existsSync(facts) && existsSync(file)) {
    const kept = JSON.parse(readFileSync(facts, 'utf8')) as BenchArchive;
    if (statSync(file).size === kept.bytes) return { ...kept, file };
  }
  const started = Date.now();
  let archive: BenchArchive;
  if (kind === 'random') {
    archive = { kind, sizeBytes, ...(await writeArchiveFile(file, sizeBytes)) };
  } else {
    const written = await writeSourceArchive(file, sizeBytes, path.join(root, 'node_modules'));
    checkSourceLike(written);
    archive = { kind, sizeBytes, file, bytes: written.bytes, sha256: written.sha256, tarBytes: written.tarBytes, entries: written.entries };
  }
  writeFileSync(facts, JSON.stringify(archive, null, 2));
  log(
    `  wrote the ${kind} archive of ${sizeBytes / MiB} MiB: ${archive.bytes} bytes, ${archive.entries} entries, ` +
      `${(archive.tarBytes / archive.bytes).toFixed(2)}× compression, in ${((Date.now() - started) / 1000).toFixed(0)} s`,
  );
  return archive;
}
