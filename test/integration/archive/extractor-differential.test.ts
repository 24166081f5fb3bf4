/**
 * The service's listing held against what real extractors write (docs/api.md, "What is refused,
 * and why" → "Archives": where readers disagree, the archive is refused, so that the tool that
 * extracts it later sees what was checked).
 *
 * Every archive the service ACCEPTS — the base archives made by the tools, seeded structured
 * mutants of them (test/helpers/archive-mutants.ts), and the kept reproducers in
 * test/fixtures/extractor-reproducers/ — is extracted by every extractor that reads its format
 * (test/helpers/extractors.ts: GNU tar, bsdtar, 7-Zip, Info-ZIP unzip, Python's tarfile and
 * zipfile, yauzl) into a fresh sandbox, and what landed is compared with the listing
 * (test/helpers/extraction-compare.ts). An extractor that refuses an archive the service
 * accepted disagrees too. A mutant that disagrees fails the test and is written to the
 * reproducers directory, which every later run replays.
 *
 * EXTRACTOR_FUZZ_SEED and EXTRACTOR_FUZZ_COUNT change the run (`npm run fuzz:extractors --
 * --seed N --count M` for long ones). The tools come from scripts/install-extractors.sh; a
 * missing one fails the test, unless ARCHIVE_EXTRACTORS_OPTIONAL=1 (then its extractor is left out).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Base, hasUnflaggedHighBytes, makeBases, mutants, recipes } from '../../helpers/archive-mutants';
import { compare } from '../../helpers/extraction-compare';
import { EXTRACTORS, type Extractor, extractAndSnapshot, missingTools, PYTHON } from '../../helpers/extractors';
import { serviceVerdict } from '../../helpers/service-listing';

const SEED = Number(process.env.EXTRACTOR_FUZZ_SEED ?? 20261205);
const COUNT = Number(process.env.EXTRACTOR_FUZZ_COUNT ?? 2500);
// Two extractions at a time: npm test runs other files beside this one on the same (two) cores, and their timeouts feel it.
const CONCURRENCY = Number(process.env.EXTRACTOR_FUZZ_CONCURRENCY ?? 2);
const OPTIONAL = process.env.ARCHIVE_EXTRACTORS_OPTIONAL === '1';
/** A file to write every disagreement to, one JSON line each (for sorting a long run's findings into classes). */
const FINDINGS_FILE = process.env.EXTRACTOR_FUZZ_FINDINGS;
const REPRODUCERS = path.join(__dirname, '..', '..', 'fixtures', 'extractor-reproducers');

/**
 * Disagreements the service does not refuse yet: each names its kept reproducer (in
 * REPRODUCERS, with a note of how it was made and what each extractor wrote), why the
 * extractors and the listing differ, and which mutants belong to it — by the archive's format,
 * the extractor, the mutation and the difference. When the parser refuses the reproducer, the
 * replay test fails until the entry is deleted. Nothing else is tolerated: a disagreement no
 * entry matches fails the test.
 */
interface Known {
  reproducer: string;
  reason: string;
  format: 'tar' | 'zip';
  extractors: string[];
  /** Any of the mutant's mutations (all absent: any mutant whose difference matches). */
  mutation?: RegExp;
  difference: RegExp;
}
const TAR_EXTRACTORS = ['GNU tar', 'bsdtar', '7-Zip', 'Python tarfile'];
const ZIP_EXTRACTORS = ['bsdtar', '7-Zip', 'Info-ZIP unzip', 'Python zipfile', 'yauzl'];
const KNOWN_UNTIL_FIXED: Known[] = [];

/**
 * Base archives the tools made that the service refuses by a rule docs/api.md names ("What is
 * refused, and why"): their refusal must be that rule's. Their mutants are refused too, so each
 * has a twin made without what the rule is about, which must be accepted.
 */
const UNFLAGGED_NAME = /has a name that is not ASCII and no UTF-8 flag/;
const BASES_REFUSED_BY_A_DOCUMENTED_RULE: { base: string; rule: RegExp; why: string }[] = ['zip -r', 'zip -r -y', 'zip -r -y -0'].map((label) => ({
  base: `Info-ZIP ${label}`,
  rule: UNFLAGGED_NAME,
  why: "Debian's zip 3.0 writes UTF-8 names without the UTF-8 flag or a Unicode path field (-UN=UTF8 changes nothing); docs/api.md refuses a name that is not ASCII without the flag",
}));

function knownFor(c: Case, extractor: string, differences: string[]): Known | undefined {
  if (c.reproducer) return KNOWN_UNTIL_FIXED.find((k) => k.reproducer === c.reproducer);
  const text = differences.join(' | ');
  return KNOWN_UNTIL_FIXED.find(
    (k) => k.format === c.format && k.extractors.includes(extractor) && (!k.mutation || c.mutations.some((m) => k.mutation?.test(m))) && k.difference.test(text),
  );
}

interface Case {
  label: string;
  format: 'tar' | 'zip';
  bytes: Buffer;
  mutations: string[];
  /** A reproducer file replayed from the fixtures. */
  reproducer?: string;
}

interface Finding {
  c: Case;
  extractor: string;
  differences: string[];
  known?: Known;
  keptAs?: string;
}

interface Outcome {
  accepted: boolean;
  refusal?: string;
  extractions: number;
  findings: Finding[];
}

let work: string;
let caseNumber = 0;
let bases: Base[];
let extractors: Extractor[];

async function pool<T, R>(items: T[], concurrency: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await task(items[index] as T);
      }
    }),
  );
  return results;
}

/** The service's verdict on one case and, when it accepts, every extractor's disagreements. */
async function check(c: Case, only: Extractor[] = extractors): Promise<Outcome> {
  const verdict = await serviceVerdict(c.bytes);
  if (!verdict.ok) return { accepted: false, refusal: verdict.error, extractions: 0, findings: [] };
  const format = verdict.format === 'zip' ? 'zip' : 'tar';
  const file = path.join(work, `case-${caseNumber++}.${format}`);
  writeFileSync(file, c.bytes);
  const lenientNames = format === 'zip' && hasUnflaggedHighBytes(c.bytes);
  const findings: Finding[] = [];
  let extractions = 0;
  for (const extractor of only.filter((e) => e.formats.includes(format))) {
    extractions++;
    const extraction = await extractAndSnapshot(extractor, file);
    const differences = extraction.ok ? compare(verdict.entries, extraction.snapshot, extractor, { format, lenientNames }) : [`refused what the service accepted: ${extraction.error}`];
    if (differences.length === 0) continue;
    const known = knownFor(c, extractor.name, differences);
    findings.push({ c, extractor: extractor.name, differences, known });
  }
  rmSync(file, { force: true });
  return { accepted: true, extractions, findings };
}

/** Writes a mutant that disagrees to the reproducers directory, with a note of how it was made and what differed. */
function keep(finding: Finding, all: Finding[]): string {
  const name = `found-${finding.c.format}-${createHash('sha256').update(finding.c.bytes).digest('hex').slice(0, 12)}.${finding.c.format}`;
  mkdirSync(REPRODUCERS, { recursive: true });
  writeFileSync(path.join(REPRODUCERS, name), finding.c.bytes);
  const note = [
    `${finding.c.label}`,
    `mutations: ${finding.c.mutations.join('; ')}`,
    ...all.filter((f) => f.c === finding.c).map((f) => `${f.extractor}: ${f.differences.join(' | ')}`),
    '',
  ].join('\n');
  writeFileSync(path.join(REPRODUCERS, `${name}.txt`), note);
  return path.relative(process.cwd(), path.join(REPRODUCERS, name));
}

function report(findings: Finding[], limit = 40): string {
  return findings
    .slice(0, limit)
    .map((f) => `- ${f.c.label} [${f.c.mutations.join('; ') || 'untouched'}]: ${f.extractor}: ${f.differences.slice(0, 4).join(' | ')}${f.keptAs ? ` — kept as ${f.keptAs}` : ''}`)
    .join('\n')
    .concat(findings.length > limit ? `\n… and ${findings.length - limit} more` : '');
}

beforeAll(async () => {
  const missing = await missingTools();
  if (missing.length > 0 && !OPTIONAL) {
    throw new Error(`extractors missing on this machine: ${missing.join(', ')} — run scripts/install-extractors.sh (or set ARCHIVE_EXTRACTORS_OPTIONAL=1 to leave them out)`);
  }
  extractors = EXTRACTORS.filter((e) => !e.tool || !missing.includes(e.tool));
  work = mkdtempSync(path.join(tmpdir(), 'extractor-differential-'));
  bases = makeBases(work);
}, 120_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('what real extractors write, against what the service listed', () => {
  it('accepts every base archive the tools made, and every extractor writes what it listed', async () => {
    const outcomes = await pool(bases, CONCURRENCY, (base) => check({ label: `base ${base.name}`, format: base.format, bytes: base.bytes, mutations: [] }));
    const refused = bases.flatMap((base, i) => {
      const refusal = outcomes[i]?.refusal ?? '';
      if (outcomes[i]?.accepted) return [];
      const documented = BASES_REFUSED_BY_A_DOCUMENTED_RULE.find((b) => b.base === base.name);
      return documented?.rule.test(refusal) ? [] : [`${base.name}: ${refusal}`];
    });
    expect(refused, 'base archives refused').toEqual([]);
    const findings = outcomes.flatMap((o) => o.findings);
    expect(findings.length, `extractors disagree on untouched archives:\n${report(findings)}`).toBe(0);
  }, 120_000);

  it(`every mutant the service accepts is written by every extractor as listed (seed ${SEED}, ${COUNT} mutants)`, async () => {
    const cases: Case[] = [...mutants(bases, SEED, COUNT)].map((m) => ({ label: `seed ${SEED}, mutant ${m.id}`, format: m.format, bytes: m.bytes, mutations: m.mutations }));
    const outcomes = await pool(cases, CONCURRENCY, (c) => check(c));
    const accepted = outcomes.filter((o) => o.accepted).length;
    const extractions = outcomes.reduce((n, o) => n + o.extractions, 0);
    const findings = outcomes.flatMap((o) => o.findings);
    const unknown = findings.filter((f) => !f.known);
    for (const f of unknown) f.keptAs = keep(f, findings);
    const known = findings.filter((f) => f.known);
    if (FINDINGS_FILE) {
      const lines = findings.map((f) => JSON.stringify({ label: f.c.label, mutations: f.c.mutations, extractor: f.extractor, differences: f.differences, known: f.known?.reproducer, keptAs: f.keptAs }));
      writeFileSync(FINDINGS_FILE, lines.map((l) => `${l}\n`).join(''));
    }
    console.log(
      `extractor differential: seed ${SEED}, ${COUNT} mutants, ${accepted} accepted, ${extractions} extractions, ` +
        `${findings.length} disagreements (${known.length} known until fixed: ${[...new Set(known.map((f) => f.known?.reproducer))].join(', ') || 'none'})`,
    );
    expect(unknown.length, `accepted archives that extractors write otherwise than listed (reproducers kept in ${path.relative(process.cwd(), REPRODUCERS)}):\n${report(unknown)}`).toBe(0);
    // Not vacuous: the mutations leave most archives plausible enough to be accepted and extracted.
    expect(accepted, 'accepted mutants').toBeGreaterThanOrEqual(Math.floor(COUNT / 8));
    expect(extractions).toBeGreaterThanOrEqual(accepted);
  }, 900_000);

  it('every shape known to be read differently, made on purpose, is refused or written by every extractor as listed', async () => {
    const cases: Case[] = recipes(bases).map((m) => ({ label: `base ${m.base}, ${m.id}`, format: m.format, bytes: m.bytes, mutations: m.mutations }));
    const outcomes = await pool(cases, CONCURRENCY, (c) => check(c));
    const findings = outcomes.flatMap((o) => o.findings);
    const unknown = findings.filter((f) => !f.known);
    for (const f of unknown) f.keptAs = keep(f, findings);
    const accepted = cases.filter((_, i) => outcomes[i]?.accepted).map((c) => c.mutations[0]);
    console.log(`extractor differential: ${cases.length} recipes, ${accepted.length} accepted (${accepted.join('; ') || 'none'}), ${findings.length - unknown.length} known disagreements`);
    expect(unknown.length, `accepted archives that extractors write otherwise than listed (reproducers kept in ${path.relative(process.cwd(), REPRODUCERS)}):\n${report(unknown)}`).toBe(0);
  }, 300_000);

  it('replays every kept reproducer: each is refused, or written by every extractor as listed', async () => {
    const files = existsSync(REPRODUCERS) ? readdirSync(REPRODUCERS).filter((f) => /\.(tar|zip)$/.test(f)).sort() : [];
    const cases: Case[] = files.map((f) => ({ label: `reproducer ${f}`, format: f.endsWith('.zip') ? 'zip' : 'tar', bytes: readFileSync(path.join(REPRODUCERS, f)), mutations: [], reproducer: f }));
    const outcomes = await pool(cases, CONCURRENCY, (c) => check(c));
    const findings = outcomes.flatMap((o) => o.findings);
    expect(findings.filter((f) => !f.known).length, `kept reproducers that are accepted and written otherwise than listed:\n${report(findings.filter((f) => !f.known))}`).toBe(0);
    // A known entry whose reproducer is refused now (or missing) is stale: delete it.
    const stillAccepted = new Set(findings.filter((f) => f.known).map((f) => f.known?.reproducer));
    const stale = KNOWN_UNTIL_FIXED.filter((k) => !stillAccepted.has(k.reproducer)).map((k) => k.reproducer);
    expect(stale, 'KNOWN_UNTIL_FIXED entries whose reproducer no extractor disagrees on any more: delete them').toEqual([]);
  }, 300_000);
});

describe('the comparison fails on a planted disagreement', () => {
  it('names a listed entry left out, a link target changed, a size changed and a file that escaped', async () => {
    const gnu = bases.find((b) => b.name === 'GNU tar --format=gnu');
    const zip = bases.find((b) => b.name === 'Python zipfile stored');
    if (!gnu || !zip) throw new Error('base archives missing');
    const tar = await serviceVerdict(gnu.bytes);
    const zipped = await serviceVerdict(zip.bytes);
    if (!tar.ok || !zipped.ok) throw new Error('base archives refused');
    const file = path.join(work, 'planted.tar');
    writeFileSync(file, gnu.bytes);
    const zipFile = path.join(work, 'planted.zip');
    writeFileSync(zipFile, zip.bytes);
    const byName = (name: string): Extractor => {
      const found = EXTRACTORS.find((e) => e.name === name);
      if (!found) throw new Error(name);
      return found;
    };
    const gnuTar = await extractAndSnapshot(byName('GNU tar'), file);
    const zipfile = await extractAndSnapshot(byName('Python zipfile'), zipFile);
    if (!gnuTar.ok || !zipfile.ok) throw new Error('extraction failed');

    expect(compare(tar.entries, gnuTar.snapshot, byName('GNU tar'), { format: 'tar' })).toEqual([]);
    const withoutMain = tar.entries.filter((e) => e.name !== 'pkg/src/main.py');
    expect(compare(withoutMain, gnuTar.snapshot, byName('GNU tar'), { format: 'tar' }).join('\n')).toMatch(/wrote "pkg\/src\/main.py" \(file of 700 bytes\) that the listing does not name/);
    const retargeted = tar.entries.map((e) => (e.kind === 'symlink' ? { ...e, linkTarget: 'src/other.py' } : e));
    expect(compare(retargeted, gnuTar.snapshot, byName('GNU tar'), { format: 'tar' }).join('\n')).toMatch(/listed "pkg\/link" as symlink → "src\/other.py", wrote → "src\/main.py"/);
    const resized = tar.entries.map((e) => (e.name === 'pkg/app_desc.yaml' ? { ...e, size: e.size - 1 } : e));
    expect(compare(resized, gnuTar.snapshot, byName('GNU tar'), { format: 'tar' }).join('\n')).toMatch(/listed "pkg\/app_desc.yaml" as \d+ bytes, wrote \d+/);

    expect(compare(zipped.entries, zipfile.snapshot, byName('Python zipfile'), { format: 'zip' })).toEqual([]);
    const zipRetargeted = zipped.entries.map((e) => (e.kind === 'symlink' ? { ...e, linkTarget: 'src/other.py' } : e));
    expect(compare(zipRetargeted, zipfile.snapshot, byName('Python zipfile'), { format: 'zip' }).join('\n')).toMatch(/pkg\/link/);

    // An entry that climbs out by `..` lands in the sandbox around the root, and is named.
    const escape = path.join(work, 'escape.tar');
    const { execFileSync } = await import('node:child_process');
    execFileSync(PYTHON, ['-c', "import tarfile, io, sys\nwith tarfile.open(sys.argv[1], 'w') as t:\n  i = tarfile.TarInfo('../escaped.txt'); i.size = 2; t.addfile(i, io.BytesIO(b'hi'))\n  i = tarfile.TarInfo('up'); i.type = tarfile.SYMTYPE; i.linkname = '../../x'; t.addfile(i)", escape]);
    const escaped = await extractAndSnapshot(byName('Python tarfile'), escape);
    if (!escaped.ok) throw new Error(escaped.error);
    const differences = compare([{ name: 'escaped.txt', kind: 'file', size: 2 }], escaped.snapshot, byName('Python tarfile'), { format: 'tar' }).join('\n');
    expect(differences).toMatch(/wrote "a\/b\/escaped.txt" outside the extraction root/);
    expect(differences).toMatch(/wrote symlink "up" → "..\/..\/x" that resolves outside the root/);
  }, 60_000);
});
