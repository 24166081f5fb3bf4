/**
 * A link is judged as every extractor will make it, not only as its entry reads: a backslash is a
 * separator on Windows and part of a name on Linux and macOS. Built as real tar bytes and listed
 * the way the worker lists them.
 */
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { ArchiveSummary } from '../../lib/archive-safety';
import { TarListing } from '../../lib/tar-listing';
import { tarOf, type TarEntry } from '../fixtures/hostile-archives';

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
});
