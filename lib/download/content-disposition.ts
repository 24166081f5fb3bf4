/**
 * The file name a download's `Content-Disposition` gives, read by RFC 6266's grammar: a
 * disposition type, then `; name=value` parameters, each value a token or a quoted string.
 * `filename*` (RFC 8187: `charset'language'percent-encoded`, UTF-8 or ISO-8859-1) wins over
 * `filename`; only `filename*` is percent-decoded, and its language is ignored. A header that
 * breaks the grammar, or names a parameter twice (RFC 6266 §4.1 calls that invalid), gives no
 * name at all: guessing which of two names the server meant is how a download gets misnamed.
 * The name comes back raw; `package-name.ts` sanitises it.
 */

/** tchar of RFC 9110 §5.6.2. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+/;
/** A quoted string's body: qdtext or quoted-pair, HTAB and obs-text allowed, no other control character. */
const QUOTED = /^"((?:[\t\x20\x21\x23-\x5B\x5D-\x7E\x80-\xFF]|\\[\t\x20-\x7E\x80-\xFF])*)"/;
/** RFC 8187's ext-value, whose value-chars are attr-char or a percent-encoded octet. */
const EXT_VALUE = /^([!#$%&+\-^_`{}~0-9A-Za-z]+)'(?:[A-Za-z0-9-]*)'((?:%[0-9A-Fa-f]{2}|[!#$&+\-.^_`|~0-9A-Za-z])*)$/;
const OWS = /^[ \t]*/;

/** The parameters of a well-formed header, names lower-cased; undefined for a malformed one. */
function dispositionParameters(header: string): Map<string, string> | undefined {
  let rest = header.replace(OWS, '');
  const type = TOKEN.exec(rest);
  if (!type) return undefined;
  rest = rest.slice(type[0].length).replace(OWS, '');
  const parameters = new Map<string, string>();
  while (rest !== '') {
    if (!rest.startsWith(';')) return undefined;
    rest = rest.slice(1).replace(OWS, '');
    // A trailing `;` is common and harmless.
    if (rest === '') break;
    const name = TOKEN.exec(rest);
    if (!name) return undefined;
    rest = rest.slice(name[0].length).replace(OWS, '');
    if (!rest.startsWith('=')) return undefined;
    rest = rest.slice(1).replace(OWS, '');
    const quoted = QUOTED.exec(rest);
    const token = quoted ? undefined : TOKEN.exec(rest);
    const value = quoted ? (quoted[1] ?? '').replace(/\\(.)/g, '$1') : token?.[0];
    if (value === undefined) return undefined;
    const key = name[0].toLowerCase();
    if (parameters.has(key)) return undefined;
    parameters.set(key, value);
    rest = rest.slice((quoted ?? token)?.[0].length ?? 0).replace(OWS, '');
  }
  return parameters;
}

/** An RFC 8187 ext-value decoded, or undefined when its form or charset is not understood. */
export function decodeExtValue(value: string): string | undefined {
  const parts = EXT_VALUE.exec(value);
  if (!parts) return undefined;
  const charset = (parts[1] ?? '').toLowerCase();
  const octets = Buffer.from((parts[2] ?? '').replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1');
  if (charset === 'iso-8859-1') return octets.toString('latin1');
  if (charset !== 'utf-8') return undefined;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(octets);
  } catch {
    return undefined;
  }
}

/**
 * The file names the header gives, best first: `filename*` decoded, then `filename`. Both are
 * kept because RFC 6266 §4.3 has servers send a UTF-8 `filename*` beside an ASCII `filename`
 * for readers that cannot use the first; a reader that cannot keep the first's letters takes the
 * second.
 */
export function contentDispositionFilenames(header: string | undefined): string[] {
  const parameters = header === undefined ? undefined : dispositionParameters(header);
  if (!parameters) return [];
  const extended = parameters.get('filename*');
  const decoded = extended === undefined ? undefined : decodeExtValue(extended);
  return [decoded, parameters.get('filename')].filter((name): name is string => Boolean(name));
}
