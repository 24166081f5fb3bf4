/**
 * A link is judged as every extractor will make it, not only as its entry reads: a hard link to
 * a symbolic link is a symbolic link once GNU tar or bsdtar extracts it; a backslash is a separator
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
  describe('with a hard link to a symbolic link', () => {
    it('refuses one that re-reads the link\'s target from a directory where it leads outside', async () => {
      // From a/b, ../../etc is <root>/etc; GNU tar makes h a symbolic link to ../../etc at the root.
      const entries: TarEntry[] = [
        { name: 'a/b/', type: 'directory' },
        { name: 'a/b/l', type: 'symlink', linkname: '../../etc' },
        { name: 'h', type: 'link', linkname: 'a/b/l' },
      ];

      await expect(listTar(format, entries)).rejects.toMatchObject(
        refusal('Hard link "h" links the symbolic link "a/b/l", so tar makes it a symbolic link to "../../etc" read from its own directory, which escapes the archive root.'),
      );
    });

    it('refuses it when the hard link comes before the symbolic link', async () => {
      const entries: TarEntry[] = [
        { name: 'h', type: 'link', linkname: 'a/b/l' },
        { name: 'a/b/', type: 'directory' },
        { name: 'a/b/l', type: 'symlink', linkname: '../../etc' },
      ];

      await expect(listTar(format, entries)).rejects.toMatchObject(refusal('Hard link "h" links the symbolic link "a/b/l"'));
    });

    it('refuses it through a chain of hard links', async () => {
      const entries: TarEntry[] = [
        { name: 'a/b/l', type: 'symlink', linkname: '../../etc' },
        { name: 'a/b/h1', type: 'link', linkname: 'a/b/l' },
        { name: 'h2', type: 'link', linkname: 'a/b/h1' },
      ];

      await expect(listTar(format, entries)).rejects.toMatchObject(refusal('Hard link "h2" links the symbolic link "a/b/l"'));
    });

    it('refuses a link that leads outside through such a hard link', async () => {
      // h is a symbolic link to "." read from the root once extracted, so h/.. is above it.
      const entries: TarEntry[] = [
        { name: 'a/l', type: 'symlink', linkname: '.' },
        { name: 'h', type: 'link', linkname: 'a/l' },
        { name: 'up', type: 'symlink', linkname: 'h/..' },
      ];

      await expect(listTar(format, entries)).rejects.toMatchObject(refusal('Symbolic link "up" points to "h/..", which escapes the archive root.'));
    });

    it('refuses an entry written through the hard link, whichever comes first', async () => {
      const linkFirst: TarEntry[] = [
        { name: 'sub/', type: 'directory' },
        { name: 'l', type: 'symlink', linkname: 'sub' },
        { name: 'h', type: 'link', linkname: 'l' },
        { name: 'h/evil.txt', content: 'x' },
      ];
      const symlinkLast: TarEntry[] = [
        { name: 'h', type: 'link', linkname: 'l' },
        { name: 'h/evil.txt', content: 'x' },
        { name: 'l', type: 'symlink', linkname: 'sub' },
      ];

      await expect(listTar(format, linkFirst)).rejects.toMatchObject(refusal('Entry "h/evil.txt" is placed through the hard link "h".'));
      await expect(listTar(format, symlinkLast)).rejects.toMatchObject(refusal('Entry "h/evil.txt" is placed through the hard link "h".'));
    });

    it('refuses an entry that takes the hard link\'s path (Python\'s tarfile writes a file through a link there)', async () => {
      const entries: TarEntry[] = [
        { name: 'l', type: 'symlink', linkname: 'sub/f' },
        { name: 'h', type: 'link', linkname: 'l' },
        { name: 'h', content: 'x' },
      ];

      await expect(listTar(format, entries)).rejects.toMatchObject(refusal('Entry "h" replaces the hard link at the same path.'));
    });

    it('refuses a hard link whose target goes through a symbolic link', async () => {
      const entries: TarEntry[] = [
        { name: 'a/b/l', type: 'symlink', linkname: '../../etc' },
        { name: 's', type: 'symlink', linkname: 'a/b' },
        { name: 'h', type: 'link', linkname: 's/l' },
      ];

      await expect(listTar(format, entries)).rejects.toMatchObject(refusal('Hard link "h" points to "s/l", through the symbolic link "s"'));
    });

    it('accepts hard links to a symbolic link that stay inside from their own directories', async () => {
      // GNU tar archives a symbolic link with two names this way.
      const entries: TarEntry[] = [
        { name: 'app/src/main.py', content: 'print(1)\n' },
        { name: 'app/bin/run', type: 'symlink', linkname: '../src/main.py' },
        { name: 'app/bin/run2', type: 'link', linkname: 'app/bin/run' },
        { name: 'app/lib/run3', type: 'link', linkname: 'app/bin/run' },
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

      await expect(listTar(format, entries)).rejects.toMatchObject(refusal('Hard link "h" points to "a/b/l", which names "a/b/L" as "l", the same only'));
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
