/**
 * The pax extended header (POSIX.1-2001 `pax` format) as every mainstream reader takes it the same
 * way. The format lets a record say almost anything, and readers differ at the edges: Python's
 * tarfile takes a keyword up to `=` whatever it holds, GNU tar and libarchive cut keywords and
 * values at a NUL, older libarchive drops a whole header with a record of a million bytes or
 * more, and each knows its own vendor keywords (`GNU.sparse.*` renames or resizes an entry for
 * GNU tar and libarchive only). So a record is accepted only in the shape all of them read alike,
 * and a keyword only from a list whose meaning is the same everywhere or changes nothing that is
 * written (docs/api.md, "Archives"); anything else is refused naming the keyword.
 */
import { isUtf8 } from 'node:buffer';

/** What a record or keyword breaks, for the refusal's sentence. */
export type PaxFault = { fault: string };

/** Lengths of six digits at most: libarchive before 3.7 ignores a whole header holding a longer record. */
const RECORD_LENGTH = /^[1-9][0-9]{0,5}$/;
/** A keyword: visible ASCII but `=`, as POSIX defines them (xattr names are URL-encoded by libarchive). */
const KEYWORD = /^[\x21-\x3c\x3e-\x7e]+$/;

const DECIMAL = /^[0-9]{1,19}$/;
const TIME = /^-?[0-9]{1,19}(\.[0-9]{1,19})?$/;
const UTF8_ONLY = 'ISO-IR 10646 2000 UTF-8';

type ValueRule = 'name' | 'decimal' | 'time' | 'text' | 'binary' | 'utf8-charset';

/** Keywords that every reader applies the same way, or that change only metadata, with their values' grammar. */
const ENTRY_KEYWORDS = new Map<string, ValueRule>([
  ['path', 'name'],
  ['linkpath', 'name'],
  ['size', 'decimal'],
  ['mtime', 'time'],
  ['atime', 'time'],
  ['ctime', 'time'],
  ['uid', 'decimal'],
  ['gid', 'decimal'],
  ['uname', 'text'],
  ['gname', 'text'],
  ['comment', 'text'],
  ['hdrcharset', 'utf8-charset'],
  // bsdtar and star: device and inode numbers, hard-link counts, BSD file flags, creation time.
  ['SCHILY.dev', 'decimal'],
  ['SCHILY.ino', 'decimal'],
  ['SCHILY.nlink', 'decimal'],
  ['SCHILY.fflags', 'text'],
  ['LIBARCHIVE.creationtime', 'time'],
  // Windows tar.exe (libarchive) makes a file or directory symbolic link by it: the target is the same.
  ['LIBARCHIVE.symlinktype', 'text'],
  // ACLs as GNU tar --acls and bsdtar write them, and GNU tar --selinux's context.
  ['SCHILY.acl.access', 'text'],
  ['SCHILY.acl.default', 'text'],
  ['SCHILY.acl.ace', 'text'],
  ['RHT.security.selinux', 'text'],
]);

/** In a global header only what cannot rename, resize or retype an entry for any reader. */
const GLOBAL_KEYWORDS = new Set(['mtime', 'atime', 'ctime', 'uid', 'gid', 'uname', 'gname', 'comment', 'hdrcharset']);

/** Extended attributes: bsdtar as root restores them by default, so none that grants privileges. */
const XATTR_PREFIXES = ['SCHILY.xattr.', 'LIBARCHIVE.xattr.'];
const PRIVILEGED_XATTRS = /^(security\.capability$|trusted\.|system\.)/;

export type PaxRecords = Map<string, Buffer>;

/** Keywords by which GNU tar and libarchive rename or resize a sparse file; Python ignores them. */
export function isSparseKeyword(keyword: string): boolean {
  return keyword.startsWith('GNU.sparse.') || keyword === 'SCHILY.realsize' || keyword === 'SCHILY.offset';
}

/**
 * The records of a pax extended header ("<length> <keyword>=<value>\n", the length counting the
 * whole record), or the fault that makes it one that readers split differently. The header's size
 * ends exactly at the last record's newline.
 */
export function parsePax(bytes: Buffer): PaxRecords | PaxFault {
  const records: PaxRecords = new Map();
  for (let offset = 0; offset < bytes.length; ) {
    // Nothing after the last record, not even NUL padding: libarchive refuses the whole header then.
    if (bytes[offset] === 0) return { fault: 'NUL bytes after its last record' };
    const space = bytes.indexOf(0x20, offset);
    const lengthText = space === -1 ? '' : bytes.toString('latin1', offset, space);
    if (!RECORD_LENGTH.test(lengthText)) {
      return { fault: `a record length that is not 1 to 6 decimal digits without leading zeros then one space (${JSON.stringify(bytes.toString('latin1', offset, Math.min(offset + 12, bytes.length)))})` };
    }
    const end = offset + Number(lengthText);
    if (end > bytes.length || end <= space + 1 || bytes[end - 1] !== 0x0a) return { fault: 'a record whose length does not end at its newline' };
    const record = bytes.subarray(space + 1, end - 1);
    const equals = record.indexOf(0x3d);
    const keyword = equals <= 0 ? '' : record.toString('latin1', 0, equals);
    if (!KEYWORD.test(keyword)) {
      return { fault: `a keyword that is not visible ASCII (${JSON.stringify(record.toString('latin1', 0, Math.min(Math.max(equals, 0), 40)))})` };
    }
    if (records.has(keyword)) return { fault: `the keyword "${keyword}" twice (readers disagree on which one counts)` };
    records.set(keyword, record.subarray(equals + 1));
    offset = end;
  }
  return records;
}

function isXattr(keyword: string): string | undefined {
  const prefix = XATTR_PREFIXES.find((candidate) => keyword.startsWith(candidate));
  if (prefix === undefined) return undefined;
  const name = keyword.slice(prefix.length);
  return prefix === 'LIBARCHIVE.xattr.' ? decodeURIComponentSafely(name) : name;
}

function decodeURIComponentSafely(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function valueFault(rule: ValueRule, value: Buffer): string | undefined {
  if (rule !== 'binary' && value.includes(0)) return 'a NUL in its value (GNU tar and libarchive cut the value there, Python does not)';
  const text = value.toString('latin1');
  switch (rule) {
    case 'name':
      if (value.length === 0) return 'an empty value';
      return isUtf8(value) ? undefined : 'a value that is not UTF-8 (pax names are UTF-8; readers decode other bytes differently)';
    case 'decimal':
      return DECIMAL.test(text) ? undefined : 'a value that is not a decimal number';
    case 'time':
      return TIME.test(text) ? undefined : 'a value that is not a decimal time';
    case 'utf8-charset':
      return text === UTF8_ONLY ? undefined : `a value other than "${UTF8_ONLY}" (readers decode names in other charsets differently)`;
    case 'text':
    case 'binary':
      return undefined;
  }
}

/**
 * Why a keyword and its value are not accepted in an entry's (`x`) or the global (`g`) header,
 * or undefined when they are.
 */
export function paxRecordFault(keyword: string, value: Buffer, global: boolean): string | undefined {
  const xattr = isXattr(keyword);
  if (xattr !== undefined) {
    if (global) return 'an extended attribute in a global header (readers disagree on whether it applies to every entry)';
    if (xattr === '') return 'an extended attribute without a name';
    if (PRIVILEGED_XATTRS.test(xattr)) {
      return `the extended attribute "${xattr}", which bsdtar running as root restores and which grants privileges`;
    }
    return undefined;
  }
  if (global && !GLOBAL_KEYWORDS.has(keyword)) {
    return ENTRY_KEYWORDS.has(keyword)
      ? 'a keyword that renames, resizes or retypes entries in a global header (readers disagree on whether it applies to every entry)'
      : 'a keyword not on the accepted list';
  }
  const rule = ENTRY_KEYWORDS.get(keyword);
  if (rule === undefined) {
    if (isSparseKeyword(keyword)) {
      return 'a sparse-file keyword (GNU tar and libarchive rename or resize the entry by it, Python does not)';
    }
    return 'a keyword not on the accepted list (readers that know it apply it, the others ignore it)';
  }
  return valueFault(rule, value);
}
