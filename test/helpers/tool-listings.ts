/**
 * How real tools list an archive — GNU tar and bsdtar (`-tv`), Info-ZIP `unzip -Z`, Python's
 * tarfile and zipfile — reduced to what a listing must agree on: each entry's name and link target
 * as hex of their bytes, its kind, and a file's size. Directories lose their trailing slash
 * (tarfile drops it); a GNU volume label is metadata, not an entry, and is left out.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { ArchiveEntry } from '../../lib/archive/archive-safety';
import { nameBytes } from './service-listing';

const run = promisify(execFile);

export interface Listed {
  name: string;
  kind: string;
  size: number;
  link: string;
}

const LISTER = path.join(__dirname, '..', 'fixtures', 'real-world', 'list_archive.py');

function normalised(entry: Listed): Listed {
  let name = entry.name;
  if (entry.kind === 'directory') while (name.endsWith('2f') && name.length > 2) name = name.slice(0, -2);
  return { ...entry, name, size: entry.kind === 'file' ? entry.size : 0 };
}

/** A listing in a stable order, for comparing as a multiset. */
export function sortedListing(entries: Listed[]): Listed[] {
  return entries.map(normalised).sort((a, b) => (a.name + a.kind < b.name + b.kind ? -1 : a.name + a.kind > b.name + b.kind ? 1 : 0));
}

export function serviceListing(entries: ArchiveEntry[], withLinks = true): Listed[] {
  return sortedListing(
    entries.map((entry) => ({
      name: nameBytes(entry.name).toString('hex'),
      kind: entry.kind,
      size: entry.size,
      link: withLinks && (entry.kind === 'symlink' || entry.kind === 'hardlink') ? nameBytes(entry.linkTarget ?? '').toString('hex') : '',
    })),
  );
}

const KINDS: Record<string, string> = { '-': 'file', d: 'directory', l: 'symlink', h: 'hardlink' };

/**
 * One `-tv` line: mode, then columns up to the date and time, then the name (and ` -> target` or
 * ` link to target`). `columns` is how many fields stand between the mode and the name.
 */
function parseLine(line: string, sizeColumn: number, columns: number, encoding: BufferEncoding): Listed | undefined {
  const fields = new RegExp(`^(\\S+)${'\\s+(\\S+)'.repeat(columns)} (.*)$`).exec(line);
  if (!fields) throw new Error(`cannot parse the listing line ${JSON.stringify(line)}`);
  const mode = fields[1] ?? '';
  if (mode.startsWith('V')) return undefined; // a GNU volume label
  let name = fields[columns + 2] ?? '';
  // bsdtar shows a hard link with its target's mode (`-rw-r--r-- ... name link to target`).
  const kind = mode.charAt(0) === '-' && name.includes(' link to ') ? 'hardlink' : (KINDS[mode.charAt(0)] ?? `other:${mode.charAt(0)}`);
  let link = '';
  const separator = kind === 'symlink' ? ' -> ' : kind === 'hardlink' ? ' link to ' : undefined;
  const at = separator ? name.indexOf(separator) : -1;
  if (separator && at >= 0) {
    link = name.slice(at + separator.length);
    name = name.slice(0, at);
  }
  const hex = (text: string) => Buffer.from(text, encoding).toString('hex');
  return { name: hex(name), kind, size: Number(fields[sizeColumn + 1]), link: hex(link) };
}

async function lines(command: string, args: string[], locale: string, encoding: BufferEncoding): Promise<string[]> {
  const { stdout } = await run(command, args, { env: { ...process.env, LC_ALL: locale, TZ: 'UTC' }, encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 });
  return stdout
    .toString(encoding)
    .split('\n')
    .filter((line) => line !== '');
}

/** GNU tar 1.34: `tar -tv`, names as raw bytes (C locale, literal quoting). */
export async function gnuTarListing(file: string): Promise<Listed[]> {
  const out = await lines('tar', ['--quoting-style=literal', '--utc', '--numeric-owner', '-tvf', file], 'C', 'latin1');
  // -rw-r--r-- 0/0   35 2026-01-02 03:04 name
  return sortedListing(out.map((line) => parseLine(line, 2, 4, 'latin1')).filter((entry): entry is Listed => entry !== undefined));
}

/**
 * bsdtar's `-tv` shows a byte it cannot print as `\ooo` and a backslash as `\\`: back to the bytes
 * (read as latin1, one character a byte).
 */
function unescapeBsdtar(text: string): string {
  return text.replace(/\\([0-7]{3}|\\)/g, (_all, code: string) => (code === '\\' ? '\\' : String.fromCharCode(parseInt(code, 8))));
}

/** bsdtar (libarchive): `bsdtar -tv` of a tar or a zip, in a UTF-8 locale, names as bytes. */
export async function bsdtarListing(file: string): Promise<Listed[]> {
  const out = await lines('bsdtar', ['--numeric-owner', '-tvf', file], 'C.UTF-8', 'latin1');
  // -rw-r--r--  0 0      0          35 Jan  2  2026 name
  return sortedListing(out.map((line) => parseLine(unescapeBsdtar(line), 4, 7, 'latin1')).filter((entry): entry is Listed => entry !== undefined));
}

/** Info-ZIP unzip 6.0: `unzip -Z` (zipinfo), which shows no link targets: links are compared by kind and name. */
export async function unzipListing(file: string): Promise<Listed[]> {
  const out = await lines('unzip', ['-Z', file], 'C.UTF-8', 'utf8');
  // Archive: / Zip file size: header lines, one line per entry, a summary line.
  const entries = out.slice(2, -1).map((line) => {
    const listed = parseLine(line, 3, 7, 'utf8');
    if (!listed) throw new Error(`unexpected zipinfo line ${line}`);
    return listed;
  });
  return sortedListing(entries.map((entry) => ({ ...entry, kind: entry.name.endsWith('2f') ? 'directory' : entry.kind, link: '' })));
}

/** Python's tarfile or zipfile (test/fixtures/real-world/list_archive.py). */
export async function pythonListing(file: string, format: 'tar' | 'zip'): Promise<Listed[]> {
  const { stdout } = await run('python3', ['-X', 'utf8', LISTER, format, file], { maxBuffer: 64 * 1024 * 1024 });
  const entries = JSON.parse(stdout) as Listed[];
  return sortedListing(entries.filter((entry) => entry.kind !== 'other:V'));
}
