/**
 * An app description's YAML to plain JSON data, safely and in time linear in its
 * size: the `yaml` package with the YAML 1.2 core schema, no custom tags, merge keys (`<<`, as
 * PyYAML reads them), aliases expanded at most MAX_ALIAS_COUNT times (a "billion laughs" stops
 * there). Where that library's own work grows faster than the text, the cause is refused first:
 * a lexer pass (linear) bounds the nesting that would make its parser recurse or allocate per
 * level, and duplicate keys are found here with a set per mapping (its own check compares every
 * key with every other: minutes for a 1 MiB mapping).
 *
 * Refused, as PyYAML's safe loader would refuse them or as JSON cannot hold them: syntax errors,
 * several documents, tags beyond the core ones, keys that are not scalars, a key given twice,
 * a document that is not a mapping, more than MAX_DEPTH levels of nesting.
 */
import { CST, isAlias, isMap, isScalar, isSeq, Lexer, parseDocument, type Document, type Node } from 'yaml';
import { quote } from './archive-safety';
import { InvalidPackageFormatError } from '../core/errors';

/** Expansions of aliases (weighted by the aliases inside what they name); a billion laughs needs millions. */
export const MAX_ALIAS_COUNT = 16;
/** Levels of collections inside collections; app descriptions use a handful. */
export const MAX_DEPTH = 64;
/** The parsed document as JSON: it is stored beside the package and served inline (Lambda answers at most 6 MB). */
export const MAX_META_INFO_JSON_BYTES = 2 * 1024 * 1024;

const CORE_TAGS = new Set(
  ['str', 'int', 'float', 'bool', 'null', 'map', 'seq'].map((name) => `tag:yaml.org,2002:${name}`),
);

export interface ParsedYaml {
  /** The document as plain JSON data (a mapping). */
  data: Record<string, unknown>;
  /** `data` serialised, at most MAX_META_INFO_JSON_BYTES. */
  json: string;
  /** Top-level numbers as written (`1.10`, not 1.1): a version written unquoted keeps its digits. */
  numbersAsWritten: Map<string, string>;
}

class YamlRefusal extends Error {}

/** The problem at `offset` of `text`, with its line and column (1-based), as an editor shows them. */
function refusal(message: string, text: string, offset: number | undefined): YamlRefusal {
  if (offset === undefined) return new YamlRefusal(message);
  let line = 1;
  let lineStart = 0;
  for (let at = text.indexOf('\n'); at !== -1 && at < offset; at = text.indexOf('\n', at + 1)) {
    line += 1;
    lineStart = at + 1;
  }
  return new YamlRefusal(`${message} (line ${line}, column ${offset - lineStart + 1})`);
}

/**
 * One pass of the lexer: flow collections nested deeper than MAX_DEPTH, or more than MAX_DEPTH
 * block indicators (`-`, `?`, `:`) on one line (`- - - - …` nests without indenting), are
 * refused before the parser builds anything. Other nesting needs indentation, which a 1 MiB
 * file can only give to about 1,400 levels, and the parser reports what overflows its stack.
 */
// The lexer's own markers (document start, scalar start, flow error end): not characters of the text.
const LEXER_MARKERS = new Set(['\x02', '\x18', '\x1f']);

function checkNesting(text: string): void {
  let flowDepth = 0;
  let onLine = 0;
  let offset = 0;
  for (const token of new Lexer().lex(text)) {
    switch (CST.tokenType(token)) {
      case 'flow-map-start':
      case 'flow-seq-start':
        flowDepth += 1;
        if (flowDepth > MAX_DEPTH) throw refusal(`flow collections are nested more than ${MAX_DEPTH} levels deep`, text, offset);
        break;
      case 'flow-map-end':
      case 'flow-seq-end':
        flowDepth = Math.max(0, flowDepth - 1);
        break;
      case 'newline':
        onLine = 0;
        break;
      case 'seq-item-ind':
      case 'explicit-key-ind':
      case 'map-value-ind':
        if (flowDepth === 0 && ++onLine > MAX_DEPTH) {
          throw refusal(`more than ${MAX_DEPTH} collections start on one line`, text, offset);
        }
        break;
      default:
    }
    if (!LEXER_MARKERS.has(token)) offset += token.length;
  }
}

/** The JavaScript key `toJS` would give a scalar key. */
function keyText(value: unknown): string {
  return value === null || value === undefined ? '' : String(value);
}

/**
 * Walks the document without recursion: tags, keys, depth. Collects the top-level numbers'
 * source text on the way.
 */
function checkTree(doc: Document, text: string): Map<string, string> {
  const numbersAsWritten = new Map<string, string>();
  const stack: { node: Node | null | undefined; depth: number }[] = [{ node: doc.contents as Node | null, depth: 1 }];
  while (stack.length > 0) {
    const { node, depth } = stack.pop() ?? { node: undefined, depth: 0 };
    if (!node || isAlias(node)) continue;
    const offset = node.range?.[0];
    if (node.tag !== undefined && !CORE_TAGS.has(node.tag)) throw refusal(`the tag ${node.tag} is not accepted`, text, offset);
    if (isScalar(node)) continue;
    if (depth > MAX_DEPTH) throw refusal(`collections are nested more than ${MAX_DEPTH} levels deep`, text, offset);
    if (isSeq(node)) {
      for (const item of node.items) stack.push({ node: item as Node, depth: depth + 1 });
      continue;
    }
    if (!isMap(node)) continue;
    const keys = new Set<string>();
    for (const pair of node.items) {
      const key = pair.key as Node | null;
      const keyOffset = key?.range?.[0] ?? offset;
      if (isAlias(key)) throw refusal('an alias as a mapping key is not accepted', text, keyOffset);
      if (key !== null && !isScalar(key)) throw refusal('a mapping key must be a scalar, not a collection', text, keyOffset);
      if (key?.tag !== undefined && !CORE_TAGS.has(key.tag)) throw refusal(`the tag ${key.tag} is not accepted`, text, keyOffset);
      // A merge key (<<) brings keys in; the mapping's own keys win over merged ones, by design.
      if (typeof key?.value !== 'symbol') {
        const name = keyText(key?.value);
        if (keys.has(name)) throw refusal(`the key ${JSON.stringify(name)} is given twice`, text, keyOffset);
        keys.add(name);
        const value = pair.value as Node | null;
        if (depth === 1 && isScalar(value) && typeof value.value === 'number' && value.range) {
          numbersAsWritten.set(name, text.slice(value.range[0], value.range[1]));
        }
      }
      stack.push({ node: pair.value as Node | null, depth: depth + 1 });
    }
  }
  return numbersAsWritten;
}

function parse(text: string): ParsedYaml {
  checkNesting(text);
  const doc = parseDocument(text, {
    schema: 'core',
    customTags: [],
    merge: true,
    // Checked in checkTree, in linear time.
    uniqueKeys: false,
    prettyErrors: false,
  });
  const problem = doc.errors[0] ?? doc.warnings[0];
  if (problem) throw refusal(problem.message.replace(/[.:]?\s*$/, ''), text, problem.pos[0]);
  const numbersAsWritten = checkTree(doc, text);
  const data: unknown = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  if (data === null || data === undefined) throw new YamlRefusal('the document is empty; an app description is a YAML mapping');
  if (typeof data !== 'object' || Array.isArray(data)) throw new YamlRefusal('the document is not a mapping (key: value)');
  const json = JSON.stringify(data);
  const bytes = Buffer.byteLength(json);
  if (bytes > MAX_META_INFO_JSON_BYTES) {
    throw new YamlRefusal(`it expands to ${bytes} bytes of JSON; the limit is ${MAX_META_INFO_JSON_BYTES}`);
  }
  return { data: data as Record<string, unknown>, json, numbersAsWritten };
}

/** The YAML of the entry `name`; refused with 422 INVALID_PACKAGE_FORMAT naming the file and the problem. */
export function parseAppDescYaml(bytes: Buffer, name: string): ParsedYaml {
  const invalid = (why: string): InvalidPackageFormatError =>
    new InvalidPackageFormatError(`The app description ${quote(name)} is not valid YAML: ${why}.`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw invalid('it is not UTF-8 text');
  }
  try {
    return parse(text);
  } catch (error) {
    if (error instanceof YamlRefusal) throw invalid(error.message);
    // The yaml package's resource guard (ReferenceError), or a stack overflow past the checks above.
    if (error instanceof ReferenceError && /excessive alias count/i.test(error.message)) {
      throw invalid(`its aliases expand more than ${MAX_ALIAS_COUNT} times (a "billion laughs" document)`);
    }
    if (error instanceof RangeError) throw invalid('it is nested too deeply');
    if (error instanceof ReferenceError) throw invalid(error.message);
    throw error;
  }
}
