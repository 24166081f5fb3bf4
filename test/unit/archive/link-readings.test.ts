/**
 * A link is judged as every extractor will make it, not only as its entry reads: a hard link only
 * to a file written before it, which every extractor makes alike; a backslash is a separator
 * on Windows and part of a name on Linux and macOS; names that differ only in case or Unicode
 * normalisation are one file on macOS and Windows. Built as real tar bytes and listed the way the
 * worker lists them.
 */
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { ArchiveSummary } from '../../../lib/archive/archive-safety';
import { TarListing } from '../../../lib/archive/tar-listing';
import { tarOf, type TarEntry } from '../../fixtures/hostile-archives';

const LIMITS = { maxEntries: 100, maxUncompressedBytes: 1024 * 1024 };

async function listTar(format: 'tar.gz' | 'tar', entries: TarEntry[]): Promise<ArchiveSummary> {
  const tar = await tarOf(entries);
  const listing = new TarListing(format, LIMITS);
  try {
    await listing.write(format === 'tar.gz' ? gzipSync(tar) : tar);
    return await listing.end();
  } finally {
    listing.destroy();
  }
}

function refusal(detail: string): Record<string, unknown> {
  return { code: 'INVALID_PACKAGE_FORMAT', detail: expect.stringContaining(detail) };
}

describe.each(['tar.gz', 'tar'] as const)('links in a %s', (format) => {
  describe('with a backslash', () => {
    it('refuses a symbolic link named x\\l: one name at the root on Linux, where ../etc is outside', async () => {
      // Read with "\" as a separator, the link is x/l and ../etc is <root>/etc.
      const entries: TarEntry[] = [
        { name: 'app/main.py', content: 'print(1)\n' },
        { name: 'x\\l', type: 'symlink', linkname: '../etc' },
      ];

      await expect(listTar(format, entries)).rejects.toMatchObject(refusal('Symbolic link "x\\\\l" has a backslash in its name'));
    });

    it('refuses a symbolic link whose target climbs out of a directory named with a backslash', async () => {
      // On Linux app/a\b is a directory of its own, so a\b/../../.. is above the root; read with
      // "\" as a separator it goes through the link app/a into deep/dir and stays inside.
      const entries: TarEntry[] = [
        { name: 'deep/dir/', type: 'directory' },
        { name: 'app/a\\b/', type: 'directory' },
        { name: 'app/a', type: 'symlink', linkname: '../deep/dir' },
        { name: 'app/evil', type: 'symlink', linkname: 'a\\b/../../..' },
      ];

      await expect(listTar(format, entries)).rejects.toMatchObject(refusal('Symbolic link "app/evil" has a backslash in its target'));
    });

    it('refuses a hard link whose target has a backslash', async () => {
      const entries: TarEntry[] = [
        { name: 'app/main.py', content: 'print(1)\n' },
        { name: 'app/copy.py', type: 'link', linkname: 'app\\main.py' },
      ];

      await expect(listTar(format, entries)).rejects.toMatchObject(refusal('Hard link "app/copy.py" has a backslash in its target'));
    });

    it('still accepts files whose names hold a backslash', async () => {
      const entries: TarEntry[] = [{ name: 'app\\main.py', content: 'print(1)\n' }, { name: 'app/run', type: 'symlink', linkname: 'main.py' }];

      await expect(listTar(format, entries)).resolves.toEqual({ entryCount: 2, uncompressedBytes: 9 });
    });
  });
  describe('with hard links', () => {
    it('refuses a hard link to a symbolic link: 7-Zip refuses it, GNU tar and bsdtar make a symbolic link read from elsewhere', async () => {
      const entries: TarEntry[] = [
        { name: 'a/b/l', type: 'symlink', linkname: '../../etc' },
        { name: 'h', type: 'link', linkname: 'a/b/l' },
      ];

      await expect(listTar(format, entries)).rejects.toMatchObject(refusal('Hard link "h" points to "a/b/l", which is a symbolic link, not a file'));
    });

    it('refuses a hard link listed before the file it links: extractors can only link what is already written', async () => {
      const entries: TarEntry[] = [
        { name: 'h', type: 'link', linkname: 'app/main.py' },
        { name: 'app/main.py', content: 'print(1)\n' },
      ];

      await expect(listTar(format, entries)).rejects.toMatchObject(refusal('Hard link "h" points to "app/main.py", which is no file earlier in the archive'));
    });

    it('refuses a hard link whose target goes through a symbolic link', async () => {
      const entries: TarEntry[] = [
        { name: 'a/b/f', content: 'x' },
        { name: 's', type: 'symlink', linkname: 'a/b' },
        { name: 'h', type: 'link', linkname: 's/f' },
      ];

      await expect(listTar(format, entries)).rejects.toMatchObject(refusal('Hard link "h" points to "s/f", which is no file earlier in the archive'));
    });

    it('refuses an entry that takes a hard link\'s path', async () => {
      const entries: TarEntry[] = [
        { name: 'app/main.py', content: 'print(1)\n' },
        { name: 'h', type: 'link', linkname: 'app/main.py' },
        { name: 'h', content: 'other' },
      ];

      await expect(listTar(format, entries)).rejects.toMatchObject(refusal('Entry "h" replaces the hard link at the same path.'));
    });

    it('accepts hard links, and hard links to hard links, to a file written before them', async () => {
      // GNU tar archives a file with several names this way.
      const entries: TarEntry[] = [
        { name: 'app/src/main.py', content: 'print(1)\n' },
        { name: 'app/bin/run', type: 'link', linkname: 'app/src/main.py' },
        { name: 'app/lib/run2', type: 'link', linkname: 'app/bin/run' },
        { name: 'app/lib/run3', type: 'link', linkname: './app/src/main.py' },
      ];

      await expect(listTar(format, entries)).resolves.toEqual({ entryCount: 4, uncompressedBytes: 9 });
    });
  });

  describe('with names that differ only in case or Unicode normalisation', () => {
    it('refuses a link whose target reaches a link under another case (q for Q)', async () => {
      // On macOS and Windows q/.. is Q/.., and Q is the root: p points above it.
      const entries: TarEntry[] = [
        { name: 'Q', type: 'symlink', linkname: '.' },
        { name: 'p', type: 'symlink', linkname: 'q/..' },
      ];

      await expect(listTar(format, entries)).rejects.toMatchObject(
        refusal('Symbolic link "p" points to "q/..", which names "Q" as "q", the same only where names that differ only in case or Unicode normalisation are one file (macOS, Windows)'),
      );
    });

    it('refuses a link whose target reaches a link under another normalisation (NFD for NFC)', async () => {
      const entries: TarEntry[] = [
        { name: '\u00e9', type: 'symlink', linkname: '.' },
        { name: 'p', type: 'symlink', linkname: 'e\u0301/..' },
      ];

      await expect(listTar(format, entries)).rejects.toMatchObject(refusal('Symbolic link "p" points to "e\u0301/..", which names "\u00e9" as "e\u0301", the same only'));
    });

    it('refuses an entry written through a link under another case', async () => {
      const entries: TarEntry[] = [
        { name: 'sub/', type: 'directory' },
        { name: 'L', type: 'symlink', linkname: 'sub' },
        { name: 'l/evil.txt', content: 'x' },
      ];

      await expect(listTar(format, entries)).rejects.toMatchObject(
        refusal('Entry "l/evil.txt" is placed through the symbolic link "L" where names that differ only in case'),
      );
    });

    it('refuses an entry that takes a link\'s path under another case', async () => {
      const entries: TarEntry[] = [
        { name: 'Run', type: 'symlink', linkname: 'sub/run' },
        { name: 'run', content: 'x' },
      ];

      await expect(listTar(format, entries)).rejects.toMatchObject(refusal('Entry "run" replaces the symbolic link "Run" where names'));
    });

    it('refuses links in two directories whose names differ only in case: one directory on macOS', async () => {
      // On Linux a/d does not exist and a/l is inside; on macOS a is A, A/d is A, and A/l leads above the root.
      const entries: TarEntry[] = [
        { name: 'A/d', type: 'symlink', linkname: '.' },
        { name: 'a/l', type: 'symlink', linkname: 'd/../..' },
      ];

      await expect(listTar(format, entries)).rejects.toMatchObject(refusal('The path of symbolic link "a/l" names the directory "A", which holds another link, in another spelling'));
    });

    it('refuses a hard link whose target names a symbolic link under another case', async () => {
      const entries: TarEntry[] = [
        { name: 'a/b/L', type: 'symlink', linkname: '../../etc' },
        { name: 'h', type: 'link', linkname: 'a/b/l' },
      ];

      // No file is named a/b/l: only the symbolic link a/b/L, which macOS would open by that name.
      await expect(listTar(format, entries)).rejects.toMatchObject(refusal('Hard link "h" points to "a/b/l", which is no file earlier in the archive'));
    });

    it('still accepts files that differ only in case, and a directory spelt two ways beside a link', async () => {
      const entries: TarEntry[] = [
        { name: 'README', content: 'a' },
        { name: 'readme', content: 'b' },
        { name: 'Docs/latest', type: 'symlink', linkname: 'v2' },
        { name: 'docs/index.md', content: 'c' },
      ];

      await expect(listTar(format, entries)).resolves.toEqual({ entryCount: 4, uncompressedBytes: 3 });
    });
  });
});
