/**
 * EntryRules: the caps on a path and a link, and where links lead now that each is
 * resolved once (no hop limit).
 */
import { describe, expect, it } from 'vitest';
import { EntryRules, PATH_CAPS, type ArchiveEntry } from '../../../lib/archive/archive-safety';

const LIMITS = { maxEntries: 1_000_000, maxUncompressedBytes: 1e12 };

function judge(entries: ArchiveEntry[], caps = PATH_CAPS): void {
  const rules = new EntryRules(LIMITS, caps);
  for (const entry of entries) rules.add(entry);
  rules.finish();
}

const file = (name: string): ArchiveEntry => ({ name, kind: 'file', size: 0 });
const symlink = (name: string, linkTarget: string): ArchiveEntry => ({ name, kind: 'symlink', size: 0, linkTarget });
const hardlink = (name: string, linkTarget: string): ArchiveEntry => ({ name, kind: 'hardlink', size: 0, linkTarget });

function refusal(detail: string): Record<string, unknown> {
  return { code: 'INVALID_PACKAGE_FORMAT', detail: expect.stringContaining(detail) };
}

describe('EntryRules caps', () => {
  it('accepts a path of exactly 4096 bytes and 256 levels', () => {
    const name = `${'d/'.repeat(255)}${'f'.repeat(4096 - 510)}`;

    expect(() => judge([file(name)])).not.toThrow();
  });

  it.each([
    ['a path one byte over 4096 bytes', file(`app/${'f'.repeat(4093)}`), 'has a path of 4097 bytes; the limit is 4096.'],
    ['a path 257 levels deep', file(`${'d/'.repeat(256)}f`), 'is 257 directory levels deep; the limit is 256.'],
    ['a 32,000-level name (the shape that once took seconds)', file(`a${'/a'.repeat(31_999)}`), 'has a path of 63999 bytes'],
    ['a link target over 4096 bytes', symlink('app/l', 'a/'.repeat(2049)), 'Symbolic link "app/l" has a target of 4098 bytes; the limit is 4096.'],
    ['a link target with a newline', symlink('app/l', 'a\nb'), 'has a control character in its target'],
  ])('refuses %s, naming the entry', (_case, entry, detail) => {
    expect(() => judge([entry])).toThrow(expect.objectContaining(refusal(detail)));
  });

  it('refuses links whose names and targets add up to more than the cap', () => {
    const target = 'x'.repeat(1000);
    const links = Array.from({ length: 100 }, (_, i) => symlink(`app/link-${String(i).padStart(3, '0')}`, target));

    expect(() => judge(links, { ...PATH_CAPS, maxLinkBytes: 50_000 })).toThrow(
      expect.objectContaining(refusal('more than 50000 bytes of names and targets (the limit), reached at "app/link-049"')),
    );
  });
});

describe('EntryRules hard links', () => {
  it('refuses a hard link to a symbolic link: 7-Zip refuses it, GNU tar makes a symbolic link read from elsewhere', () => {
    expect(() => judge([symlink('s/l', 'x'), hardlink('h', 's/l')])).toThrow(expect.objectContaining(refusal('which is a symbolic link, not a file')));
  });

  it('refuses hard links in a cycle: no extractor can make them', () => {
    expect(() => judge([hardlink('a', 'b'), hardlink('b', 'a')])).toThrow(expect.objectContaining(refusal('Hard link "a" points to "b", which is no file earlier')));
  });

  it('refuses a hard link to a directory', () => {
    expect(() => judge([file('d/f'), hardlink('h', 'd')])).toThrow(expect.objectContaining(refusal('which is a directory, not a file')));
  });
});

describe('EntryRules one kind per path', () => {
  it.each([
    ['a file where a directory was', [file('a/b'), file('a')], 'Entry "a" is a file where an earlier entry is a directory'],
    ['an entry under a file', [file('a'), file('a/b')], 'Entry "a/b" is placed under "a", which an earlier entry made a file'],
    ['a directory where a file was', [file('a'), { name: 'a/', kind: 'directory', size: 0 } as ArchiveEntry], 'Entry "a/" is a directory where an earlier entry is a file'],
    ['a file named as a directory listed earlier, after a run of its siblings', [file('d/sub/f'), file('d/a'), file('d/b'), file('d/sub')], 'Entry "d/sub" is a file where an earlier entry is a directory'],
    ['an entry under a file of the directory just listed', [file('d/a'), file('d/x'), file('d/x/y')], 'Entry "d/x/y" is placed under "d/x", which an earlier entry made a file'],
    ['the same path spelt with ./ and //', [file('./d//x'), { name: 'd/x/', kind: 'directory', size: 0 } as ArchiveEntry], 'Entry "d/x/" is a directory where an earlier entry is a file'],
  ])('refuses %s', (_case, entries, detail) => {
    expect(() => judge(entries)).toThrow(expect.objectContaining(refusal(detail)));
  });

  it('accepts the same file or directory twice, which every extractor writes over', () => {
    expect(() => judge([file('a/b'), file('a/b'), { name: 'a/', kind: 'directory', size: 0 }, { name: './a', kind: 'directory', size: 0 }])).not.toThrow();
  });
});

describe('EntryRules names in other spellings', () => {
  it.each([
    ['Stra\u00dfe', 'STRASSE'],
    ['\u212a', 'k'],
    ['\u00c5', 'a\u030a'],
    ['\u01c5', '\u01c6'],
    ['\u03a3', '\u03c2'],
  ])('refuses a target that reaches the link %j as %j', (name, spelling) => {
    expect(() => judge([symlink(name, '.'), symlink('p', `${spelling}/..`)])).toThrow(
      expect.objectContaining(refusal(`Symbolic link "p" points to "${spelling}/..", which names ${JSON.stringify(name)} as ${JSON.stringify(spelling)}, the same only`)),
    );
  });

  it.each([
    ['\u0130', 'i'],
    ['a', '\u00e0'],
    ['\udcff', '\udcfe'],
  ])('keeps %j and %j apart, as every filesystem does', (name, other) => {
    expect(() => judge([symlink(name, '.'), symlink('p', `${other}/..`)])).not.toThrow();
  });
});

describe('EntryRules links', () => {
  it('refuses a chain of 100 links whose end escapes (Linux stops at 40 hops, other systems may not)', () => {
    const chain = Array.from({ length: 100 }, (_, i) => symlink(`l${i}`, i === 99 ? '../outside' : `l${i + 1}`));

    expect(() => judge(chain)).toThrow(expect.objectContaining(refusal('Symbolic link "l0" points to "l1", which escapes the archive root.')));
  });

  it('accepts a chain of 100 links that ends inside', () => {
    const chain = Array.from({ length: 100 }, (_, i) => symlink(`l${i}`, i === 99 ? 'app/main.py' : `l${i + 1}`));

    expect(() => judge([file('app/main.py'), ...chain])).not.toThrow();
  });

  it('accepts links in a cycle: they reach nothing, so nothing is written outside through them', () => {
    expect(() => judge([symlink('a', 'b/x'), symlink('b', 'a/..'), symlink('c', 'a/../../..')])).not.toThrow();
  });

  it('refuses a link that leaves through a directory link of a later entry', () => {
    expect(() => judge([symlink('app/cfg', '../up/../../etc'), symlink('up', 'app')])).toThrow(
      expect.objectContaining(refusal('Symbolic link "app/cfg" points to "../up/../../etc"')),
    );
  });

  it('resolves ".." after a link from where the link leads, as the kernel does', () => {
    // deep -> a/b/c, so deep/../.. is a, inside; read lexically it would be outside.
    expect(() => judge([file('a/b/c/f'), symlink('deep', 'a/b/c'), symlink('x', 'deep/../../..')])).not.toThrow();
    expect(() => judge([file('a/b/c/f'), symlink('deep', 'a/b/c'), symlink('x', 'deep/../../../..')])).toThrow(
      expect.objectContaining(refusal('Symbolic link "x" points to')),
    );
  });
});
