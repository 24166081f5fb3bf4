/**
 * Archives real extractors unpack differently from the listing, each refused naming the entry
 * and the field; and old but ordinary tars every extractor reads, accepted. The shapes come from
 * differential runs against GNU tar, bsdtar, 7-Zip, unzip, Python's tarfile and zipfile and yauzl
 * (test/integration/archive/ holds those runs); docs/api.md "Archives" has the accepted grammar.
 */
import { crc32, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { serviceVerdict } from '../../helpers/service-listing';
import { blocks, gnuLongHeader, paxHeader, tarHeader } from '../../fixtures/hostile-archives';
import { rawZip } from '../../fixtures/zip-builder';

const END = Buffer.alloc(1024);

function refusedWith(detail: string): Record<string, unknown> {
  return { ok: false, error: expect.stringContaining(detail) };
}

/** A header's checksum written again after its bytes were changed. */
function resum(header: Buffer, signed = false): Buffer {
  header.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of header) sum += signed && byte >= 0x80 ? byte - 0x100 : byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return header;
}

/** An old V7 header: no magic, no owner names, no prefix. */
function v7Header(name: string, size: number, type = '0'): Buffer {
  const header = tarHeader({ name, size, type });
  header.fill(0, 257, 512);
  return resum(header);
}

/** One pax record, its length counting itself: `separator` stands between the length and the keyword. */
function record(keyword: string | Buffer, value: string | Buffer, separator = ' '): Buffer {
  const rest = Buffer.concat([Buffer.from(separator), Buffer.from(keyword), Buffer.from('='), Buffer.from(value), Buffer.from('\n')]);
  let length = rest.length + 1;
  while (String(length).length + rest.length !== length) length += 1;
  return Buffer.concat([Buffer.from(String(length)), rest]);
}

/** A pax header holding exactly `body` (for records no well-behaved writer makes). */
function rawPax(body: Buffer | string, type: 'x' | 'g' = 'x'): Buffer {
  const bytes = Buffer.from(body);
  return Buffer.concat([tarHeader({ name: 'PaxHeader', type, size: bytes.length }), blocks(bytes)]);
}

function file(name: string, content: string, type = '0'): Buffer {
  return Buffer.concat([tarHeader({ name, size: Buffer.byteLength(content), type }), blocks(content)]);
}

/** An extra field with the given id and data. */
function extraField(id: number, data: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt16LE(id, 0);
  head.writeUInt16LE(data.length, 2);
  return Buffer.concat([head, data]);
}

describe('tar archives extractors read alike are accepted', () => {
  it('accepts an old V7 tar, as automake writes release tarballs, plain and gzipped', async () => {
    const tar = Buffer.concat([v7Header('hello-2.12/', 0, '5'), v7Header('hello-2.12/README', 6), blocks('hello\n'), END]);

    await expect(serviceVerdict(tar)).resolves.toMatchObject({ ok: true, format: 'tar', entries: [{ name: 'hello-2.12/' }, { name: 'hello-2.12/README', size: 6 }] });
    await expect(serviceVerdict(gzipSync(tar))).resolves.toMatchObject({ ok: true, format: 'tar.gz' });
  });

  it('accepts a header whose checksum was summed over signed bytes, as old Sun and NeXT tars did', async () => {
    const header = resum(tarHeader({ name: 'app/caf\u00e9.txt', size: 1 }), true);

    await expect(serviceVerdict(Buffer.concat([header, blocks('x'), END]))).resolves.toMatchObject({ ok: true, entries: [{ name: 'app/café.txt' }] });
  });

  it('accepts a directory in the old style: a trailing slash on an old regular file with no data', async () => {
    const tar = Buffer.concat([v7Header('app/', 0, '\0'), file('app/a.txt', 'a'), END]);

    await expect(serviceVerdict(tar)).resolves.toMatchObject({ ok: true, entries: [{ name: 'app/', kind: 'directory' }, { name: 'app/a.txt' }] });
  });
});

describe('tar shapes extractors unpack differently are refused, naming the entry and the field', () => {
  it.each([
    ['a contiguous file (type 7) named with a trailing slash and carrying data', file('app/x/', 'evil', '7'), 'Entry "app/x/" is a contiguous file (type "7") whose name ends in \'/\''],
    ['a regular file (type 0) named with a trailing slash', file('app/x/', '', '0'), 'Entry "app/x/" is a regular file (type "0") whose name ends in \'/\''],
    [
      'an old-style directory renamed without its slash by a pax path (Python extracts through it as a directory)',
      Buffer.concat([paxHeader({ path: 'app/x' }), tarHeader({ name: 'app/x/', type: '\0' })]),
      'Entry "app/x" is an old-style directory',
    ],
    [
      'an old-style file renamed with a trailing slash by a pax path',
      Buffer.concat([paxHeader({ path: 'app/x/' }), tarHeader({ name: 'app/x', type: '\0' })]),
      'Entry "app/x/" is an old-style file renamed with a trailing slash',
    ],
    ['a pax record with two spaces after its length', rawPax(record('path', 'app/b', '  ')), 'a keyword that is not visible ASCII'],
    ['a pax record with a NUL inside its keyword', rawPax(record('pa\0th', 'app/b')), 'a keyword that is not visible ASCII'],
    ['a pax record with a NUL inside its value', rawPax(record('uname', 'a\0b')), 'record "uname" has a NUL in its value'],
    ['a pax record of a million bytes', rawPax(record('comment', 'c'.repeat(1_000_000))), 'a record length that is not 1 to 6 decimal digits'],
    ['a pax record length with a leading zero', rawPax('014 uid=1234\n'), 'a record length that is not 1 to 6 decimal digits'],
    ['GNU.sparse.name, which renames the entry for GNU tar and libarchive', paxHeader({ 'GNU.sparse.name': 'app/other' }), 'record "GNU.sparse.name" has a sparse-file keyword'],
    ['GNU.sparse.realsize in a global header', paxHeader({ 'GNU.sparse.realsize': '99' }, 'g'), 'pax global header before its first entry whose record "GNU.sparse.realsize"'],
    ['SCHILY.realsize, which resizes the entry for libarchive', paxHeader({ 'SCHILY.realsize': '99' }), 'record "SCHILY.realsize" has a sparse-file keyword'],
    ['a keyword no reader shares', paxHeader({ 'VENDOR.path': 'app/other' }), 'record "VENDOR.path" has a keyword not on the accepted list'],
    ['hdrcharset=BINARY, which readers decode differently', paxHeader({ hdrcharset: 'BINARY' }), 'record "hdrcharset" has a value other than'],
    ['a pax path that is not UTF-8', rawPax(record('path', Buffer.from([0x61, 0x2f, 0xff, 0xfe]))), 'record "path" has a value that is not UTF-8'],
    ['a file capability for bsdtar to restore as root', paxHeader({ 'SCHILY.xattr.security.capability': 'x' }), 'the extended attribute "security.capability"'],
  ])('refuses %s', async (_case, head, detail) => {
    const tar = Buffer.concat([head, file('app/a.txt', 'a'), END]);

    await expect(serviceVerdict(tar)).resolves.toMatchObject(refusedWith(detail));
  });

  it('refuses a tar without its end-of-archive block, which 7-Zip refuses as cut short', async () => {
    await expect(serviceVerdict(file('app/a.txt', 'a'))).resolves.toMatchObject(refusedWith('without its end-of-archive block'));
  });

  it('refuses a pax header whose size runs past its last record (libarchive ignores the whole header)', async () => {
    const body = Buffer.concat([record('path', 'app/b'), Buffer.alloc(1)]);

    await expect(serviceVerdict(Buffer.concat([rawPax(body), file('app/a.txt', 'a'), END]))).resolves.toMatchObject(refusedWith('NUL bytes after its last record'));
  });

  it('refuses a pax global header with no entry after it, which Python fails on', async () => {
    const tar = Buffer.concat([file('app/a.txt', 'a'), paxHeader({ comment: 'abc' }, 'g'), END]);

    await expect(serviceVerdict(tar)).resolves.toMatchObject(refusedWith('ends after an extended header that has no entry'));
  });

  it('refuses a hard link whose target ends in a slash, which every extractor fails to make (not a directory)', async () => {
    const tar = Buffer.concat([file('app/a.txt', 'a'), tarHeader({ name: 'app/h', type: '1', linkname: 'app/a.txt/' }), END]);

    await expect(serviceVerdict(tar)).resolves.toMatchObject(refusedWith('Hard link "app/h" points to "app/a.txt/", which is no file earlier in the archive'));
  });

  it('refuses a hard link named like the file it links (bsdtar skips it, 7-Zip fails)', async () => {
    const tar = Buffer.concat([file('app/a.txt', 'a'), tarHeader({ name: 'app/a.txt', type: '1', linkname: './app/a.txt' }), END]);

    await expect(serviceVerdict(tar)).resolves.toMatchObject(refusedWith('Hard link "app/a.txt" points to itself'));
  });

  it.each([['1', 'hard'], ['2', 'symbolic']])('refuses a link (type %s) whose name ends in a slash, which 7-Zip writes as a directory', async (type, word) => {
    const tar = Buffer.concat([file('app/a.txt', 'a'), tarHeader({ name: 'app/l//', type, linkname: type === '1' ? 'app/a.txt' : 'a.txt' }), END]);

    await expect(serviceVerdict(tar)).resolves.toMatchObject(refusedWith(`Entry "app/l//" is a ${word} link whose name ends in '/'`));
  });

  it('refuses a file written again after a hard link to it: tar replaces it, 7-Zip and Python write through the link', async () => {
    const tar = Buffer.concat([file('app/a.txt', 'first'), tarHeader({ name: 'app/h', type: '1', linkname: 'app/a.txt' }), file('app/a.txt', 'second'), END]);

    await expect(serviceVerdict(tar)).resolves.toMatchObject(refusedWith('Entry "app/a.txt" writes again a file that a hard link points to'));
  });

  it('refuses a GNU long link name before a POSIX header, which bsdtar ignores there', async () => {
    const tar = Buffer.concat([gnuLongHeader('a.txt', 'K'), tarHeader({ name: 'app/l', type: '2' }), file('app/a.txt', 'a'), END]);

    await expect(serviceVerdict(tar)).resolves.toMatchObject(refusedWith('takes its link target from a GNU long-name record but has a POSIX ustar header'));
  });

  it('refuses a GNU volume label, which Python extracts as a file and tar skips', async () => {
    const tar = Buffer.concat([tarHeader({ name: 'backup-2020', type: 'V', gnu: true }), file('app/a.txt', 'a'), END]);

    await expect(serviceVerdict(tar)).resolves.toMatchObject(refusedWith('has a GNU volume label "backup-2020"'));
  });

  it('refuses a number field that readers parse differently (a leading NUL: 0 to Python, 511 to GNU tar)', async () => {
    const header = tarHeader({ name: 'app/a.txt', size: 1 });
    header.write('\u0000000777', 100, 'latin1');

    await expect(serviceVerdict(Buffer.concat([resum(header), blocks('a'), END]))).resolves.toMatchObject(refusedWith('(its mode field)'));
  });

  it('refuses bytes in the name prefix of an old V7 header, which Python puts before the name and tar ignores', async () => {
    const header = v7Header('a.txt', 1);
    header.write('elsewhere', 345, 'latin1');

    await expect(serviceVerdict(Buffer.concat([resum(header), blocks('a'), END]))).resolves.toMatchObject(refusedWith('(its prefix field)'));
  });

  it('refuses a ustar magic with another version, which one reader takes for ustar and another for V7', async () => {
    const header = tarHeader({ name: 'a.txt', size: 1, prefix: 'app' });
    header.write('01', 263, 'latin1');

    await expect(serviceVerdict(Buffer.concat([resum(header), blocks('a'), END]))).resolves.toMatchObject(refusedWith('(its magic field)'));
  });
});

describe('zip shapes extractors unpack differently are refused, naming the entry and the field', () => {
  const symlinkMode = 0o120777;

  it.each([
    ["Info-ZIP's ASi field (unzip can make the entry a link by its mode)", extraField(0x756e, Buffer.alloc(14)), "Info-ZIP's ASi Unix field"],
    ["the 'xl' field", extraField(0x6c78, Buffer.from('../../etc')), "the 'xl' field"],
    ['the PKWARE Unix field, which can carry a link target', extraField(0x000d, Buffer.alloc(12)), 'the PKWARE Unix field'],
    ['an extra field nobody shares', extraField(0x1234, Buffer.alloc(2)), 'the extra field 0x1234'],
  ])('refuses %s', async (_case, extra, detail) => {
    const bytes = rawZip([{ name: 'app/a.txt', data: 'x', local: { extra }, central: { extra } }]);

    await expect(serviceVerdict(bytes)).resolves.toMatchObject(refusedWith(`Entry "app/a.txt" has ${detail}`));
  });

  it.each([
    ['version 2', 2, 'app/a.txt', 'has version 2'],
    ['the CRC-32 of another name', 1, 'app/other.txt', 'was written for another name'],
  ])('refuses an Info-ZIP Unicode path field with %s', async (_case, version, crcOf, detail) => {
    const name = Buffer.from('app/../../evil.txt');
    const extra = extraField(0x7075, Buffer.concat([Buffer.from([version]), Buffer.alloc(4), name]));
    extra.writeUInt32LE(crc32(Buffer.from(crcOf)) >>> 0, 5);
    const bytes = rawZip([{ name: 'app/a.txt', data: 'x', local: { extra }, central: { extra } }]);

    await expect(serviceVerdict(bytes)).resolves.toMatchObject(refusedWith(`Unicode path field in its local header that ${detail}`));
  });

  it('refuses a name under the UTF-8 flag that is not UTF-8 (unzip drops it)', async () => {
    const name = Buffer.from([0x61, 0x70, 0x70, 0x2f, 0xff, 0x2e, 0x74, 0x78, 0x74]);
    const bytes = rawZip([{ name, data: 'x', local: { flags: 0x0800 }, central: { flags: 0x0800 } }]);

    await expect(serviceVerdict(bytes)).resolves.toMatchObject(refusedWith('has the UTF-8 flag but a name that is not UTF-8'));
  });

  it.each([
    ['a Windows zip with GBK names (unzip writes "++"-style OEM mappings, Python CP437)', Buffer.from([0x61, 0x70, 0x70, 0x2f, 0xd6, 0xd0, 0xce, 0xc4, 0x2e, 0x74, 0x78, 0x74]), 0],
    ["Info-ZIP's UTF-8 names without the flag (Python writes them as CP437)", Buffer.from('app/\u00fcber.txt'), 3],
    ['a byte unzip drops, making app_desc.yaml of another name', Buffer.from([...Buffer.from('app/app_desc.yaml'), 0xff]), 3],
  ])('refuses a name that is not ASCII without the UTF-8 flag: %s', async (_case, name, host) => {
    const bytes = rawZip([{ name, data: 'x', host }]);

    await expect(serviceVerdict(bytes)).resolves.toMatchObject(refusedWith('has a name that is not ASCII and no UTF-8 flag'));
  });

  it.each([0, 6])('refuses names that are not ASCII, even flagged UTF-8, in a zip made on host %i (unzip converts them from the DOS code page)', async (host) => {
    const bytes = rawZip([{ name: 'app/\u00fcber.txt', data: 'x', host }]);

    await expect(serviceVerdict(bytes)).resolves.toMatchObject(refusedWith('in a zip made on MS-DOS or OS/2'));
  });

  it('refuses an empty extended timestamp field, which bsdtar refuses', async () => {
    const extra = extraField(0x5455, Buffer.alloc(0));
    const bytes = rawZip([{ name: 'app/a.txt', data: 'x', local: { extra }, central: { extra } }]);

    await expect(serviceVerdict(bytes)).resolves.toMatchObject(refusedWith('an empty extended timestamp field'));
  });

  it('shows the bytes of a name that is not UTF-8 as \\x escapes in the refusal', async () => {
    const bytes = rawZip([{ name: Buffer.from([0x61, 0x2f, 0xca, 0xbe, 0xc0, 0xfd]), data: 'x', host: 0 }]);

    await expect(serviceVerdict(bytes)).resolves.toMatchObject(refusedWith('Entry "a/\\xca\\xbe\\xc0\\xfd" has a name that is not ASCII'));
  });

  it('accepts names that are not ASCII under the UTF-8 flag', async () => {
    const bytes = rawZip([{ name: 'app/\u4e2d\u6587/\u8bf4\u660e.md', data: 'x' }]);

    await expect(serviceVerdict(bytes)).resolves.toMatchObject({ ok: true, entries: [{ name: 'app/中文/说明.md' }] });
  });

  it('refuses a symbolic link whose target is not UTF-8', async () => {
    const bytes = rawZip([{ name: 'app/link', data: Buffer.from([0x61, 0xff]), mode: symlinkMode }]);

    await expect(serviceVerdict(bytes)).resolves.toMatchObject(refusedWith('Symbolic link "app/link" has a target that is not UTF-8'));
  });

  it('refuses a name with a backslash, a separator to some extractors and part of the name to others', async () => {
    const bytes = rawZip([{ name: 'app\\a.txt', data: 'x', host: 0 }]);

    await expect(serviceVerdict(bytes)).resolves.toMatchObject(refusedWith('Entry "app\\\\a.txt" has a backslash in its name'));
  });

  it("refuses a link's mode in a zip made on MS-DOS: unzip makes a link of it, libarchive and Python a file", async () => {
    const bytes = rawZip([{ name: 'app/link', data: 'a.txt', mode: symlinkMode, host: 0 }]);

    await expect(serviceVerdict(bytes)).resolves.toMatchObject(refusedWith("has a symbolic link's mode in a zip not made on Unix"));
  });

  it.each([
    ['a Unix directory mode', { mode: 0o040755 }],
    ['the MS-DOS directory attribute', { host: 0, mode: 0, dosAttributes: 0x10 }],
  ])('refuses %s on a name without a trailing slash', async (_case, fields) => {
    const bytes = rawZip([{ name: 'app/d', data: '', ...fields }]);

    await expect(serviceVerdict(bytes)).resolves.toMatchObject(refusedWith('Entry "app/d" is marked a directory in its attributes'));
  });

  it('refuses a stored entry whose data holds a descriptor signature before its own descriptor', async () => {
    const bytes = rawZip([{ name: 'app/a.bin', data: Buffer.from('abcPK\u0007\u0008xyz'), method: 0, descriptor: 'signed' }]);

    await expect(serviceVerdict(bytes)).resolves.toMatchObject(refusedWith('holds a data descriptor signature before its end'));
  });

  it('refuses a stored zip64 entry whose data holds a 32-bit descriptor with the right CRC (streaming readers stop there)', async () => {
    const head = Buffer.from('spec_version: 2\n');
    const fake = Buffer.alloc(16);
    fake.writeUInt32LE(0x08074b50, 0);
    fake.writeUInt32LE(crc32(head) >>> 0, 4);
    fake.writeUInt32LE(head.length, 8);
    fake.writeUInt32LE(head.length, 12);
    const bytes = rawZip([{ name: 'app/a.bin', data: Buffer.concat([head, fake, Buffer.from('hidden')]), method: 0, descriptor: 'signed', zip64: true }]);

    await expect(serviceVerdict(bytes)).resolves.toMatchObject(refusedWith('holds a data descriptor signature before its end'));
  });

  it('accepts the extra fields the mainstream zip writers use', async () => {
    const fields = [extraField(0x5455, Buffer.from([3, 0, 0, 0, 0])), extraField(0x7875, Buffer.from([1, 4, 0, 0, 0, 0, 4, 0, 0, 0, 0])), extraField(0x000a, Buffer.alloc(32))];
    const bytes = rawZip([
      { name: 'META-INF/', local: { extra: extraField(0xcafe, Buffer.alloc(0)) }, central: { extra: extraField(0xcafe, Buffer.alloc(0)) } },
      { name: 'app/a.txt', data: 'x', local: { extra: Buffer.concat(fields) }, central: { extra: Buffer.concat(fields) } },
    ]);

    await expect(serviceVerdict(bytes)).resolves.toMatchObject({ ok: true, entries: [{ name: 'META-INF/' }, { name: 'app/a.txt' }] });
  });
});
