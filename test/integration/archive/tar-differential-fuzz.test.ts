/**
 * Differential fuzz of our tar walker (lib/archive/tar-parser.ts) against GNU tar 1.34 and
 * Python's tarfile, the readers a package meets after it is registered. Archives are generated
 * from a seed (test/fixtures/tar-fuzz/generate.py: made by tarfile or GNU tar, half of them then
 * damaged) and listed by all three. What must hold:
 *
 * - whenever our walker accepts an archive, `tar -tv` succeeds and tarfile reads it, and both
 *   list exactly our entries: names (bytes), kinds, sizes and link targets;
 * - wherever tar or tarfile refuses an archive, our walker refuses it too;
 * - an archive a tool made from safe entries and left whole is accepted (the fuzz is not
 *   satisfied by refusing everything).
 *
 * Our walker refuses more than either tool (links out of the root, `..`, devices, records readers
 * disagree on: README "What is refused"); those refusals are counted, not compared. Set
 * TAR_FUZZ_SEED and TAR_FUZZ_COUNT to explore further; a failure names the seed and the file.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ArchiveEntry } from '../../../lib/archive/archive-safety';
import { TarParser } from '../../../lib/archive/tar-parser';
import { nameBytes } from '../../helpers/service-listing';

const run = promisify(execFile);
const SEED = Number(process.env.TAR_FUZZ_SEED ?? 20261125);
const COUNT = Number(process.env.TAR_FUZZ_COUNT ?? 300);
const FIXTURES = path.join(__dirname, '..', '..', 'fixtures', 'tar-fuzz');
const LIMITS = { maxEntries: 200_000, maxUncompressedBytes: 4 * 1024 ** 3 };
const TOOL_ENV = { ...process.env, LC_ALL: 'C', TZ: 'UTC' };

/** One entry as a reader lists it: name and link target as hex of their bytes. */
interface Listed {
  name: string;
  kind: string;
  size: number;
  link: string;
}

type Reading = { ok: true; entries: Listed[] } | { ok: false; error: string };

interface Generated {
  file: string;
  made: string;
  benign: boolean;
}

/**
 * What readers may list differently without disagreeing on what is extracted: a directory's
 * trailing slashes (tarfile drops them), and the link-name field of an entry that is not a link
 * (tarfile shows it, tar and extractors ignore it).
 */
function normalised(entry: Listed): Listed {
  const link = entry.kind === 'symlink' || entry.kind === 'hardlink' ? entry.link : '';
  if (entry.kind !== 'directory') return { ...entry, link };
  let name = entry.name;
  while (name.endsWith('2f') && name.length > 2) name = name.slice(0, -2);
  return { ...entry, name, link };
}

function ours(bytes: Buffer): Reading {
  const entries: Listed[] = [];
  const collect = (entry: ArchiveEntry): undefined => {
    entries.push({ name: nameBytes(entry.name).toString('hex'), kind: entry.kind, size: entry.kind === 'file' ? entry.size : 0, link: nameBytes(entry.linkTarget ?? '').toString('hex') });
    return undefined;
  };
  try {
    const parser = new TarParser(false, LIMITS, collect);
    parser.write(bytes);
    parser.end();
    return { ok: true, entries };
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  }
}

/** Undoes GNU tar's --quoting-style=c: \\ \" \n \t … and \ooo octal bytes. */
function unquote(quoted: string): Buffer {
  const bytes: number[] = [];
  const simple: Record<string, number> = { a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11, '\\': 92, '"': 34, '?': 63 };
  for (let at = 0; at < quoted.length; at++) {
    const char = quoted[at] ?? '';
    if (char !== '\\') {
      bytes.push(...Buffer.from(char, 'latin1'));
      continue;
    }
    const octal = /^[0-7]{1,3}/.exec(quoted.slice(at + 1))?.[0];
    if (octal) {
      bytes.push(parseInt(octal, 8));
      at += octal.length;
    } else {
      bytes.push(simple[quoted[at + 1] ?? ''] ?? 0);
      at += 1;
    }
  }
  return Buffer.from(bytes);
}

// 'C' is a contiguous file (type 7): a regular file to every extractor.
const TAR_KINDS: Record<string, string> = { '-': 'file', C: 'file', d: 'directory', l: 'symlink', h: 'hardlink' };
const TAR_LINE = /^(\S)\S{9} \S+ +(\d+|\d+,\s*\d+) \d{4}-\d\d-\d\d \d\d:\d\d:\d\d "((?:[^"\\]|\\.)*)"(?: (->|link to) "((?:[^"\\]|\\.)*)")?$/;

async function gnuTar(file: string): Promise<Reading> {
  try {
    const { stdout } = await run('tar', ['--list', '--verbose', '--quoting-style=c', '--numeric-owner', '--full-time', '-f', file], {
      env: TOOL_ENV,
      encoding: 'latin1',
      maxBuffer: 64 * 1024 * 1024,
    });
    const entries: Listed[] = [];
    for (const line of stdout.split('\n').filter(Boolean)) {
      const match = TAR_LINE.exec(line);
      if (!match) return { ok: false, error: `unparsed line: ${line}` };
      const [, type = '', size = '0', name = '', , target = ''] = match;
      const kind = TAR_KINDS[type] ?? `other:${type}`;
      entries.push({ name: unquote(name).toString('hex'), kind, size: kind === 'file' ? Number(size) : 0, link: unquote(target).toString('hex') });
    }
    return { ok: true, entries };
  } catch (error) {
    return { ok: false, error: String((error as { stderr?: string }).stderr ?? error).trim() };
  }
}

async function tarfileReadings(files: string[]): Promise<Map<string, Reading>> {
  const { stdout } = await run('python3', [path.join(FIXTURES, 'list.py'), ...files], { env: TOOL_ENV, maxBuffer: 64 * 1024 * 1024 });
  const readings = new Map<string, Reading>();
  for (const line of stdout.split('\n').filter(Boolean)) {
    const answer = JSON.parse(line) as { file: string; ok: boolean; entries?: [string, string, number, string][]; error?: string };
    readings.set(
      answer.file,
      answer.ok
        ? { ok: true, entries: (answer.entries ?? []).map(([name, kind, size, link]) => ({ name, kind, size: kind === 'file' ? size : 0, link })) }
        : { ok: false, error: answer.error ?? '' },
    );
  }
  return readings;
}

interface Case extends Generated {
  ours: Reading;
  tar: Reading;
  tarfile: Reading;
}

let dir: string;
let cases: Case[];

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'tar-fuzz-'));
  const { stdout } = await run('python3', [path.join(FIXTURES, 'generate.py'), String(SEED), String(COUNT), dir], { env: TOOL_ENV, maxBuffer: 64 * 1024 * 1024 });
  const generated = stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Generated);
  const files = generated.map((g) => path.join(dir, g.file));
  const [readings, tars] = await Promise.all([tarfileReadings(files), Promise.all(files.map(gnuTar))]);
  cases = generated.map((g, index) => ({
    ...g,
    ours: ours(readFileSync(path.join(dir, g.file))),
    tar: tars[index] ?? { ok: false, error: 'not listed' },
    tarfile: readings.get(g.file) ?? { ok: false, error: 'not listed' },
  }));
}, 120_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function where(c: Case): string {
  return `seed ${SEED}, ${c.file} (${c.made})`;
}

describe(`tar walker against GNU tar and Python's tarfile (seed ${SEED}, ${COUNT} archives)`, () => {
  it('lists exactly what both tools list whenever it accepts an archive', () => {
    const accepted = cases.filter((c) => c.ours.ok);
    for (const c of accepted) {
      const mine = c.ours.ok ? c.ours.entries.map(normalised) : [];
      expect(c.tar, `${where(c)}: tar refused what we accepted`).toMatchObject({ ok: true });
      expect(c.tarfile, `${where(c)}: tarfile refused what we accepted`).toMatchObject({ ok: true });
      expect(c.tar.ok ? c.tar.entries.map(normalised) : [], `${where(c)}: tar lists otherwise`).toEqual(mine);
      expect(c.tarfile.ok ? c.tarfile.entries.map(normalised) : [], `${where(c)}: tarfile lists otherwise`).toEqual(mine);
    }
    expect(accepted.length).toBeGreaterThan(COUNT / 5);
  });

  it('refuses every archive that GNU tar or tarfile refuses', () => {
    const refusedByATool = cases.filter((c) => !c.tar.ok || !c.tarfile.ok);
    for (const c of refusedByATool) {
      const tool = !c.tar.ok ? `tar (${c.tar.error.split('\n')[0]})` : `tarfile (${c.tarfile.ok ? '' : c.tarfile.error})`;
      expect(c.ours, `${where(c)}: ${tool} refused what we accepted`).toMatchObject({ ok: false });
    }
    expect(refusedByATool.length).toBeGreaterThan(COUNT / 20);
  });

  it('accepts every archive a tool made from safe entries and left whole', () => {
    const benign = cases.filter((c) => c.benign);
    for (const c of benign) expect(c.ours, `${where(c)}: refused an ordinary archive`).toMatchObject({ ok: true });
    expect(benign.length).toBeGreaterThan(COUNT / 5);
  });
});
