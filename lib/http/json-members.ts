/**
 * The members of a JSON object text in order, duplicates included: JSON.parse keeps only the
 * last of two equal keys, so `{"version": "v1", "version": "v2"}` would pass for one field.
 * One pass over the text, no recursion: nested values are skipped by counting brackets, so the
 * cost stays linear in the body (at most MAX_REQUEST_BODY_BYTES) whatever its nesting.
 */

const WHITESPACE = new Set([' ', '\t', '\n', '\r']);

function skipWhitespace(text: string, at: number): number {
  while (at < text.length && WHITESPACE.has(text[at] ?? '')) at += 1;
  return at;
}

/** The index just past the string literal starting at `at` (a `"`). */
function endOfString(text: string, at: number): number {
  for (let i = at + 1; i < text.length; i += 1) {
    const char = text[i];
    if (char === '\\') i += 1;
    else if (char === '"') return i + 1;
  }
  return text.length;
}

/** The index just past the value starting at `at`: a string, or anything up to a `,` or `}` at depth 0. */
function endOfValue(text: string, at: number): number {
  let depth = 0;
  for (let i = at; i < text.length; ) {
    const char = text[i];
    if (char === '"') {
      i = endOfString(text, i);
      continue;
    }
    if (char === '{' || char === '[') depth += 1;
    else if (char === '}' || char === ']') {
      if (depth === 0) return i;
      depth -= 1;
    } else if (char === ',' && depth === 0) return i;
    i += 1;
  }
  return text.length;
}

/**
 * The members of `text`, which must be a JSON object (already checked with JSON.parse: this
 * walk trusts its syntax). Keys and values are decoded by JSON.parse, escapes included.
 */
export function jsonObjectMembers(text: string): [string, unknown][] {
  const members: [string, unknown][] = [];
  let at = skipWhitespace(text, 0) + 1; // past "{"
  for (;;) {
    at = skipWhitespace(text, at);
    if (text[at] !== '"') return members; // "}" of an empty object, or the end
    const keyEnd = endOfString(text, at);
    const key = JSON.parse(text.slice(at, keyEnd)) as string;
    at = skipWhitespace(text, skipWhitespace(text, keyEnd) + 1); // past ":"
    const valueEnd = endOfValue(text, at);
    members.push([key, JSON.parse(text.slice(at, valueEnd)) as unknown]);
    at = skipWhitespace(text, valueEnd);
    if (text[at] !== ',') return members;
    at += 1;
  }
}
