/**
 * jsonObjectMembers: the members JSON.parse sees, in order, plus the duplicates it drops.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jsonObjectMembers } from '../../../lib/http/json-members';

describe('jsonObjectMembers', () => {
  it('gives what JSON.parse gives for any object without repeated keys, however it is spaced', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), fc.constantFrom(undefined, 2, '\t'), (object, space) => {
        const text = JSON.stringify(object, null, space);
        const parsed = JSON.parse(text) as object;
        const members = jsonObjectMembers(text);

        // Compared as objects: Object.entries puts integer-like keys first, the text need not.
        expect(members).toHaveLength(Object.keys(parsed).length);
        expect(Object.fromEntries(members)).toEqual(parsed);
      }),
    );
  });

  it('keeps both members of a repeated key, in order', () => {
    // Act
    const members = jsonObjectMembers('{"a": 1, "b": [2, {"a": 3}], "a": "4"}');

    // Assess
    expect(members).toEqual([['a', 1], ['b', [2, { a: 3 }]], ['a', '4']]);
    expect(jsonObjectMembers('{"b": 1, "0": 2}').map(([key]) => key)).toEqual(['b', '0']);
  });
});
