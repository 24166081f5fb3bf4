/**
 * The app description's YAML: what is read, and what is refused with 422 naming the
 * file — syntax errors, hostile shapes (a billion laughs, nesting that would make the parser
 * recurse a million levels), tags beyond the core schema, duplicate keys.
 */
import { describe, expect, it } from 'vitest';
import { MAX_ALIAS_COUNT, MAX_DEPTH, MAX_META_INFO_JSON_BYTES, parseAppDescYaml } from '../../../lib/archive/app-desc-yaml';
import { InvalidPackageFormatError } from '../../../lib/core/errors';

const NAME = 'app/app_desc.yaml';

function parse(text: string) {
  return parseAppDescYaml(Buffer.from(text), NAME);
}

/** The detail of the 422 for `text` (fails the test when it parses). */
function refusal(text: string | Buffer): string {
  try {
    parseAppDescYaml(Buffer.isBuffer(text) ? text : Buffer.from(text), NAME);
  } catch (error) {
    if (error instanceof InvalidPackageFormatError) return error.detail;
    throw error;
  }
  throw new Error('parsed');
}

const BILLION_LAUGHS = [
  'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
  ...'bcdefghi'.split('').map((name, index) => {
    const previous = 'abcdefghi'[index] ?? 'a';
    return `${name}: &${name} [${Array(9).fill(`*${previous}`).join(',')}]`;
  }),
].join('\n');

describe('reading an app description', () => {
  it('reads the platform\'s three formats to plain data', () => {
    // Assess
    expect(parse('specVersion: 3\nappVersion: 0.0.1\napp: {bkAppCode: myapp, bkAppName: My App}\nmodules: [{name: default, isDefault: true}]\n').data).toEqual({
      specVersion: 3,
      appVersion: '0.0.1',
      app: { bkAppCode: 'myapp', bkAppName: 'My App' },
      modules: [{ name: 'default', isDefault: true }],
    });
    expect(parse('spec_version: 2\napp_version: "1.0"\nmodules: {default: {is_default: true}}\n').data).toMatchObject({ app_version: '1.0' });
    expect(parse('version: 0.0.1\napp_code: myapp\nlanguage: python\n').data).toMatchObject({ version: '0.0.1', app_code: 'myapp' });
  });

  it('keeps top-level numbers as written, so an unquoted version keeps its digits', () => {
    // Act
    const parsed = parse('app_version: 1.10\nspec_version: 2\n');

    // Assess
    expect(parsed.data.app_version).toBe(1.1);
    expect(parsed.numbersAsWritten.get('app_version')).toBe('1.10');
  });

  it('merges << keys as PyYAML does, the mapping\'s own keys winning', () => {
    // Assess
    expect(parse('base: &b {language: python, x: 1}\nmodule: {<<: *b, x: 2}\n').data.module).toEqual({ language: 'python', x: 2 });
  });

  it('serialises the document, within its cap', () => {
    // Act
    const parsed = parse('a: [1, 2]\n');

    // Assess
    expect(parsed.json).toBe('{"a":[1,2]}');
  });

  it('keeps a __proto__ key as data, polluting nothing', () => {
    // Act
    const parsed = parse('__proto__: {polluted: true}\n');

    // Assess
    expect(JSON.parse(parsed.json)).toEqual({ ['__proto__']: { polluted: true } });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('reads a large ordinary mapping, with its duplicate check a set per mapping', () => {
    // Prepare: the yaml package's own check compares each key with every other (minutes at 90,000 keys)
    const lines = Array.from({ length: 20_000 }, (_, index) => `key${index}: value${index}`);

    // Assess
    expect(Object.keys(parse(lines.join('\n')).data)).toHaveLength(20_000);
    expect(refusal([...lines, 'key19999: again'].join('\n'))).toContain('the key "key19999" is given twice (line 20001, column 1)');
  });
});

describe('refusing an app description', () => {
  it.each([
    ['a syntax error, with its line', 'spec_version: 2\nmodules: [a, b\nx: y: z\n', '(line 3, column 1)'],
    ['a key given twice', 'a: 1\nb: 2\na: 3\n', 'the key "a" is given twice (line 3, column 1)'],
    ['a Python object tag', 'a: !!python/object/apply:os.system ["id"]\n', 'Unresolved tag: tag:yaml.org,2002:python/object/apply:os.system (line 1, column 4)'],
    ['a custom tag', 'a: !secret x\n', 'Unresolved tag: !secret'],
    ['a YAML 1.1 tag the core schema does not know', 'a: !!binary aGVsbG8=\n', 'binary'],
    ['a set', 'a: !!set {x}\n', 'tag:yaml.org,2002:set is not accepted'],
    ['a collection as a key', '? [a, b]\n: x\n', 'a mapping key must be a scalar'],
    ['an alias as a key', 'a: &k name\n*k : x\n', 'an alias as a mapping key'],
    ['two documents', 'a: 1\n---\nb: 2\n', 'multiple documents'],
    ['a list', '- a\n- b\n', 'not a mapping'],
    ['a scalar', 'just text\n', 'not a mapping'],
    ['an empty file', '', 'empty'],
    ['only a comment', '# nothing\n', 'empty'],
    ['an alias to no anchor', 'a: *nowhere\n', 'nowhere'],
  ])('refuses %s', (_case, text, words) => {
    // Act
    const detail = refusal(text);

    // Assess
    expect(detail).toContain(`The app description "${NAME}" is not valid YAML: `);
    expect(detail).toContain(words);
  });

  it('refuses text that is not UTF-8', () => {
    // Assess
    expect(refusal(Buffer.from([0xff, 0xfe, 0x61, 0x00, 0x3a, 0x00]))).toContain('it is not UTF-8 text');
  });

  it(`refuses a billion laughs once aliases expand more than ${MAX_ALIAS_COUNT} times`, () => {
    // Assess
    expect(refusal(BILLION_LAUGHS)).toContain('billion laughs');
    expect(parse('a: &a [1, 2]\nb: *a\nc: *a\n').data).toEqual({ a: [1, 2], b: [1, 2], c: [1, 2] });
  });

  it('refuses aliases that expand a large node past the JSON cap', () => {
    // Prepare: 15 copies of a 200 KB list, within the alias count
    const big = `big: &big [${Array(40_000).fill('"abcd"').join(',')}]`;
    const copies = Array.from({ length: 15 }, (_, index) => `copy${index}: *big`);

    // Assess
    expect(refusal([big, ...copies].join('\n'))).toContain(`bytes of JSON; the limit is ${MAX_META_INFO_JSON_BYTES}`);
  });

  it.each([
    ['flow sequences', '['.repeat(1024 * 1024), `flow collections are nested more than ${MAX_DEPTH} levels deep (line 1, column ${MAX_DEPTH + 1})`],
    ['flow mappings', `a: ${'{b: '.repeat(200_000)}`, `flow collections are nested more than ${MAX_DEPTH} levels deep`],
    ['compact sequences', '- '.repeat(512 * 1024), `more than ${MAX_DEPTH} collections start on one line`],
    ['explicit keys', '? '.repeat(512 * 1024), `more than ${MAX_DEPTH} collections start on one line`],
  ])('refuses a MiB of nested %s before the parser sees it', (_case, text, words) => {
    // Assess: without the lexer's pass these take the parser seconds to minutes and a gigabyte
    expect(refusal(text)).toContain(words);
  });

  it(`refuses block mappings indented more than ${MAX_DEPTH} levels deep, and reads ${MAX_DEPTH}`, () => {
    // Prepare
    const nested = (levels: number): string => Array.from({ length: levels }, (_, level) => `${' '.repeat(level)}k:`).join('\n') + ' 1\n';

    // Assess
    expect(refusal(nested(MAX_DEPTH + 1))).toContain(`collections are nested more than ${MAX_DEPTH} levels deep`);
    expect(() => parse(nested(MAX_DEPTH))).not.toThrow();
    expect(refusal(nested(1400))).toMatch(/not valid YAML/);
  });
});
