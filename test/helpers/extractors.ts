/**
 * Real extractors, run the way a user runs them, and a snapshot of what each one wrote.
 *
 * Each extraction gets a fresh sandbox `<tmp>/a/b/root`: the archive is extracted into `root`,
 * so an entry that climbs out by `..` lands inside the sandbox (in `a/b`, `a` or the sandbox
 * itself) where the snapshot sees it, instead of somewhere on this machine. Tools run with a
 * timeout, LC_ALL=C.UTF-8 and TZ=UTC. Installed by scripts/install-extractors.sh.
 */
import { execFile } from 'node:child_process';
import { createWriteStream, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import yauzl from 'yauzl';

export type ArchiveFormat = 'tar' | 'zip';

export interface Extractor {
  name: string;
  formats: ArchiveFormat[];
  /** The command line tool it needs (missing → the test fails naming it), if any. */
  tool?: string;
  /**
   * A zip symbolic link written as a regular file holding the target's text (Python's zipfile,
   * a Node program that does not look at the mode): the link is not followed, so nothing
   * escapes, and the file's content is compared with the listed target instead.
   */
  zipLinksAsFiles?: boolean;
  /**
   * Skips every symbolic link whose target has a `.` or `..` segment (7-Zip: "Dangerous link
   * path was ignored") and leaves an empty regular file in its place: such a listed link may be
   * missing or an empty file, nothing else. docs/api.md accepts these links on purpose (the
   * other extractors make them as listed).
   */
  skipsLinksWithDotSegments?: boolean;
  extract(archive: string, root: string, timeoutMs: number): Promise<void>;
}

export class ExtractorFailed extends Error {}

const TOOL_ENV = { ...process.env, LC_ALL: 'C.UTF-8', TZ: 'UTC' };

/** Runs one extraction; `tolerated` says which non-zero exits are warnings about what the tool did, not a refusal (what landed is compared anyway). */
function run(command: string, args: string[], cwd: string, timeoutMs: number, tolerated?: (code: number, stderr: string) => boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd, env: TOOL_ENV, timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024, encoding: 'latin1' }, (error, _stdout, stderr) => {
      if (!error) return resolve();
      const code = typeof error.code === 'number' ? error.code : -1;
      if (code > 0 && tolerated?.(code, stderr)) return resolve();
      const why = error.killed ? `killed after ${timeoutMs} ms` : `exit ${String(error.code ?? error.signal)}`;
      // The first line, and the last two (where Python's exception and the tools' summaries are).
      const lines = stderr.trim().split('\n');
      const said = lines.length <= 3 ? lines : [lines[0], '…', ...lines.slice(-2)];
      reject(new ExtractorFailed(`${path.basename(command)} ${why}: ${said.join(' | ')}`));
    });
  });
}

/**
 * Debian's Python 3.11 (3.11.2: before the extraction filters of 3.11.4, so extractall() checks
 * nothing, the worst case a user meets), not whatever `python3` a version manager puts first.
 */
export const PYTHON = process.env.EXTRACTOR_PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');

const PYTHON_TAR = 'import sys, tarfile\nwith tarfile.open(sys.argv[1]) as t: t.extractall(sys.argv[2])';
const PYTHON_ZIP = 'import sys, zipfile\nwith zipfile.ZipFile(sys.argv[1]) as z: z.extractall(sys.argv[2])';

/** Strictest reading of "an extractor's exit": non-zero is a refusal, except where noted per tool. */
export const EXTRACTORS: Extractor[] = [
  {
    name: 'GNU tar',
    tool: 'tar',
    formats: ['tar'],
    // Exit 2 is "fatal error" and 1 is "some files differ" (compare mode only): neither tolerated.
    extract: (archive, root, timeout) => run('tar', ['-xf', archive], root, timeout),
  },
  {
    name: 'bsdtar',
    tool: 'bsdtar',
    formats: ['tar', 'zip'],
    // bsdtar exits 1 on any entry it could not write, 0 on warnings: nothing tolerated.
    extract: (archive, root, timeout) => run('bsdtar', ['-xf', archive], root, timeout),
  },
  {
    name: '7-Zip',
    tool: '7zz',
    formats: ['tar', 'zip'],
    // `7zz x` as a user types it (-y only answers the overwrite prompts). 7-Zip for Linux writes
    // symbolic links as links by default (-snl changes nothing on extraction here). Exit 1 is
    // "warning (non-fatal)"; 7-Zip uses it for data after the end of the archive and for headers
    // it found odd, and extracts everything else: what landed is compared. Exit 2 ("fatal") is
    // tolerated only when every error is a skipped link with a `.` or `..` segment in its target
    // (see skipsLinksWithDotSegments): any other error still fails.
    skipsLinksWithDotSegments: true,
    extract: (archive, root, timeout) => run('7zz', ['x', '-y', `-o${root}`, archive], root, timeout, sevenZipTolerated),
  },
  {
    name: 'Info-ZIP unzip',
    tool: 'unzip',
    formats: ['zip'],
    // -o only answers the overwrite prompts. Exit 1 is "one or more warning errors were
    // encountered, but processing completed successfully anyway" (e.g. "stripped absolute path
    // spec", extra bytes before the archive): what landed is compared.
    extract: (archive, root, timeout) => run('unzip', ['-o', '-q', archive], root, timeout, (code) => code === 1),
  },
  {
    name: 'Python tarfile',
    tool: PYTHON,
    formats: ['tar'],
    // extractall() without a filter: Python 3.11's default, and the worst case a user meets.
    extract: (archive, root, timeout) => run(PYTHON, ['-c', PYTHON_TAR, archive, root], root, timeout),
  },
  {
    name: 'Python zipfile',
    tool: PYTHON,
    formats: ['zip'],
    zipLinksAsFiles: true,
    extract: (archive, root, timeout) => run(PYTHON, ['-c', PYTHON_ZIP, archive, root], root, timeout),
  },
  {
    name: 'yauzl',
    formats: ['zip'],
    extract: (archive, root, timeout) => extractWithYauzl(archive, root, timeout),
  },
];

function sevenZipTolerated(code: number, stderr: string): boolean {
  if (code === 1) return true;
  const errors = stderr.split('\n').filter((line) => line.startsWith('ERROR'));
  return code === 2 && errors.length > 0 && errors.every((line) => line.startsWith('ERROR: Dangerous link path was ignored :'));
}

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;

/**
 * yauzl as a typical Node program drives it, the way the `extract-zip` package does: names as
 * yauzl decodes them (it refuses absolute and `..` names itself), a directory when the mode says
 * so or the name ends in `/`, a symbolic link when the mode says so (its data is the target),
 * parents made as needed, and a refusal of any path that resolves outside the destination.
 */
function extractWithYauzl(archive: string, root: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new ExtractorFailed(`yauzl: not done after ${timeoutMs} ms`)), timeoutMs);
    const fail = (error: unknown): void => {
      clearTimeout(timer);
      reject(new ExtractorFailed(`yauzl: ${(error as Error).message}`));
    };
    yauzl.open(archive, { lazyEntries: true }, (openError, zip) => {
      if (openError || !zip) return fail(openError);
      zip.on('error', fail);
      zip.on('end', () => {
        clearTimeout(timer);
        resolve();
      });
      zip.on('entry', (entry: yauzl.Entry) => {
        void (async () => {
          const destination = path.resolve(root, entry.fileName);
          if (path.relative(root, destination).split(path.sep)[0] === '..') throw new Error(`Out of bound path "${destination}" found while processing file ${entry.fileName}`);
          const mode = (entry.externalFileAttributes >> 16) & 0xffff;
          const isDirectory = (mode & S_IFMT) === S_IFDIR || entry.fileName.endsWith('/');
          const isSymlink = (mode & S_IFMT) === S_IFLNK;
          mkdirSync(isDirectory ? destination : path.dirname(destination), { recursive: true });
          if (!isDirectory) {
            const stream = await new Promise<NodeJS.ReadableStream>((done, failed) => zip.openReadStream(entry, (error, s) => (error || !s ? failed(error) : done(s))));
            if (isSymlink) {
              const chunks: Buffer[] = [];
              for await (const chunk of stream) chunks.push(chunk as Buffer);
              symlinkSync(Buffer.concat(chunks).toString('utf8'), destination);
            } else {
              await pipeline(stream, createWriteStream(destination));
            }
          }
          zip.readEntry();
        })().catch(fail);
      });
      zip.readEntry();
    });
  });
}

/** What landed at one path under the root. Names and targets are byte strings (latin1 of the bytes). */
export interface Landed {
  kind: 'file' | 'directory' | 'symlink' | 'other';
  size: number;
  target?: string;
  /** A file's first bytes (only kept when small): a zip link written as a file holds its target. */
  content?: string;
  /** A symbolic link whose resolution (through other links too) lies outside the root. */
  resolvesOutside?: boolean;
}

export interface Snapshot {
  /** Relative to root, `/`-separated, as latin1 of the bytes. */
  entries: Map<string, Landed>;
  /** Paths written in the sandbox outside root (relative to the sandbox). */
  outside: string[];
}

function inside(root: string, candidate: string): boolean {
  const relative = path.relative(root, candidate);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}

/** The byte path `relative` as a file-system path (Buffer-backed names keep bytes that are not UTF-8). */
function walk(dir: Buffer, prefix: string, visit: (relative: string, full: Buffer) => void): void {
  for (const name of readdirSync(dir, { encoding: 'buffer' })) {
    const full = Buffer.concat([dir, Buffer.from('/'), name]);
    const relative = prefix ? `${prefix}/${name.toString('latin1')}` : name.toString('latin1');
    visit(relative, full);
    if (lstatSync(full).isDirectory()) walk(full, relative, visit);
  }
}

function resolvesOutside(root: string, link: Buffer): boolean {
  try {
    return !inside(root, realpathSync(link));
  } catch {
    // Dangling or looping: resolve what can be resolved, then the rest as text.
    const target = readlinkSync(link, { encoding: 'buffer' }).toString('latin1');
    let parent: string;
    try {
      parent = realpathSync(path.dirname(link.toString('latin1')));
    } catch {
      parent = path.dirname(link.toString('latin1'));
    }
    return !inside(root, path.resolve(parent, target));
  }
}

export function snapshot(sandbox: string, root: string): Snapshot {
  const realRoot = realpathSync(root);
  const entries = new Map<string, Landed>();
  walk(Buffer.from(root), '', (relative, full) => {
    const stat = lstatSync(full);
    if (stat.isDirectory()) entries.set(relative, { kind: 'directory', size: 0 });
    else if (stat.isSymbolicLink()) {
      entries.set(relative, { kind: 'symlink', size: 0, target: readlinkSync(full, { encoding: 'buffer' }).toString('latin1'), resolvesOutside: resolvesOutside(realRoot, full) });
    } else if (stat.isFile()) {
      entries.set(relative, { kind: 'file', size: stat.size, content: stat.size <= 4096 ? readFileSync(full).toString('latin1') : undefined });
    } else entries.set(relative, { kind: 'other', size: stat.size });
  });
  const chain = new Set(['a', 'a/b', 'a/b/root']);
  const outside: string[] = [];
  walk(Buffer.from(sandbox), '', (relative) => {
    if (!chain.has(relative) && !relative.startsWith('a/b/root/')) outside.push(relative);
  });
  // The walk does not enter the chain's links: if a/b/root itself was replaced, say so.
  if (lstatSync(root).isSymbolicLink()) outside.push('a/b/root (replaced by a link)');
  return { entries, outside };
}

export type Extraction = { ok: true; snapshot: Snapshot } | { ok: false; error: string };

/** Extracts `archive` with `extractor` into a fresh sandbox, snapshots what landed, and removes it. */
export async function extractAndSnapshot(extractor: Extractor, archive: string, timeoutMs = 20_000): Promise<Extraction> {
  const sandbox = mkdtempSync(path.join(tmpdir(), 'extract-'));
  const root = path.join(sandbox, 'a', 'b', 'root');
  mkdirSync(root, { recursive: true });
  try {
    try {
      await extractor.extract(path.resolve(archive), root, timeoutMs);
    } catch (error) {
      return { ok: false, error: (error as Error).message };
    }
    return { ok: true, snapshot: snapshot(sandbox, root) };
  } finally {
    rmSync(sandbox, { recursive: true, force: true });
  }
}

/** The command line tools the extractors need, and those that make the base archives (tar, zip, Python), that are not on PATH. */
export async function missingTools(): Promise<string[]> {
  const tools = [...new Set([...EXTRACTORS.flatMap((e) => (e.tool ? [e.tool] : [])), 'zip'])];
  const missing: string[] = [];
  for (const tool of tools) {
    const found = await new Promise<boolean>((resolve) => execFile('sh', ['-c', `command -v ${tool}`], (error) => resolve(!error)));
    if (!found) missing.push(tool);
  }
  return missing;
}
