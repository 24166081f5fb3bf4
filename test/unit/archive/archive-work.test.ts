/**
 * Every archive check runs in time linear in the archive. Time is not measured here
 * (machines are shared and noisy); EntryRules counts its steps, and each adversarial shape is fed
 * at growing sizes: the steps per character of names and targets must stay flat. The old checks
 * joined a path's whole prefix at every level, so their steps per character grew with the depth.
 *
 * Shapes deeper than the fixed caps run with the caps lifted: the caps bound the cost of one
 * entry, but the algorithm must stay linear without them too.
 */
import { describe, expect, it } from 'vitest';
import { EntryRules, PATH_CAPS, type ArchiveEntry } from '../../../lib/archive/archive-safety';

const LIMITS = { maxEntries: 10_000_000, maxUncompressedBytes: 1e12 };
const NO_CAPS = { maxPathBytes: Infinity, maxPathDepth: Infinity, maxLinkTargetBytes: Infinity, maxLinkBytes: Infinity };

function deep(levels: number, leaf = 'a'): string {
  return `${'a/'.repeat(levels - 1)}${leaf}`;
}

function file(name: string): ArchiveEntry {
  return { name, kind: 'file', size: 0 };
}

function symlink(name: string, linkTarget: string): ArchiveEntry {
  return { name, kind: 'symlink', size: 0, linkTarget };
}

function hardlink(name: string, linkTarget: string): ArchiveEntry {
  return { name, kind: 'hardlink', size: 0, linkTarget };
}

/** An archive shape at size n: its entries, in archive order. */
type Shape = (n: number) => ArchiveEntry[];

const SHAPES: [string, Shape, boolean][] = [
  // [name, shape, whether it needs the caps lifted]
  ['one file n levels deep beside a link at the same depth', (n) => [symlink(deep(n, 'link'), 'a'), file(deep(n))], true],
  ['n nested directories with a link at the bottom', (n) => [
    ...Array.from({ length: n }, (_, i) => ({ name: `${'d/'.repeat(i + 1)}`, kind: 'directory' as const, size: 0 })),
    symlink(`${'d/'.repeat(n)}link`, '.'),
    ...Array.from({ length: n }, (_, i) => file(`${'d/'.repeat(i + 1)}f`)),
  ], true],
  ['30 files n levels deep under a linked tree', (n) => [
    symlink(`${deep(n)}/link`, '..'),
    ...Array.from({ length: 30 }, (_, i) => file(deep(n, `f${i}`))),
  ], true],
  ['a chain of n symbolic links', (n) => [
    file('end'),
    ...Array.from({ length: n }, (_, i) => symlink(`l${i}`, i === n - 1 ? 'end' : `l${i + 1}`)),
  ], false],
  ['a chain of n links, each one directory further down', (n) => [
    ...Array.from({ length: n }, (_, i) => symlink(`c${i}/x`, i === n - 1 ? '.' : `../c${i + 1}/x`)),
  ], false],
  ['n siblings, half of them links to the other half', (n) => [
    ...Array.from({ length: n }, (_, i) => file(`app/f${i}`)),
    ...Array.from({ length: n }, (_, i) => symlink(`app/s${i}`, `f${i}`)),
  ], false],
  ['a link whose target is n levels deep', (n) => [symlink('link', deep(n)), symlink('a', '.')], true],
  ['a link n levels deep that climbs back to the root', (n) => [symlink(deep(n, 'up'), `${'../'.repeat(n - 1)}x`)], true],
  ['n links through a link n levels deep', (n) => [
    symlink(deep(n, 'base'), '.'),
    ...Array.from({ length: n }, (_, i) => symlink(`s${i}`, `${deep(n, 'base')}/f`)),
  ], true],
  ['n hard links to a path n levels deep', (n) => [file(deep(n)), ...Array.from({ length: n }, (_, i) => hardlink(`h${i}`, deep(n)))], true],
  ['n hard links in n directories to one file, each through the one before', (n) => [
    file('s/f'),
    ...Array.from({ length: n }, (_, i) => hardlink(`d${i}/h`, i === 0 ? 's/f' : `d${i - 1}/h`)),
  ], false],
  ['n directories and files sharing one long prefix', (n) => [
    ...Array.from({ length: n }, (_, i) => file(`${deep(n)}/f${i}`)),
  ], true],
  ['n links with accented names beside n files they do not name', (n) => [
    ...Array.from({ length: n }, (_, i) => symlink(`app/\u00c9t\u00e9${i}`, `f${i}`)),
    ...Array.from({ length: n }, (_, i) => file(`app/F${i}`)),
  ], false],
  ["links at the caps: 256 levels, 4 KiB targets, n/10 of them", (n) => Array.from({ length: n / 10 }, (_, i) => symlink(
    `${'p/'.repeat(PATH_CAPS.maxPathDepth - 1)}l${i}`,
    `${'q/'.repeat(2000)}..`,
  )), false],
];

const SIZES = [250, 500, 1000, 2000];

/** Characters of every name and target: the input the checks read. */
function inputCharacters(entries: ArchiveEntry[]): number {
  return entries.reduce((sum, entry) => sum + entry.name.length + (entry.linkTarget?.length ?? 0), 0);
}

function workPerCharacter(shape: Shape, n: number, lifted: boolean): number {
  const entries = shape(n);
  const rules = new EntryRules(LIMITS, lifted ? NO_CAPS : PATH_CAPS);
  for (const entry of entries) rules.add(entry);
  rules.finish();
  return rules.work / inputCharacters(entries);
}

describe('EntryRules work', () => {
  it.each(SHAPES)('stays linear in the input for %s', (_name, shape, lifted) => {
    // Act
    const perCharacter = SIZES.map((n) => workPerCharacter(shape, n, lifted));

    // Assess: a flat ratio; a quadratic check would multiply it by 8 from the first size to the last.
    const [first] = perCharacter;
    for (const ratio of perCharacter) {
      expect(ratio).toBeLessThan(16);
      expect(ratio).toBeLessThan((first ?? 0) * 1.5 + 1);
    }
  });

  it('counts work at all, so the ratios above cannot pass by counting nothing', () => {
    // Prepare
    const rules = new EntryRules(LIMITS, NO_CAPS);

    // Act
    rules.add(symlink(deep(100, 'link'), 'a'));
    rules.add(file(deep(100)));
    rules.finish();

    // Assess: at least one step per segment of each name and of the target.
    expect(rules.work).toBeGreaterThanOrEqual(200);
  });
});
