/**
 * Seeded structured mutations of small real archives, for holding the service's listing against
 * real extractors (test/integration/archive/extractor-differential.test.ts).
 *
 * Base archives are made at run time by the tools people use (GNU tar in gnu/pax/ustar/v7
 * formats, Python's tarfile and zipfile, Info-ZIP zip with and without -y, stored and deflated)
 * from one small tree: files (one past a block), a directory, an empty directory, a symbolic
 * link inside, a hard link, a name that is not ASCII. A mutant applies one to three mutations
 * that keep the archive plausible — header checksums, zip CRCs, sizes and offsets are
 * recomputed — so that readers get past the framing and have to interpret the field:
 *
 * - tar: the type flag ('7', '\0', 'V', 'S', unknown…), name bytes (trailing '/', high bytes,
 *   backslash), the size field, the magic (removed: a V7 header), the prefix field, a checksum
 *   summed over signed bytes, the link name; pax 'x' and 'g' headers with records written
 *   well or badly (two spaces after the length, NUL in a keyword or value, leading zeros, a
 *   record of a million bytes) and keywords that rename or resize (path, linkpath, size,
 *   GNU.sparse.*, SCHILY.realsize, hdrcharset, LIBARCHIVE.symlinktype…); GNU long names and
 *   long link names ('L'/'K') with and without a trailing slash; a header embedded in data;
 *   bytes after the end.
 * - zip: extra fields (ASi 0x756e with a link mode, 'xl' 0x6c78, Unicode path 0x7075 in
 *   versions 0–2 with its name CRC right or wrong, PKWARE Unix 0x000d with a link target, zip64
 *   and unknown ids), the UTF-8 flag over names that are not UTF-8, external attributes (a link
 *   mode, a directory mode on a name without '/'), the host byte, a record shaped like a data
 *   descriptor with the right CRC inside stored data, local and central names that differ,
 *   duplicate central records, a local record the central directory does not name, bytes
 *   before and after the archive.
 *
 * The same seed gives the same mutants (given the same base archives: the tools' versions are
 * printed by scripts/install-extractors.sh).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, linkSync, lutimesSync, mkdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { crc32, inflateRawSync } from 'node:zlib';
import { PYTHON } from './extractors';

export type ArchiveFormat = 'tar' | 'zip';

export interface Base {
  name: string;
  format: ArchiveFormat;
  bytes: Buffer;
}

export interface Mutant {
  /** `<base> #<index>`, stable for a seed. */
  id: string;
  base: string;
  format: ArchiveFormat;
  mutations: string[];
  bytes: Buffer;
}

/** mulberry32: small, fast, and the same everywhere. */
export class Random {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

// ---------------------------------------------------------------- base archives

const MTIME = 1598289351;
const MAIN_PY = Buffer.from(Array.from({ length: 700 }, (_, i) => `# line ${i}\n`).join('').slice(0, 700));
const APP_DESC = Buffer.from('spec_version: 2\napp_version: "1.0"\napp:\n  region: default\n  bk_app_code: demo\n  bk_app_name: demo\n');
const TREE_FILES: [string, Buffer][] = [
  ['pkg/app_desc.yaml', APP_DESC],
  ['pkg/src/main.py', MAIN_PY],
  ['pkg/src/\u00fcn\u00ef.txt', Buffer.from('unicode\n')],
  ['pkg/README', Buffer.from('')],
];

function makeTree(dir: string, asciiOnly = false): void {
  for (const [name, data] of TREE_FILES.filter(([n]) => !asciiOnly || /^[\x20-\x7e]*$/.test(n))) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), data);
  }
  mkdirSync(path.join(dir, 'pkg/empty'), { recursive: true });
  symlinkSync('src/main.py', path.join(dir, 'pkg/link'));
  linkSync(path.join(dir, 'pkg/src/main.py'), path.join(dir, 'pkg/hard'));
  // Fixed times, so that the same seed makes the same bytes (zip stores them; tar gets --mtime).
  for (const name of [...TREE_FILES.map(([n]) => n), 'pkg/hard', 'pkg/empty', 'pkg/src', 'pkg']) {
    if (existsSync(path.join(dir, name))) utimesSync(path.join(dir, name), MTIME, MTIME);
  }
  lutimesSync(path.join(dir, 'pkg/link'), MTIME, MTIME);
}

const PYTHON_BASES = String.raw`
import io, sys, tarfile, zipfile, stat
out = sys.argv[1]
files = [('pkg/app_desc.yaml', open(sys.argv[2], 'rb').read()), ('pkg/src/main.py', open(sys.argv[3], 'rb').read()),
         ('pkg/src/\u00fcn\u00ef.txt', b'unicode\n'), ('pkg/README', b'')]
for fmt, label in ((tarfile.GNU_FORMAT, 'gnu'), (tarfile.PAX_FORMAT, 'pax')):
    with tarfile.open(f'{out}/python-{label}.tar', 'w', format=fmt) as t:
        for name in ('pkg', 'pkg/src', 'pkg/empty'):
            info = tarfile.TarInfo(name); info.type = tarfile.DIRTYPE; info.mode = 0o755; info.mtime = 1598289351; t.addfile(info)
        for name, data in files:
            info = tarfile.TarInfo(name); info.size = len(data); info.mtime = 1598289351; t.addfile(info, io.BytesIO(data))
        info = tarfile.TarInfo('pkg/link'); info.type = tarfile.SYMTYPE; info.linkname = 'src/main.py'; t.addfile(info)
        info = tarfile.TarInfo('pkg/hard'); info.type = tarfile.LNKTYPE; info.linkname = 'pkg/src/main.py'; t.addfile(info)
for method, label in ((zipfile.ZIP_STORED, 'stored'), (zipfile.ZIP_DEFLATED, 'deflated')):
    with zipfile.ZipFile(f'{out}/python-{label}.zip', 'w', method) as z:
        z.writestr(zipfile.ZipInfo('pkg/empty/', (2020, 8, 24, 0, 0, 0)), b'')
        for name, data in files:
            z.writestr(zipfile.ZipInfo(name, (2020, 8, 24, 0, 0, 0)), data, method)
        info = zipfile.ZipInfo('pkg/link', (2020, 8, 24, 0, 0, 0)); info.create_system = 3
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        z.writestr(info, b'src/main.py', zipfile.ZIP_STORED)
`;

const TOOL_ENV = { ...process.env, LC_ALL: 'C.UTF-8', TZ: 'UTC' };

/** The base archives, made in `dir` by the tools themselves. */
export function makeBases(dir: string): Base[] {
  const tree = path.join(dir, 'tree');
  mkdirSync(tree, { recursive: true });
  makeTree(tree);
  const run = (command: string, args: string[], cwd = tree): void => {
    execFileSync(command, args, { cwd, env: TOOL_ENV, stdio: ['ignore', 'ignore', 'pipe'] });
  };
  const bases: Base[] = [];
  const add = (name: string, format: ArchiveFormat, file: string): void => {
    bases.push({ name, format, bytes: readFileSync(file) });
  };
  for (const format of ['gnu', 'pax', 'ustar', 'v7']) {
    const file = path.join(dir, `gnu-tar-${format}.tar`);
    // Without atime and ctime, which GNU tar's pax format records from the disk by default.
    const pax = format === 'pax' ? ['--pax-option=delete=atime,delete=ctime'] : [];
    run('tar', [`--format=${format}`, ...pax, '--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=@1598289351', '-cf', file, 'pkg']);
    add(`GNU tar --format=${format}`, 'tar', file);
  }
  writeFileSync(path.join(dir, 'app_desc.yaml'), APP_DESC);
  writeFileSync(path.join(dir, 'main.py'), MAIN_PY);
  run(PYTHON, ['-c', PYTHON_BASES, dir, path.join(dir, 'app_desc.yaml'), path.join(dir, 'main.py')]);
  add('Python tarfile GNU_FORMAT', 'tar', path.join(dir, 'python-gnu.tar'));
  add('Python tarfile PAX_FORMAT', 'tar', path.join(dir, 'python-pax.tar'));
  add('Python zipfile stored', 'zip', path.join(dir, 'python-stored.zip'));
  add('Python zipfile deflated', 'zip', path.join(dir, 'python-deflated.zip'));
  for (const [label, args] of [
    ['zip -r', ['-r', '-X']],
    ['zip -r -y', ['-r', '-X', '-y']],
    ['zip -r -y -0', ['-r', '-X', '-y', '-0']],
  ] as const) {
    const file = path.join(dir, `${label.replace(/[ -]+/g, '_')}.zip`);
    run('zip', ['-q', ...args, file, 'pkg']);
    add(`Info-ZIP ${label}`, 'zip', file);
  }
  // The same with ASCII names only: Info-ZIP's names that are not ASCII carry no UTF-8 flag, which docs/api.md refuses.
  const ascii = path.join(dir, 'ascii-tree');
  mkdirSync(ascii, { recursive: true });
  makeTree(ascii, true);
  for (const [label, args] of [
    ['zip -r', ['-r', '-X']],
    ['zip -r -y', ['-r', '-X', '-y']],
    ['zip -r -y -0', ['-r', '-X', '-y', '-0']],
  ] as const) {
    const file = path.join(dir, `ascii-${label.replace(/[ -]+/g, '_')}.zip`);
    run('zip', ['-q', ...args, file, 'pkg'], ascii);
    add(`Info-ZIP ${label}, ASCII names`, 'zip', file);
  }
  return bases;
}

// ---------------------------------------------------------------- tar

const BLOCK = 512;

function octal(value: number, width: number): Buffer {
  const field = Buffer.alloc(width);
  field.write(value.toString(8).padStart(width - 1, '0'), 'latin1');
  return field;
}

function readNumber(field: Buffer): number {
  if (field[0] !== undefined && field[0] & 0x80) {
    let value = 0;
    for (let i = 1; i < field.length; i++) value = value * 256 + (field[i] ?? 0);
    return value;
  }
  const text = field.toString('latin1').replace(/\0.*$/s, '').trim();
  return text ? parseInt(text, 8) || 0 : 0;
}

function cString(field: Buffer): Buffer {
  const end = field.indexOf(0);
  return end < 0 ? field : field.subarray(0, end);
}

/** Writes the header's checksum: over unsigned bytes (POSIX) or signed ones (old tars). */
function setChecksum(block: Buffer, signed = false): void {
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) {
    const byte = block[i] ?? 0;
    sum += signed && byte >= 0x80 ? byte - 256 : byte;
  }
  block.write(`${(sum & 0o777777).toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
}

interface TarHeader {
  offset: number;
  type: string;
  size: number;
  name: Buffer;
}

/** The header blocks a plain walk finds (every header, extended ones included), up to the end blocks. */
function tarHeaders(data: Buffer): { headers: TarHeader[]; end: number } {
  const headers: TarHeader[] = [];
  let offset = 0;
  while (offset + BLOCK <= data.length) {
    const block = data.subarray(offset, offset + BLOCK);
    if (block.every((b) => b === 0)) break;
    const size = readNumber(block.subarray(124, 136));
    headers.push({ offset, type: String.fromCharCode(block[156] ?? 0), size, name: cString(block.subarray(0, 100)) });
    offset += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
  }
  return { headers, end: Math.min(offset, data.length) };
}

function tarHeader(name: Buffer, type: string, size: number, options: { linkname?: Buffer; magic?: 'ustar' | 'gnu' } = {}): Buffer {
  const block = Buffer.alloc(BLOCK);
  name.subarray(0, 100).copy(block, 0);
  octal(0o644, 8).copy(block, 100);
  octal(0, 8).copy(block, 108);
  octal(0, 8).copy(block, 116);
  octal(size, 12).copy(block, 124);
  octal(1598289351, 12).copy(block, 136);
  block.write(type, 156, 'latin1');
  options.linkname?.subarray(0, 100).copy(block, 157);
  block.write(options.magic === 'gnu' ? 'ustar  \0' : 'ustar\x0000', 257, 'latin1');
  setChecksum(block);
  return block;
}

function padded(data: Buffer): Buffer {
  return Buffer.concat([data, Buffer.alloc((BLOCK - (data.length % BLOCK)) % BLOCK)]);
}

function extendedHeader(type: 'x' | 'g' | 'L' | 'K', body: Buffer): Buffer {
  const name = Buffer.from(type === 'L' || type === 'K' ? '././@LongLink' : type === 'g' ? 'pax_global_header' : 'PaxHeaders/entry');
  return Buffer.concat([tarHeader(name, type, body.length, { magic: type === 'L' || type === 'K' ? 'gnu' : 'ustar' }), padded(body)]);
}

type RecordShape = 'well' | 'two-spaces' | 'leading-zeros' | 'nul-in-keyword' | 'nul-in-value' | 'huge' | 'length-short' | 'no-newline';

/** One pax record `<length> <keyword>=<value>\n`, well formed or shaped as a writer got it wrong. */
function paxRecord(keyword: string, value: Buffer, shape: RecordShape): Buffer {
  let key = Buffer.from(keyword);
  let body = value;
  if (shape === 'nul-in-keyword') key = Buffer.concat([key.subarray(0, 2), Buffer.from([0]), key.subarray(2)]);
  if (shape === 'nul-in-value') body = Buffer.concat([value.subarray(0, 1), Buffer.from([0]), value.subarray(1)]);
  if (shape === 'huge') body = Buffer.concat([value, Buffer.alloc(1_000_000 - value.length, 0x20)]);
  const rest = Buffer.concat([Buffer.from(shape === 'two-spaces' ? '  ' : ' '), key, Buffer.from('='), body, Buffer.from(shape === 'no-newline' ? '' : '\n')]);
  const zeros = shape === 'leading-zeros' ? '00' : '';
  let length = rest.length + zeros.length + 1;
  while (`${zeros}${length}`.length + rest.length !== length) length = `${zeros}${length}`.length + rest.length;
  if (shape === 'length-short') length -= 1;
  return Buffer.concat([Buffer.from(`${zeros}${length}`), rest]);
}

const NAMES = ['pkg/renamed.txt', 'pkg/src/main.py', 'pkg/app_desc.yaml', 'pkg/empty/', 'pkg/src/', 'pkg/link', 'pkg/hard', 'pkg/x/', 'x', 'pkg/\u00e9\u00e9.txt', 'pkg/a\\b.txt', 'pkg/new/deep/file.txt'];
const TARGETS = ['src/main.py', 'main.py', '../pkg/src/main.py', 'src', '.', 'app_desc.yaml', 'pkg/src/main.py', 'missing'];

function nameBytes(random: Random): Buffer {
  const name = Buffer.from(random.pick(NAMES));
  if (random.chance(0.15)) return Buffer.concat([name, Buffer.from([random.pick([0xff, 0xe9, 0x80])])]);
  return name;
}

function paxKeyword(random: Random, size: number): [string, Buffer] {
  const keyword = random.pick([
    'path', 'path', 'linkpath', 'size', 'GNU.sparse.name', 'GNU.sparse.realsize', 'GNU.sparse.major', 'GNU.sparse.minor', 'GNU.sparse.map',
    'GNU.sparse.size', 'GNU.sparse.numblocks', 'SCHILY.realsize', 'hdrcharset', 'LIBARCHIVE.symlinktype', 'comment', 'mtime', 'uname', 'SCHILY.filetype', 'VENDOR.unknown',
  ]);
  const value = ((): string | Buffer => {
    switch (keyword) {
      case 'path':
      case 'GNU.sparse.name':
        return nameBytes(random);
      case 'linkpath':
        return random.pick(TARGETS);
      case 'size':
      case 'GNU.sparse.realsize':
      case 'SCHILY.realsize':
      case 'GNU.sparse.size':
        return String(random.pick([0, 1, 5, size - 1, size + 1, size + 512, 1000]));
      case 'GNU.sparse.major':
        return random.pick(['1', '0']);
      case 'GNU.sparse.minor':
        return random.pick(['0', '1']);
      case 'GNU.sparse.map':
        return random.pick(['0,10', '0,0', '512,100']);
      case 'GNU.sparse.numblocks':
        return '1';
      case 'hdrcharset':
        return random.pick(['BINARY', 'ISO-IR 10646 2000 UTF-8']);
      case 'LIBARCHIVE.symlinktype':
        return random.pick(['dir', 'file']);
      case 'mtime':
        return random.pick(['1598289351.5', 'abc', '-1']);
      case 'SCHILY.filetype':
        return random.pick(['symlink', 'directory', 'file']);
      default:
        return random.pick(['hi', 'x'.repeat(40)]);
    }
  })();
  return [keyword, Buffer.isBuffer(value) ? value : Buffer.from(value)];
}

function recordShape(random: Random): RecordShape {
  return random.chance(0.6) ? 'well' : random.pick(['two-spaces', 'leading-zeros', 'nul-in-keyword', 'nul-in-value', 'huge', 'length-short', 'no-newline'] as const);
}

/** One tar mutation: changes `data`, returns the new bytes and what it did. */
function mutateTar(data: Buffer, random: Random): [Buffer, string] {
  const { headers, end } = tarHeaders(data);
  if (headers.length === 0) return [Buffer.concat([data, Buffer.from('junk')]), 'trailing junk'];
  const target = random.pick(headers);
  const block = Buffer.from(data.subarray(target.offset, target.offset + BLOCK));
  const withBlock = (what: string, signed = false): [Buffer, string] => {
    setChecksum(block, signed);
    return [Buffer.concat([data.subarray(0, target.offset), block, data.subarray(target.offset + BLOCK)]), `${what} at ${JSON.stringify(target.name.toString('latin1'))}`];
  };
  const insertBefore = (bytes: Buffer, what: string): [Buffer, string] => [
    Buffer.concat([data.subarray(0, target.offset), bytes, data.subarray(target.offset)]),
    `${what} before ${JSON.stringify(target.name.toString('latin1'))}`,
  ];
  const op = random.pick(['type', 'type', 'name', 'size', 'magic', 'prefix', 'signed', 'linkname', 'pax', 'pax', 'pax', 'pax', 'global', 'longname', 'embedded', 'trailing'] as const);
  switch (op) {
    case 'type': {
      const type = random.pick(['7', '\0', 'V', 'S', 'N', 'Z', 'A', 'M', 'D', '0', '1', '2', '5', 'x', 'g', 'L', 'K']);
      block.write(type, 156, 'latin1');
      return withBlock(`type flag ${JSON.stringify(type)}`);
    }
    case 'name': {
      const name = cString(block.subarray(0, 100));
      const how = random.pick(['trailing slash', 'high byte', 'backslash', 'replaced'] as const);
      const next =
        how === 'trailing slash' ? Buffer.concat([name, Buffer.from('/')]) :
        how === 'high byte' ? Buffer.concat([name, Buffer.from([random.pick([0xff, 0xe9, 0x80, 0xc3])])]) :
        how === 'backslash' ? Buffer.from(name.toString('latin1').replace(/\//g, '\\'), 'latin1') :
        nameBytes(random);
      block.fill(0, 0, 100);
      next.subarray(0, 100).copy(block, 0);
      return withBlock(`name ${how} (${JSON.stringify(next.toString('latin1'))})`);
    }
    case 'size': {
      const size = random.pick([0, 1, target.size - 1, target.size + 1, target.size + 512, 512, 1024].filter((s) => s >= 0));
      octal(size, 12).copy(block, 124);
      return withBlock(`size ${target.size} → ${size}`);
    }
    case 'magic': {
      const magic = random.pick(['v7', 'gnu', 'ustar'] as const);
      if (magic === 'v7') block.fill(0, 257, BLOCK);
      else block.write(magic === 'gnu' ? 'ustar  \0' : 'ustar\x0000', 257, 'latin1');
      return withBlock(`magic ${magic}`);
    }
    case 'prefix': {
      const prefix = Buffer.from(random.pick(['pre', 'pkg', '..', 'pkg/src/', 'p\u00e9']));
      block.fill(0, 345, 500);
      prefix.copy(block, 345);
      return withBlock(`prefix ${JSON.stringify(prefix.toString('latin1'))}`);
    }
    case 'signed': {
      // A byte ≥ 0x80 in the user name makes the signed sum differ from the unsigned one.
      block.fill(0, 265, 297);
      block.write('r\u00f6\u00f6t', 265, 'latin1');
      return withBlock('checksum over signed bytes (uname with high bytes)', true);
    }
    case 'linkname': {
      const linkname = Buffer.from(random.pick(TARGETS));
      block.fill(0, 157, 257);
      linkname.copy(block, 157);
      return withBlock(`linkname ${JSON.stringify(linkname.toString('latin1'))}`);
    }
    case 'pax':
    case 'global': {
      const records: Buffer[] = [];
      const described: string[] = [];
      const n = 1 + random.int(3);
      for (let i = 0; i < n; i++) {
        const [keyword, value] = paxKeyword(random, target.size);
        const shape = recordShape(random);
        records.push(paxRecord(keyword, value, shape));
        described.push(`${keyword}=${JSON.stringify(value.toString('latin1'))}${shape === 'well' ? '' : ` (${shape})`}`);
      }
      if (op === 'global') {
        const header = extendedHeader('g', Buffer.concat(records));
        const at = random.chance(0.5) ? 0 : target.offset;
        return [Buffer.concat([data.subarray(0, at), header, data.subarray(at)]), `pax global header ${described.join(', ')}${at ? ` before ${JSON.stringify(target.name.toString('latin1'))}` : ' at the start'}`];
      }
      return insertBefore(extendedHeader('x', Buffer.concat(records)), `pax header ${described.join(', ')}`);
    }
    case 'longname': {
      const type = random.pick(['L', 'L', 'K'] as const);
      let name = type === 'K' ? Buffer.from(random.pick(TARGETS)) : nameBytes(random);
      if (random.chance(0.3)) name = Buffer.concat([name, Buffer.from('/')]);
      const body = Buffer.concat([name, Buffer.from(random.chance(0.8) ? [0] : [])]);
      return insertBefore(extendedHeader(type, body), `GNU long ${type === 'L' ? 'name' : 'link name'} ${JSON.stringify(name.toString('latin1'))}`);
    }
    case 'embedded': {
      // A header for another file written into a file's data (what a size change would uncover).
      const files = headers.filter((h) => h.size >= BLOCK && ['0', '\0', '7'].includes(h.type));
      if (files.length === 0) break;
      const file = random.pick(files);
      const embedded = tarHeader(Buffer.from('pkg/embedded.txt'), '0', 5);
      const copy = Buffer.from(data);
      embedded.copy(copy, file.offset + BLOCK);
      return [copy, `tar header embedded in the data of ${JSON.stringify(file.name.toString('latin1'))}`];
    }
    case 'trailing':
      break;
  }
  const how = random.pick(['junk', 'entry after end', 'no end blocks', 'one end block'] as const);
  if (how === 'junk') return [Buffer.concat([data, Buffer.from('junk'.repeat(100))]), 'bytes after the end'];
  if (how === 'entry after end') return [Buffer.concat([data, tarHeader(Buffer.from('pkg/after-end.txt'), '0', 5), padded(Buffer.from('after')), Buffer.alloc(2 * BLOCK)]), 'an entry after the end blocks'];
  if (how === 'no end blocks') return [data.subarray(0, end), 'end blocks removed'];
  return [Buffer.concat([data.subarray(0, end), Buffer.alloc(BLOCK)]), 'one end block only'];
}

// ---------------------------------------------------------------- zip

interface ZipEntry {
  madeBy: number;
  needed: number;
  flags: number;
  method: number;
  time: number;
  date: number;
  crc: number;
  compressedSize: number;
  size: number;
  name: Buffer;
  localName: Buffer;
  localExtra: Buffer;
  centralExtra: Buffer;
  comment: Buffer;
  internalAttributes: number;
  externalAttributes: number;
  data: Buffer;
  descriptor: Buffer;
  /** Bytes written after this entry's data (records the central directory does not name). */
  after: Buffer;
  /** Central record pointing at another entry's local record (a duplicate). */
  sameLocalAs?: number;
}

interface ZipModel {
  before: Buffer;
  entries: ZipEntry[];
  comment: Buffer;
  after: Buffer;
}

function parseZip(bytes: Buffer): ZipModel | undefined {
  try {
    return parseZipRecords(bytes);
  } catch {
    return undefined; // a record runs past the end: not a zip this model can rewrite
  }
}

function parseZipRecords(bytes: Buffer): ZipModel | undefined {
  const eocd = bytes.lastIndexOf(Buffer.from('PK\x05\x06', 'latin1'));
  if (eocd < 0) return undefined;
  const count = bytes.readUInt16LE(eocd + 10);
  let at = bytes.readUInt32LE(eocd + 16);
  const entries: ZipEntry[] = [];
  const localAt: number[] = [];
  const endAt: number[] = [];
  for (let i = 0; i < count; i++) {
    if (bytes.readUInt32LE(at) !== 0x02014b50) return undefined;
    const nameLength = bytes.readUInt16LE(at + 28);
    const extraLength = bytes.readUInt16LE(at + 30);
    const commentLength = bytes.readUInt16LE(at + 32);
    const local = bytes.readUInt32LE(at + 42);
    const flags = bytes.readUInt16LE(at + 8);
    const compressedSize = bytes.readUInt32LE(at + 20);
    const localNameLength = bytes.readUInt16LE(local + 26);
    const localExtraLength = bytes.readUInt16LE(local + 28);
    const dataAt = local + 30 + localNameLength + localExtraLength;
    let descriptor: Buffer = Buffer.alloc(0);
    if (flags & 8) {
      const afterData = dataAt + compressedSize;
      descriptor = bytes.subarray(afterData, afterData + (bytes.readUInt32LE(afterData) === 0x08074b50 ? 16 : 12));
    }
    localAt.push(local);
    endAt.push(dataAt + compressedSize + descriptor.length);
    entries.push({
      madeBy: bytes.readUInt16LE(at + 4),
      needed: bytes.readUInt16LE(at + 6),
      flags,
      method: bytes.readUInt16LE(at + 10),
      time: bytes.readUInt16LE(at + 12),
      date: bytes.readUInt16LE(at + 14),
      crc: bytes.readUInt32LE(at + 16),
      compressedSize,
      size: bytes.readUInt32LE(at + 24),
      name: Buffer.from(bytes.subarray(at + 46, at + 46 + nameLength)),
      localName: Buffer.from(bytes.subarray(local + 30, local + 30 + localNameLength)),
      localExtra: Buffer.from(bytes.subarray(local + 30 + localNameLength, dataAt)),
      centralExtra: Buffer.from(bytes.subarray(at + 46 + nameLength, at + 46 + nameLength + extraLength)),
      comment: Buffer.from(bytes.subarray(at + 46 + nameLength + extraLength, at + 46 + nameLength + extraLength + commentLength)),
      internalAttributes: bytes.readUInt16LE(at + 36),
      externalAttributes: bytes.readUInt32LE(at + 38),
      data: Buffer.from(bytes.subarray(dataAt, dataAt + compressedSize)),
      descriptor: Buffer.from(descriptor),
      after: Buffer.alloc(0),
    });
    at += 46 + nameLength + extraLength + commentLength;
  }
  // Bytes before the first local record, and between one entry's data and the next record, are kept.
  const localOffsets = entries.map((_, i) => localAt[i] ?? 0);
  const first = Math.min(...localOffsets, bytes.readUInt32LE(eocd + 16));
  const order = entries.map((entry, i) => ({ entry, local: localOffsets[i] ?? 0, end: endAt[i] ?? 0 })).sort((a, b) => a.local - b.local);
  order.forEach((item, i) => {
    const next = order[i + 1]?.local ?? bytes.readUInt32LE(eocd + 16);
    if (next > item.end && item.local !== order[i + 1]?.local) item.entry.after = Buffer.from(bytes.subarray(item.end, next));
  });
  return { before: Buffer.from(bytes.subarray(0, first)), entries, comment: Buffer.from(bytes.subarray(eocd + 22, eocd + 22 + bytes.readUInt16LE(eocd + 20))), after: Buffer.from(bytes.subarray(eocd + 22 + bytes.readUInt16LE(eocd + 20))) };
}

/** Whether some zip name (central or local) without the UTF-8 flag holds a byte ≥ 0x80: each tool decodes those its own way. */
export function hasUnflaggedHighBytes(bytes: Buffer): boolean {
  const model = parseZip(bytes);
  return (model?.entries ?? []).some((entry) => (entry.flags & 0x800) === 0 && [...entry.name, ...entry.localName].some((b) => b >= 0x80));
}

function localRecord(entry: ZipEntry): Buffer {
  const header = Buffer.alloc(30);
  header.writeUInt32LE(0x04034b50, 0);
  header.writeUInt16LE(entry.needed, 4);
  header.writeUInt16LE(entry.flags, 6);
  header.writeUInt16LE(entry.method, 8);
  header.writeUInt16LE(entry.time, 10);
  header.writeUInt16LE(entry.date, 12);
  const deferred = (entry.flags & 8) !== 0;
  header.writeUInt32LE(deferred ? 0 : entry.crc, 14);
  header.writeUInt32LE(deferred ? 0 : entry.compressedSize, 18);
  header.writeUInt32LE(deferred ? 0 : entry.size, 22);
  header.writeUInt16LE(entry.localName.length, 26);
  header.writeUInt16LE(entry.localExtra.length, 28);
  return Buffer.concat([header, entry.localName, entry.localExtra]);
}

function descriptorOf(entry: ZipEntry): Buffer {
  const descriptor = Buffer.alloc(16);
  descriptor.writeUInt32LE(0x08074b50, 0);
  descriptor.writeUInt32LE(entry.crc, 4);
  descriptor.writeUInt32LE(entry.compressedSize, 8);
  descriptor.writeUInt32LE(entry.size, 12);
  return descriptor;
}

function writeZip(model: ZipModel): Buffer {
  const parts: Buffer[] = [model.before];
  let offset = model.before.length;
  const offsets: number[] = [];
  for (const entry of model.entries) {
    if (entry.sameLocalAs !== undefined) {
      offsets.push(offsets[entry.sameLocalAs] ?? 0);
      continue;
    }
    offsets.push(offset);
    const descriptor = entry.flags & 8 ? (entry.descriptor.length ? entry.descriptor : descriptorOf(entry)) : Buffer.alloc(0);
    for (const part of [localRecord(entry), entry.data, descriptor, entry.after]) {
      parts.push(part);
      offset += part.length;
    }
  }
  const centralStart = offset;
  model.entries.forEach((entry, index) => {
    const header = Buffer.alloc(46);
    header.writeUInt32LE(0x02014b50, 0);
    header.writeUInt16LE(entry.madeBy, 4);
    header.writeUInt16LE(entry.needed, 6);
    header.writeUInt16LE(entry.flags, 8);
    header.writeUInt16LE(entry.method, 10);
    header.writeUInt16LE(entry.time, 12);
    header.writeUInt16LE(entry.date, 14);
    header.writeUInt32LE(entry.crc, 16);
    header.writeUInt32LE(entry.compressedSize, 20);
    header.writeUInt32LE(entry.size, 24);
    header.writeUInt16LE(entry.name.length, 28);
    header.writeUInt16LE(entry.centralExtra.length, 30);
    header.writeUInt16LE(entry.comment.length, 32);
    header.writeUInt16LE(entry.internalAttributes, 36);
    header.writeUInt32LE(entry.externalAttributes >>> 0, 38);
    header.writeUInt32LE(offsets[index] ?? 0, 42);
    for (const part of [header, entry.name, entry.centralExtra, entry.comment]) {
      parts.push(part);
      offset += part.length;
    }
  });
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(model.entries.length, 8);
  end.writeUInt16LE(model.entries.length, 10);
  end.writeUInt32LE(offset - centralStart, 12);
  end.writeUInt32LE(centralStart, 16);
  end.writeUInt16LE(model.comment.length, 20);
  parts.push(end, model.comment, model.after);
  return Buffer.concat(parts);
}

function extraField(id: number, body: Buffer): Buffer {
  const header = Buffer.alloc(4);
  header.writeUInt16LE(id, 0);
  header.writeUInt16LE(body.length, 2);
  return Buffer.concat([header, body]);
}

function u16(value: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(value & 0xffff);
  return b;
}

function u32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(value >>> 0);
  return b;
}

/** Makes the entry stored (method 0), so its data can be changed byte for byte. */
function stored(entry: ZipEntry): void {
  if (entry.method === 8) entry.data = inflateRawSync(entry.data);
  entry.method = 0;
  entry.compressedSize = entry.size = entry.data.length;
  entry.crc = crc32(entry.data);
  entry.descriptor = Buffer.alloc(0);
}

function setName(entry: ZipEntry, name: Buffer): void {
  entry.name = name;
  entry.localName = Buffer.from(name);
}

const S_IFLNK = 0o120000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;

function mutateZip(bytes: Buffer, random: Random): [Buffer, string] {
  const model = parseZip(bytes);
  if (!model || model.entries.length === 0) return [Buffer.concat([bytes, Buffer.from('junk')]), 'trailing junk'];
  const index = random.int(model.entries.length);
  const entry = model.entries[index] as ZipEntry;
  const at = JSON.stringify(entry.name.toString('latin1'));
  const where = (): 'local' | 'central' | 'both' => random.pick(['local', 'central', 'both', 'both'] as const);
  const addExtra = (field: Buffer, place = where()): string => {
    if (place !== 'central') entry.localExtra = Buffer.concat([entry.localExtra, field]);
    if (place !== 'local') entry.centralExtra = Buffer.concat([entry.centralExtra, field]);
    return place;
  };
  const op = random.pick(['asi', 'xl', 'unicode', 'unicode', 'pkware', 'zip64', 'unknown', 'utf8', 'utf8', 'attributes', 'host', 'descriptor', 'descriptor', 'name', 'mismatch', 'duplicate', 'hidden', 'around'] as const);
  let what: string;
  switch (op) {
    case 'asi': {
      const mode = random.pick([S_IFLNK | 0o777, S_IFDIR | 0o755, S_IFREG | 0o644]);
      const link = Buffer.from(random.pick(TARGETS));
      const rest = Buffer.concat([u16(mode), u32(0), u16(0), u16(0), (mode & S_IFLNK) === S_IFLNK ? link : Buffer.alloc(0)]);
      const place = addExtra(extraField(0x756e, Buffer.concat([u32(crc32(rest)), rest])));
      what = `ASi extra field (mode ${mode.toString(8)}${(mode & 0o170000) === S_IFLNK ? ` → ${JSON.stringify(link.toString())}` : ''}) in ${place}`;
      break;
    }
    case 'xl': {
      const place = addExtra(extraField(0x6c78, Buffer.from(random.pick(['src/main.py', '\x00\x01', 'xl']))));
      what = `'xl' extra field 0x6c78 in ${place}`;
      break;
    }
    case 'unicode': {
      const version = random.pick([1, 1, 0, 2]);
      const right = random.chance(0.7);
      const name = nameBytes(random);
      const body = Buffer.concat([Buffer.from([version]), u32(right ? crc32(entry.name) : crc32(entry.name) ^ 1), name]);
      const place = addExtra(extraField(0x7075, body));
      what = `Unicode path extra field v${version}, ${right ? 'right' : 'wrong'} CRC, ${JSON.stringify(name.toString('latin1'))} in ${place}`;
      break;
    }
    case 'pkware': {
      const link = Buffer.from(random.pick(TARGETS));
      const place = addExtra(extraField(0x000d, Buffer.concat([u32(0), u32(0), u16(0), u16(0), link])));
      what = `PKWARE Unix extra field 0x000d with link ${JSON.stringify(link.toString())} in ${place}`;
      break;
    }
    case 'zip64': {
      const size = random.pick([entry.size, entry.size + 1, 0]);
      const place = addExtra(extraField(0x0001, Buffer.concat([u32(size), u32(0), u32(entry.compressedSize), u32(0)])));
      what = `zip64 extra field (size ${size}) in ${place}`;
      break;
    }
    case 'unknown': {
      const id = random.pick([0x1234, 0xcafe, 0x5455, 0x7875, 0x000a, 0x9901, 0x4453]);
      const place = addExtra(extraField(id, Buffer.from(Array.from({ length: random.int(12) }, () => random.int(256)))));
      what = `extra field 0x${id.toString(16).padStart(4, '0')} in ${place}`;
      break;
    }
    case 'utf8': {
      const name = entry.name.toString('latin1');
      const high = random.pick([0xff, 0xe9, 0x80, 0xc3, 0x81]);
      const changed = random.chance(0.6) ? Buffer.concat([Buffer.from(name.replace(/\/?$/, (slash) => '')), Buffer.from([high]), Buffer.from(name.endsWith('/') ? '/' : '')]) : entry.name;
      setName(entry, changed);
      entry.flags ^= random.chance(0.5) ? 0x800 : 0;
      what = `name ${JSON.stringify(changed.toString('latin1'))}, UTF-8 flag ${entry.flags & 0x800 ? 'on' : 'off'}`;
      break;
    }
    case 'attributes': {
      const mode = random.pick([S_IFLNK | 0o777, S_IFDIR | 0o755, S_IFREG | 0o644, 0]);
      entry.externalAttributes = ((mode << 16) | (mode === (S_IFDIR | 0o755) ? 0x10 : 0)) >>> 0;
      entry.madeBy = (3 << 8) | (entry.madeBy & 0xff);
      what = `external attributes mode ${mode.toString(8)} (host Unix)`;
      break;
    }
    case 'host': {
      const host = random.pick([0, 3, 11, 19, 10, 14]);
      entry.madeBy = (host << 8) | (entry.madeBy & 0xff);
      what = `host byte ${host}`;
      break;
    }
    case 'descriptor': {
      // A stored entry whose data holds a record shaped like its data descriptor, with the right CRC of what precedes it.
      stored(entry);
      const cut = random.int(entry.data.length + 1);
      const head = entry.data.subarray(0, cut);
      const shaped = Buffer.concat([u32(0x08074b50), u32(crc32(head)), u32(head.length), u32(head.length)]);
      entry.data = Buffer.concat([head, shaped, entry.data.subarray(cut)]);
      entry.compressedSize = entry.size = entry.data.length;
      entry.crc = crc32(entry.data);
      if (random.chance(0.6)) entry.flags |= 8;
      what = `stored data holding a data descriptor for its first ${cut} bytes${entry.flags & 8 ? ', flag bit 3 set' : ''}`;
      break;
    }
    case 'name': {
      const name = entry.name.toString('latin1');
      const how = random.pick(['trailing slash', 'backslash', 'dot', 'replaced'] as const);
      const next = how === 'trailing slash' ? `${name}/` : how === 'backslash' ? name.replace(/\//g, '\\') : how === 'dot' ? `./${name}` : nameBytes(random).toString('latin1');
      setName(entry, Buffer.from(next, 'latin1'));
      what = `name ${how} (${JSON.stringify(next)})`;
      break;
    }
    case 'mismatch': {
      entry.localName = nameBytes(random);
      what = `local name ${JSON.stringify(entry.localName.toString('latin1'))}`;
      break;
    }
    case 'duplicate': {
      const copy = { ...entry, sameLocalAs: index };
      if (random.chance(0.5)) copy.name = nameBytes(random);
      model.entries.push(copy);
      what = `second central record (${JSON.stringify(copy.name.toString('latin1'))}) for the same local record`;
      break;
    }
    case 'hidden': {
      const hidden: ZipEntry = { ...entry, name: Buffer.from('pkg/hidden.txt'), localName: Buffer.from('pkg/hidden.txt'), localExtra: Buffer.alloc(0), flags: 0, method: 0, data: Buffer.from('hidden'), descriptor: Buffer.alloc(0), after: Buffer.alloc(0) };
      hidden.crc = crc32(hidden.data);
      hidden.size = hidden.compressedSize = hidden.data.length;
      entry.after = Buffer.concat([entry.after, localRecord(hidden), hidden.data]);
      what = `a local record the central directory does not name`;
      break;
    }
    case 'around': {
      const how = random.pick(['before', 'after', 'comment'] as const);
      if (how === 'before') model.before = Buffer.concat([Buffer.from('#!/bin/sh\nexit 0\n'), model.before]);
      else if (how === 'after') model.after = Buffer.concat([model.after, Buffer.from('junk after the end')]);
      else model.comment = Buffer.from('PK\x05\x06 comment', 'latin1');
      return [writeZip(model), `bytes ${how === 'comment' ? 'in the comment' : `${how} the archive`}`];
    }
  }
  return [writeZip(model), `${what} at ${at}`];
}

/** `count` mutants from `bases`, the same for the same seed. */
export function* mutants(bases: Base[], seed: number, count: number): Generator<Mutant> {
  const random = new Random(seed);
  for (let index = 0; index < count; index++) {
    const base = random.pick(bases);
    let bytes = base.bytes;
    const mutations: string[] = [];
    const n = random.pick([1, 1, 1, 2, 2, 3]);
    for (let i = 0; i < n; i++) {
      const [next, what] = base.format === 'tar' ? mutateTar(bytes, random) : mutateZip(bytes, random);
      bytes = next;
      mutations.push(what);
    }
    yield { id: `${base.name} #${index}`, base: base.name, format: base.format, mutations, bytes };
  }
}

// ---------------------------------------------------------------- named recipes

/**
 * The shapes known to be read differently by some extractor, each made on purpose (the random
 * mutants reach most of them only by chance): every run checks each of them.
 */
export function recipes(bases: Base[]): Mutant[] {
  const base = (name: string): Base => {
    const found = bases.find((b) => b.name === name);
    if (!found) throw new Error(`no base archive ${name}`);
    return found;
  };
  const made: Mutant[] = [];
  const add = (from: Base, what: string, bytes: Buffer): void => {
    made.push({ id: `recipe "${what}"`, base: from.name, format: from.format, mutations: [what], bytes });
  };

  // ---- tar
  const ustar = base('GNU tar --format=ustar');
  const headerOf = (data: Buffer, name: string): TarHeader => {
    const found = tarHeaders(data).headers.find((h) => h.name.toString('latin1') === name);
    if (!found) throw new Error(`no header ${name}`);
    return found;
  };
  /** `data` with the header named `name` changed by `change` (checksum recomputed). */
  const withHeader = (data: Buffer, name: string, change: (block: Buffer) => void, signed = false): Buffer => {
    const { offset } = headerOf(data, name);
    const copy = Buffer.from(data);
    const block = copy.subarray(offset, offset + BLOCK);
    change(block);
    setChecksum(block, signed);
    return copy;
  };
  const setName = (block: Buffer, name: string): void => {
    block.fill(0, 0, 100);
    block.write(name, 0, 'latin1');
  };
  const before = (data: Buffer, name: string, inserted: Buffer): Buffer => {
    const { offset } = headerOf(data, name);
    return Buffer.concat([data.subarray(0, offset), inserted, data.subarray(offset)]);
  };
  const pax = (records: [string, string, RecordShape?][], type: 'x' | 'g' = 'x'): Buffer =>
    extendedHeader(type, Buffer.concat(records.map(([k, v, shape]) => paxRecord(k, Buffer.from(v, 'latin1'), shape ?? 'well'))));

  for (const type of ['7', '\0']) {
    add(ustar, `type ${JSON.stringify(type)} file named with a trailing "/" and carrying data`, withHeader(ustar.bytes, 'pkg/app_desc.yaml', (b) => {
      b.write(type, 156, 'latin1');
      setName(b, 'pkg/app_desc.yaml/');
    }));
  }
  const slashNamed = withHeader(ustar.bytes, 'pkg/app_desc.yaml', (b) => {
    b.write('\0', 156, 'latin1');
    setName(b, 'pkg/x/');
  });
  add(ustar, 'type "\\0" entry named "pkg/x/", renamed "pkg/x" by a pax path', before(slashNamed, 'pkg/x/', pax([['path', 'pkg/x']])));
  add(ustar, 'type "\\0" entry named "pkg/x/", renamed "pkg/x" by a GNU long name', before(slashNamed, 'pkg/x/', extendedHeader('L', Buffer.from('pkg/x\0'))));
  add(ustar, 'GNU long name with a trailing "/" over a file with data', before(ustar.bytes, 'pkg/app_desc.yaml', extendedHeader('L', Buffer.from('pkg/src/long/\0'))));
  for (const shape of ['two-spaces', 'nul-in-keyword', 'nul-in-value', 'leading-zeros', 'length-short'] as const) {
    add(ustar, `pax path record written ${shape}`, before(ustar.bytes, 'pkg/README', pax([['path', 'pkg/renamed.txt', shape]])));
  }
  add(ustar, 'pax comment record of 1,000,000 bytes', before(ustar.bytes, 'pkg/README', pax([['comment', 'x', 'huge'], ['path', 'pkg/renamed.txt']])));
  add(ustar, 'pax GNU.sparse.name renaming a file', before(ustar.bytes, 'pkg/README', pax([['GNU.sparse.name', 'pkg/sparse-name.txt']])));
  add(ustar, 'pax GNU.sparse.realsize in a global header', before(ustar.bytes, 'pkg/', pax([['GNU.sparse.realsize', '5']], 'g')));
  add(ustar, 'pax GNU.sparse 1.0 keywords on a plain file', before(ustar.bytes, 'pkg/app_desc.yaml', pax([['GNU.sparse.major', '1'], ['GNU.sparse.minor', '0'], ['GNU.sparse.name', 'pkg/app_desc.yaml'], ['GNU.sparse.realsize', '10']])));
  add(ustar, 'pax SCHILY.realsize on app_desc.yaml', before(ustar.bytes, 'pkg/app_desc.yaml', pax([['SCHILY.realsize', '5']])));
  add(ustar, 'pax size record smaller than the data', before(ustar.bytes, 'pkg/app_desc.yaml', pax([['size', '5']])));
  add(ustar, 'pax hdrcharset=BINARY with a path that is not UTF-8', before(ustar.bytes, 'pkg/README', pax([['hdrcharset', 'BINARY'], ['path', 'pkg/READ\xffME']])));
  add(ustar, 'pax LIBARCHIVE.symlinktype=dir on a link', before(ustar.bytes, 'pkg/link', pax([['LIBARCHIVE.symlinktype', 'dir']])));
  add(ustar, 'pax linkpath on a regular file', before(ustar.bytes, 'pkg/README', pax([['linkpath', 'src/main.py']])));
  add(ustar, 'pax path in a global header', before(ustar.bytes, 'pkg/README', pax([['path', 'pkg/global.txt']], 'g')));
  add(ustar, 'magic removed (a V7 header) with a prefix field', withHeader(ustar.bytes, 'pkg/README', (b) => {
    b.fill(0, 257, 345);
    b.write('pre', 345, 'latin1');
  }));
  add(ustar, 'checksum over signed bytes', withHeader(ustar.bytes, 'pkg/README', (b) => b.write('r\u00f6\u00f6t', 265, 'latin1'), true));
  add(ustar, 'a tar header inside a file, uncovered by a size one block short', withHeader(
    (() => {
      const copy = Buffer.from(ustar.bytes);
      tarHeader(Buffer.from('pkg/embedded.txt'), '0', 5).copy(copy, headerOf(copy, 'pkg/hard').offset + BLOCK);
      return copy;
    })(), 'pkg/hard', (b) => octal(0, 12).copy(b, 124)));

  // ---- zip
  const zipY = base('Info-ZIP zip -r -y');
  const pyStored = base('Python zipfile stored');
  const edit = (from: Base, what: string, change: (model: ZipModel, named: (name: string) => ZipEntry) => void): void => {
    const model = parseZip(from.bytes);
    if (!model) throw new Error(`cannot parse ${from.name}`);
    const named = (name: string): ZipEntry => {
      const entry = model.entries.find((e) => e.name.toString('latin1') === name);
      if (!entry) throw new Error(`no entry ${name} in ${from.name}`);
      return entry;
    };
    change(model, named);
    add(from, what, writeZip(model));
  };
  const both = (entry: ZipEntry, field: Buffer): void => {
    entry.localExtra = Buffer.concat([entry.localExtra, field]);
    entry.centralExtra = Buffer.concat([entry.centralExtra, field]);
  };
  const asiBody = (mode: number, link: string): Buffer => {
    const rest = Buffer.concat([u16(mode), u32(0), u16(0), u16(0), Buffer.from(link)]);
    return Buffer.concat([u32(crc32(rest)), rest]);
  };
  edit(pyStored, 'ASi extra field with a link mode on a file', (_, named) => both(named('pkg/README'), extraField(0x756e, asiBody(S_IFLNK | 0o777, 'app_desc.yaml'))));
  edit(pyStored, "'xl' extra field 0x6c78 on a file", (_, named) => both(named('pkg/README'), extraField(0x6c78, Buffer.from('app_desc.yaml'))));
  edit(pyStored, 'PKWARE Unix extra field 0x000d with a link target on a file', (_, named) => both(named('pkg/README'), extraField(0x000d, Buffer.concat([u32(0), u32(0), u16(0), u16(0), Buffer.from('app_desc.yaml')]))));
  for (const version of [0, 1, 2]) {
    for (const right of [true, false]) {
      edit(pyStored, `Unicode path field v${version}, ${right ? 'right' : 'wrong'} CRC, renaming a file`, (_, named) => {
        const entry = named('pkg/README');
        both(entry, extraField(0x7075, Buffer.concat([Buffer.from([version]), u32(right ? crc32(entry.name) : crc32(entry.name) ^ 1), Buffer.from('pkg/renamed.txt')])));
      });
    }
  }
  edit(pyStored, 'Unicode path field v1 moving a link to the root', (_, named) => {
    const entry = named('pkg/link');
    both(entry, extraField(0x7075, Buffer.concat([Buffer.from([1]), u32(crc32(entry.name)), Buffer.from('link')])));
  });
  edit(pyStored, 'link named in CP437 bytes without the UTF-8 flag', (_, named) => {
    const entry = named('pkg/link');
    entry.name = entry.localName = Buffer.from('pkg/l\x81nk', 'latin1');
    entry.flags &= ~0x800;
  });
  edit(pyStored, 'link named in bytes that are not UTF-8 under the UTF-8 flag', (_, named) => {
    const entry = named('pkg/link');
    entry.name = entry.localName = Buffer.from('pkg/l\xffnk', 'latin1');
    entry.flags |= 0x800;
  });
  edit(pyStored, 'file with a link mode in its external attributes', (_, named) => {
    const entry = named('pkg/app_desc.yaml');
    entry.externalAttributes = ((S_IFLNK | 0o777) << 16) >>> 0;
    entry.madeBy = (3 << 8) | (entry.madeBy & 0xff);
  });
  edit(pyStored, 'file with a directory mode in its external attributes, no trailing slash', (_, named) => {
    const entry = named('pkg/README');
    entry.externalAttributes = (((S_IFDIR | 0o755) << 16) | 0x10) >>> 0;
    entry.madeBy = (3 << 8) | (entry.madeBy & 0xff);
  });
  for (const deferred of [true, false]) {
    edit(pyStored, `stored data holding a data descriptor with the right CRC${deferred ? ', flag bit 3 set' : ''}`, (_, named) => {
      const entry = named('pkg/src/main.py');
      const head = entry.data.subarray(0, 100);
      const shaped = Buffer.concat([u32(0x08074b50), u32(crc32(head)), u32(head.length), u32(head.length)]);
      const hidden: ZipEntry = { ...entry, name: Buffer.from('pkg/hidden.txt'), localName: Buffer.from('pkg/hidden.txt'), localExtra: Buffer.alloc(0), flags: 0, data: Buffer.from('hidden'), descriptor: Buffer.alloc(0), after: Buffer.alloc(0) };
      hidden.crc = crc32(hidden.data);
      hidden.size = hidden.compressedSize = hidden.data.length;
      entry.data = Buffer.concat([head, shaped, localRecord(hidden), hidden.data, entry.data.subarray(100)]);
      entry.compressedSize = entry.size = entry.data.length;
      entry.crc = crc32(entry.data);
      if (deferred) entry.flags |= 8;
    });
  }
  edit(zipY, 'local and central names that differ', (_, named) => {
    named('pkg/README').localName = Buffer.from('pkg/README.local');
  });
  edit(zipY, 'a local record the central directory does not name, between entries', (_, named) => {
    const entry = named('pkg/README');
    const hidden: ZipEntry = { ...entry, name: Buffer.from('pkg/hidden.txt'), localName: Buffer.from('pkg/hidden.txt'), localExtra: Buffer.alloc(0), flags: 0, method: 0, data: Buffer.from('hidden'), descriptor: Buffer.alloc(0), after: Buffer.alloc(0) };
    hidden.crc = crc32(hidden.data);
    hidden.size = hidden.compressedSize = hidden.data.length;
    entry.after = Buffer.concat([localRecord(hidden), hidden.data]);
  });
  return made;
}
