/**
 * A real-world corpus: archives as the tools people use write them, each held against the service.
 * Every archive is accepted, or refused by a rule docs/api.md names (the test matches the refusal's
 * detail against that rule's text, never a generic one); every accepted archive is listed by the
 * service as GNU tar, bsdtar, Python (tarfile/zipfile) and, for zips, Info-ZIP `unzip -Z` list it:
 * the same names, kinds, file sizes and link targets.
 *
 * Two sources:
 * - made at test time (test/fixtures/real-world/made-by-tools.ts): a sample tree — nested
 *   directories, app_desc.yaml, a path and a name over 100 bytes, `中文/说明.md`, an empty file, an
 *   executable, a relative symbolic link, a hard link, a dot file — packed by each tool;
 * - committed fixtures (test/fixtures/real-world/files/, made by generate.py there; README.md
 *   says where each one's shape comes from) for what no tool here writes: Windows and macOS zips,
 *   an old release tarball, old tars' signed checksums.
 *
 * PENDING_PARSER_FIXES lists verdicts the parsers do not give yet (none today): their verdict test
 * is an expected failure (`it.fails`), which turns red once they pass; then take them off the list.
 *
 * | archive | tool and options | before the parser fixes | expected |
 * | --- | --- | --- | --- |
 * | gnutar-gnu / -gz | GNU tar 1.34 `--format=gnu -cf` / `-czf` | accepted | accepted |
 * | gnutar-oldgnu | GNU tar `--format=oldgnu` | accepted | accepted |
 * | gnutar-pax / -gz | GNU tar `--format=pax` | accepted | accepted |
 * | gnutar-ustar | GNU tar `--format=ustar` (short tree) | accepted | accepted |
 * | gnutar-v7 / -gz | GNU tar `--format=v7` (short tree) | "not a .tar.gz, .tgz, .tar or .zip" / "The gzip content is not a tar archive." | accepted |
 * | automake-dist-v7 | `tar chof - dir \| gzip -c` (automake's default am__tar) | "The gzip content is not a tar archive." | accepted |
 * | automake-dist-ustar | `tar --format=ustar -chf - dir \| gzip -c` (automake tar-ustar) | accepted | accepted |
 * | gnutar-reproducible | GNU tar `--sort=name --mtime --owner=0 --group=0 --numeric-owner --format=pax --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime -czf` | accepted | accepted |
 * | gnutar-pax-xattrs | GNU tar `--xattrs --format=pax -czf`, files with `user.xdg.origin.url` (SCHILY.xattr records) | accepted | accepted |
 * | gnutar-xz | GNU tar `-cJf` | refused: not an accepted format | refused: formats other than .tar.gz, .tgz, .tar, .zip |
 * | gnutar-volume-label | GNU tar `--format=gnu -V label` | "not a .tar.gz, .tgz, .tar or .zip" | refused: a GNU volume label |
 * | gnutar-absolute-link | GNU tar, a tree with `venv/bin/python -> /usr/bin/python3` | refused: absolute path | refused: link to an absolute path |
 * | gnutar-link-out-of-root | GNU tar, a tree with `config/shared -> ../../../shared` | refused: escapes the root | refused: link out of the root |
 * | gnutar-sparse-gnu | GNU tar `--format=gnu -S` of a sparse file | refused: sparse file | refused: GNU sparse file |
 * | gnutar-sparse-pax | GNU tar `--format=pax -S` (GNU.sparse pax records) | refused: sparse file | refused: GNU sparse file |
 * | bsdtar-default / -gz | bsdtar 3.6 `-cf` / `-czf` (restricted pax) | accepted | accepted |
 * | bsdtar-default-xattrs | bsdtar `-czf`, files with xattrs (LIBARCHIVE.xattr and SCHILY.xattr records) | accepted | accepted |
 * | bsdtar-pax, -gnutar | bsdtar `--format pax`, `--format gnutar` | accepted | accepted |
 * | bsdtar-ustar | bsdtar `--format ustar` (short tree) | accepted | accepted |
 * | bsdtar-v7 | bsdtar `--format v7` (short tree) | "not a .tar.gz, .tgz, .tar or .zip" | accepted |
 * | bsdtar-zip, -zip-stored | bsdtar `--format zip`, with `--options zip:compression=store` | accepted | accepted |
 * | 7zip-zip, 7zip-zip-links | 7-Zip `7zz a -tzip`, with `-snl` (links stored) | accepted | accepted |
 * | 7zip-zip-utf8 | 7-Zip `7zz a -tzip -mcu=on` (UTF-8 flag) | accepted | accepted |
 * | 7zip-7z | 7-Zip `7zz a -t7z` | refused: not an accepted format | refused: formats other than .tar.gz, .tgz, .tar, .zip |
 * | 7zip-tar, 7zip-tar-links | 7-Zip `7zz a -ttar`, with `-snl -snh` | accepted | accepted |
 * | infozip, -un-utf8, -links | Info-ZIP zip 3.0 `zip -r`, `-r -UN=UTF8`, `-ry` (UTF-8 `中文/` written with no UTF-8 flag) | accepted | refused: a zip name not ASCII without the UTF-8 flag |
 * | infozip-ascii, -links-ascii, -no-extra-ascii, -stored-no-dirs-ascii | `zip -r`, `-ry`, `-rX`, `-r0D` of the tree without its UTF-8 name | (the full tree: accepted) | accepted |
 * | infozip-links-absolute | `zip -ry` of a tree (ASCII names) with an absolute link | refused: absolute path | refused: link to an absolute path |
 * | python-tarfile-gnu, -pax, -ustar | `tarfile.open(..., format=GNU/PAX/USTAR_FORMAT).add(dir)` | accepted | accepted |
 * | python-tarfile-cli-gz | `python3 -m tarfile -c x.tar.gz dir` | accepted | accepted |
 * | python-shutil-gztar, -zip | `shutil.make_archive(..., 'gztar' / 'zip')` | accepted | accepted |
 * | python-zipfile-cli | `python3 -m zipfile -c x.zip dir` | accepted | accepted |
 * | jar, jar-no-manifest | JDK 17 `jar cf`, `jar cfM` (host MS-DOS, UTF-8 `中文/`) | accepted | refused: a name not ASCII in a zip made on MS-DOS |
 * | jar-ascii | `jar cf` of the tree without its UTF-8 name | (the full tree: accepted) | accepted |
 * | git-archive-tar, -tar-gz | `git archive --format=tar / tar.gz --prefix=dir/ HEAD` | accepted | accepted |
 * | git-archive-zip | `git archive --format=zip` (directories as made on MS-DOS, `中文/`) | accepted | refused: a name not ASCII in a zip made on MS-DOS |
 * | npm-pack | `npm pack` of a tiny package | accepted | accepted |
 * | pax-ustar / -gz | `pax -w -x ustar` (with `-z`) | accepted | accepted |
 * | pax-tar-v7 | `pax -w -x tar` (V7) | "not a .tar.gz, .tgz, .tar or .zip" | accepted |
 * | windows-explorer-gbk.zip | Explorer zip, GBK names, no UTF-8 flag, host FAT | accepted | refused: a zip name not ASCII without the UTF-8 flag |
 * | windows-explorer-ascii.zip | the same, ASCII names | (added later) | accepted |
 * | macos-finder.zip | Finder/ditto zip with `__MACOSX/._*`, UTF-8 (NFD) `café.md` with no flag | accepted | refused: a zip name not ASCII without the UTF-8 flag |
 * | macos-finder-ascii.zip | the same, ASCII names | (added later) | accepted |
 * | powershell-compress-archive.zip | Compress-Archive on .NET Framework, `\` separators | accepted | refused: a backslash in a zip name |
 * | java-jar-cafe.jar | JarOutputStream, 0xCAFE extra field, UTF-8 `中文/` on host MS-DOS | accepted | refused: a name not ASCII in a zip made on MS-DOS |
 * | android-zipalign.zip, android-apksigner-align.zip | zipalign zero padding, apksigner 0xd935 | accepted | accepted |
 * | v7-release.tar.gz | automake `make dist` (tar-v7) | "The gzip content is not a tar archive." | accepted |
 * | signed-checksum.tar | ustar, checksums over signed bytes | "The tar archive is corrupt: a header after entry ... is invalid." | accepted |
 * | gnu-volume-label.tar | `tar -V` as GNU tar 1.34 writes it | "not a .tar.gz, .tgz, .tar or .zip" | refused: a GNU volume label |
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type NamedRule, TOOL_CASES, type ToolCase, makeArchive, writeTreeFor } from '../../fixtures/real-world/made-by-tools';
import { FIXTURE_CASES } from '../../fixtures/real-world/fixture-cases';
import { type ServiceVerdict, serviceVerdict } from '../../helpers/service-listing';
import { bsdtarListing, gnuTarListing, pythonListing, serviceListing, unzipListing } from '../../helpers/tool-listings';

/**
 * Verdicts the parsers do not give yet: each test is an expected failure, and turns red when the
 * parsers give the expected verdict; then take it off the list.
 */
const PENDING_PARSER_FIXES = new Set<string>([]);

/**
 * Accepted archives that a tool lists differently from the service, by archive and tool, with what
 * differs. Each is an expected failure: it turns red when the tool and the service agree.
 */
const KNOWN_DISAGREEMENTS = new Map<string, string>([]);

interface CorpusArchive {
  id: string;
  what: string;
  expect: 'accepted' | NamedRule;
  /** A zip (listed by zipfile, bsdtar and unzip) or a tar (GNU tar, bsdtar and tarfile). */
  zip: boolean;
  /** The archive's path, made on first use (a tool that is missing fails only its own cases). */
  file: () => Promise<string>;
}

const work = mkdtempSync(path.join(tmpdir(), 'real-world-corpus-'));
const outDir = path.join(work, 'archives');
const made = new Map<string, Promise<string>>();

function madeBy(toolCase: ToolCase): Promise<string> {
  let file = made.get(toolCase.id);
  if (!file) {
    const parent = path.join(work, 'trees', toolCase.id);
    file = writeTreeFor(toolCase.tree, parent).then(() => makeArchive(toolCase, parent, outDir));
    made.set(toolCase.id, file);
  }
  return file;
}

const toolArchives: CorpusArchive[] = TOOL_CASES.map((toolCase: ToolCase) => ({
  id: toolCase.id,
  what: `${toolCase.tool}: ${toolCase.command}`,
  expect: toolCase.expect,
  zip: toolCase.ext === 'zip' || toolCase.ext === 'jar',
  file: () => madeBy(toolCase),
}));

const fixtureArchives: CorpusArchive[] = FIXTURE_CASES.map((fixture) => ({
  id: fixture.file,
  what: fixture.what,
  expect: fixture.expect,
  zip: /\.(zip|jar|apk)$/.test(fixture.file),
  file: async () => path.join(__dirname, '..', '..', 'fixtures', 'real-world', 'files', fixture.file),
}));

const verdicts = new Map<string, Promise<ServiceVerdict>>();
function verdictOf(archive: CorpusArchive): Promise<ServiceVerdict> {
  let verdict = verdicts.get(archive.id);
  if (!verdict) {
    verdict = archive.file().then((file) => serviceVerdict(readFileSync(file)));
    verdicts.set(archive.id, verdict);
  }
  return verdict;
}

beforeAll(() => {
  mkdirSync(outDir, { recursive: true });
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

function describeCorpus(title: string, archives: CorpusArchive[]): void {
  describe(title, () => {
    for (const archive of archives) {
      const pending = PENDING_PARSER_FIXES.has(archive.id);
      const expected = archive.expect === 'accepted' ? 'accepted' : `refused: ${archive.expect.rule}`;
      const verdictTest = pending ? it.fails : it;
      verdictTest(`${archive.id} (${archive.what}) is ${expected}${pending ? ' [pending parser fix]' : ''}`, async () => {
        const verdict = await verdictOf(archive);
        if (archive.expect === 'accepted') {
          expect(verdict.ok ? 'accepted' : verdict.error).toBe('accepted');
        } else {
          expect(verdict.ok ? 'accepted' : verdict.error).toMatch(archive.expect.detail);
        }
      });

      if (archive.expect !== 'accepted') continue;
      const tools = archive.zip ? (['Python', 'bsdtar', 'unzip'] as const) : (['GNU tar', 'bsdtar', 'Python'] as const);
      for (const tool of tools) {
        const known = KNOWN_DISAGREEMENTS.get(`${archive.id} / ${tool}`);
        const listingTest = known ? it.fails : it;
        listingTest(`${archive.id} is listed by the service as ${tool} lists it${known ? ` [known: ${known}]` : ''}`, async (context) => {
          const verdict = await verdictOf(archive);
          if (!verdict.ok && pending) context.skip();
          if (!verdict.ok) throw new Error(`refused: ${verdict.error}`);
          const file = await archive.file();
          const zip = verdict.format === 'zip';
          expect(zip, 'the format its name says').toBe(archive.zip);
          const theirs =
            tool === 'GNU tar'
              ? await gnuTarListing(file)
              : tool === 'bsdtar'
                ? await bsdtarListing(file)
                : tool === 'Python'
                  ? await pythonListing(file, zip ? 'zip' : 'tar')
                  : await unzipListing(file);
          // zipinfo shows no link targets.
          expect(theirs).toEqual(serviceListing(verdict.entries, tool !== 'unzip'));
        });
      }
    }
  });
}

describeCorpus('archives the real tools make here', toolArchives);
if (fixtureArchives.length > 0) describeCorpus('committed archives from tools that cannot run here', fixtureArchives);
