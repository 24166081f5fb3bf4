/**
 * The app description finder fed entries in archive order, as the listings feed it:
 * the platform's choice (first matching name in code-point order), one description and one logo
 * held at a time, and the documented logo rule for every order the entries can come in.
 */
import { describe, expect, it } from 'vitest';
import { AppDescFinder, compareCodePoints, MAX_APP_DESC_BYTES, MAX_LOGO_BYTES } from '../../../lib/archive/app-desc-finder';
import type { ArchiveEntry, EntryKind } from '../../../lib/archive/archive-safety';

interface Fed {
  name: string;
  content?: string | Buffer;
  kind?: EntryKind;
}

/** Feeds entries as a listing would: announced, then their data in 64 KiB pieces. */
function feed(finder: AppDescFinder, entries: Fed[]): void {
  for (const fed of entries) {
    const content = Buffer.from(fed.content ?? '');
    const entry: ArchiveEntry = { name: fed.name, kind: fed.kind ?? 'file', size: content.length };
    const sink = finder.open(entry);
    for (let at = 0; at < content.length; at += 65536) sink?.(content.subarray(at, at + 65536));
  }
}

function found(entries: Fed[]) {
  const finder = new AppDescFinder();
  feed(finder, entries);
  return finder.result();
}

function logoText(entries: Fed[]): string | undefined {
  const logo = found(entries)?.logo;
  return Buffer.isBuffer(logo) ? logo.toString() : logo;
}

describe('choosing the app description', () => {
  it('takes the first matching name in sorted order, whatever order the archive lists them in', () => {
    // Act
    const chosen = found([
      { name: 'b/app_desc.yaml', content: 'b' },
      { name: 'a/app_desc.yml', content: 'a-yml' },
      { name: 'a/app_desc.yaml', content: 'a-yaml' },
      { name: 'c/app_desc.yaml', content: 'c' },
    ]);

    // Assess
    expect(chosen?.name).toBe('a/app_desc.yaml');
    expect(chosen?.dir).toBe('a/');
    expect(chosen?.content.toString()).toBe('a-yaml');
  });

  it('sorts as Python does: "./a/app_desc.yaml" comes before "./app_desc.yaml"', () => {
    // Act
    const chosen = found([{ name: './app_desc.yaml', content: 'root' }, { name: './a/app_desc.yaml', content: 'sub' }]);

    // Assess
    expect(chosen?.name).toBe('./a/app_desc.yaml');
  });

  it('compares code points, not UTF-16 units: U+FFFD sorts before an astral character', () => {
    // Assess
    expect('\u{1F600}' < '\uFFFD').toBe(true);
    expect(compareCodePoints('\u{1F600}', '\uFFFD')).toBeGreaterThan(0);
    expect(found([{ name: '\u{1F600}/app_desc.yaml' }, { name: '\uFFFD/app_desc.yaml' }])?.name).toBe('\uFFFD/app_desc.yaml');
  });

  it.each([['my_app_desc.yaml'], ['App_Desc.yaml'], ['app_desc.yaml.bak'], ['app_desc.json'], ['app.yaml']])(
    'ignores %s',
    (name) => {
      // Assess
      expect(found([{ name, content: 'x' }])).toBeUndefined();
    },
  );

  it('takes a description after a backslash, as the platform\'s pattern does', () => {
    // Assess
    expect(found([{ name: 'dir\\app_desc.yaml', content: 'x' }])?.dir).toBe('dir\\');
  });

  it('takes the later of two entries with the same name, as an extractor writes it last', () => {
    // Assess
    expect(found([{ name: 'app_desc.yaml', content: 'first' }, { name: 'app_desc.yaml', content: 'second' }])?.content.toString()).toBe(
      'second',
    );
  });

  it('reads an empty description as empty, not as missing', () => {
    // Assess
    expect(found([{ name: 'app_desc.yaml', content: '' }])?.content).toEqual(Buffer.alloc(0));
  });

  it('keeps the kind of a link that comes first, without reading it', () => {
    // Act
    const chosen = found([{ name: 'app_desc.yaml', kind: 'symlink' }, { name: 'z/app_desc.yaml', content: 'x' }]);

    // Assess
    expect(chosen).toMatchObject({ name: 'app_desc.yaml', kind: 'symlink' });
  });

  it('learns from a zip\'s central directory that the chosen entry is a link', () => {
    // Prepare
    const finder = new AppDescFinder();
    feed(finder, [{ name: 'app_desc.yaml', content: 'target.yaml' }, { name: 'logo.png', content: 'png' }]);

    // Act
    finder.listed({ name: 'app_desc.yaml', kind: 'symlink', size: 11, linkTarget: 'target.yaml' });
    finder.listed({ name: 'logo.png', kind: 'symlink', size: 3, linkTarget: 'png' });

    // Assess
    expect(finder.result()).toMatchObject({ kind: 'symlink', logo: undefined });
  });
});

describe('memory', () => {
  it('holds one description at a time: a larger-named one is never read, a smaller one replaces the held one', () => {
    // Prepare
    const finder = new AppDescFinder();
    const piece = 'x'.repeat(600 * 1024);
    let most = 0;

    // Act: 30 candidates of 600 KiB, each named smaller than the last, each with a logo beside it
    for (let n = 30; n > 0; n -= 1) {
      const dir = `d${String(n).padStart(2, '0')}/`;
      feed(finder, [{ name: `${dir}app_desc.yaml`, content: piece }, { name: `${dir}logo.png`, content: piece }, { name: `z/app_desc.yaml`, content: piece }]);
      most = Math.max(most, finder.heldBytes);
    }

    // Assess
    expect(most).toBe(2 * piece.length);
    expect(found([{ name: 'app_desc.yaml', content: piece }])?.content.length).toBe(piece.length);
  });

  it('holds at most one description and two logos: beside the best, and one on speculation', () => {
    // Prepare
    const finder = new AppDescFinder();
    const piece = 'x'.repeat(600 * 1024);
    let most = 0;

    // Act
    for (const fed of [
      { name: 'a/logo.png', content: piece },
      { name: 'b/app_desc.yaml', content: piece },
      { name: 'b/logo.png', content: piece },
      { name: 'a/b/logo.png', content: piece },
      { name: 'a/app_desc.yaml', content: piece },
    ]) {
      feed(finder, [fed]);
      most = Math.max(most, finder.heldBytes);
    }

    // Assess
    expect(most).toBe(3 * piece.length);
    expect(finder.heldBytes).toBe(2 * piece.length);
    const chosen = finder.result();
    expect(chosen?.name).toBe('a/app_desc.yaml');
    expect(chosen?.logo?.length).toBe(piece.length);
  });

  it('remembers only "too large" past the caps, dropping the bytes', () => {
    // Prepare
    const finder = new AppDescFinder();

    // Act
    feed(finder, [
      { name: 'app_desc.yaml', content: Buffer.alloc(5 * 1024 * 1024, 0x23) },
      { name: 'logo.png', content: Buffer.alloc(MAX_LOGO_BYTES + 1) },
    ]);

    // Assess
    expect(finder.heldBytes).toBe(0);
    expect(finder.result()).toMatchObject({ content: 'too large', logo: 'too large' });
    expect(found([{ name: 'app_desc.yaml', content: Buffer.alloc(MAX_APP_DESC_BYTES) }])?.content).toHaveLength(MAX_APP_DESC_BYTES);
  });
});

describe('the logo beside the chosen description', () => {
  const desc = (dir: string): Fed => ({ name: `${dir}app_desc.yaml`, content: 'spec_version: 2' });
  const logo = (dir: string): Fed => ({ name: `${dir}logo.png`, content: `logo of ${dir || 'root'}` });

  it('is found when it comes after its description, whatever else is listed', () => {
    // Assess
    expect(logoText([logo('static/'), logo('./'), desc(''), logo('a/'), logo(''), logo('src/static/')])).toBe('logo of root');
  });

  it('is found when it comes before its description, nearer the root than other logos', () => {
    // Assess
    expect(logoText([logo('app/static/img/'), logo('app/'), logo('app/admin/'), desc('app/')])).toBe('logo of app/');
    expect(logoText([logo('admin/static/'), logo(''), desc('')])).toBe('logo of root');
  });

  it('prefers, among logos as near the root, the directory that sorts first', () => {
    // Assess
    expect(logoText([logo('b/'), logo('a/'), desc('a/'), desc('b/')])).toBe('logo of a/');
  });

  it('follows the description when a smaller-named one replaces it, its logo listed before or after', () => {
    // Assess
    expect(logoText([desc('b/'), logo('b/'), logo('a/'), desc('a/')])).toBe('logo of a/');
    expect(logoText([logo('b/'), desc('b/'), desc('a/'), logo('a/')])).toBe('logo of a/');
  });

  it('is none when the chosen directory has no logo', () => {
    // Assess
    expect(logoText([logo('b/'), desc('b/'), desc('a/')])).toBeUndefined();
    expect(logoText([desc(''), logo('static/')])).toBeUndefined();
  });

  it('takes the later of two logos in the same directory', () => {
    // Assess
    expect(logoText([desc(''), { name: 'logo.png', content: 'one' }, { name: 'logo.png', content: 'two' }])).toBe('two');
  });

  it('is missed in the documented case: before its description, a logo nearer the root in a directory without one', () => {
    // Assess
    expect(logoText([logo('app/'), logo(''), desc('app/')])).toBeUndefined();
  });

  it('ignores a link named logo.png', () => {
    // Assess
    expect(logoText([desc(''), { name: 'logo.png', kind: 'symlink' }])).toBeUndefined();
  });
});
