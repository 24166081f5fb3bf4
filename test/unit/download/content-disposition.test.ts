/**
 * The file name of a download's Content-Disposition (docs/api.md#answers), read by RFC 6266 and
 * RFC 8187: `filename*` first, then `filename`; a header that breaks the grammar gives nothing.
 */
import { describe, expect, it } from 'vitest';
import { contentDispositionFilenames, decodeExtValue } from '../../../lib/download/content-disposition';

describe('contentDispositionFilenames', () => {
  it.each([
    ['a quoted filename', 'attachment; filename="repo-main.tar.gz"', 'repo-main.tar.gz'],
    ['a token filename', 'attachment; filename=app.tgz; size=4586', 'app.tgz'],
    ['escaped quotes', 'attachment; filename="say \\"hi\\".tar.gz"', 'say "hi".tar.gz'],
    ['a semicolon inside quotes', 'attachment; filename="a;b.zip"', 'a;b.zip'],
    ['any case and spacing', 'ATTACHMENT ;FileName = "x.zip" ; ', 'x.zip'],
    ['an inline disposition', 'inline; filename="x.tar"', 'x.tar'],
    ['percent signs kept as they are in filename', 'attachment; filename="app%20v1.zip"', 'app%20v1.zip'],
    ['filename* in UTF-8', "attachment; filename*=UTF-8''%E2%82%AC%20rates.zip", '€ rates.zip'],
    ['filename* with a language tag', "attachment; filename*=utf-8'en-GB'app.zip", 'app.zip'],
    ['filename* in ISO-8859-1', "attachment; filename*=iso-8859-1''caf%E9.zip", 'café.zip'],
    ['filename* after filename', "attachment; filename=\"fallback.zip\"; filename*=UTF-8''app%201.0.zip", 'app 1.0.zip'],
    ['filename* before filename', "attachment; filename*=UTF-8''app%201.0.zip; filename=\"fallback.zip\"", 'app 1.0.zip'],
  ])('reads %s', (_shape, header, expected) => {
    // Act
    const name = contentDispositionFilenames(header)[0];

    // Assess
    expect(name).toBe(expected);
  });

  it.each([
    ['an unknown charset', "attachment; filename*=KOI8-R''%F0.zip; filename=\"plain.zip\""],
    ['invalid UTF-8', "attachment; filename*=UTF-8''%FF%FE.zip; filename=\"plain.zip\""],
    ['a broken percent escape', "attachment; filename*=UTF-8''%G1.zip; filename=\"plain.zip\""],
    ['no charset', "attachment; filename*=''a.zip; filename=\"plain.zip\""],
    ['no quotes around the language', 'attachment; filename*=UTF-8a.zip; filename="plain.zip"'],
    ['an empty value', "attachment; filename*=UTF-8''; filename=\"plain.zip\""],
  ])('falls back to filename when filename* has %s', (_shape, header) => {
    // Act
    const name = contentDispositionFilenames(header)[0];

    // Assess
    expect(name).toBe('plain.zip');
  });

  it.each([
    ['no header', undefined],
    ['no filename', 'attachment'],
    ['an empty filename', 'attachment; filename=""'],
    ['an empty header', ''],
    ['no disposition type', '; filename="a.zip"'],
    ['a space in a token', 'attachment; filename=my app.zip'],
    ['an unterminated quote', 'attachment; filename="a.zip'],
    ['text after the quotes', 'attachment; filename="a.zip"x'],
    ['a parameter without a value', 'attachment; filename'],
    ['a control character in quotes', 'attachment; filename="a\u0001.zip"'],
    ['a NUL in quotes', 'attachment; filename="a\u0000.zip"'],
    ['filename given twice', 'attachment; filename="a.zip"; filename="b.zip"'],
    ['filename given twice in another case', 'attachment; filename="a.zip"; FILENAME="b.zip"'],
    ['filename* given twice', "attachment; filename*=UTF-8''a.zip; filename*=UTF-8''b.zip"],
    ['two headers joined by a comma', 'attachment; filename=a.zip, attachment; filename=b.zip'],
  ])('gives nothing for %s', (_shape, header) => {
    // Act
    const name = contentDispositionFilenames(header)[0];

    // Assess
    expect(name).toBeUndefined();
  });

  it('returns path separators and dot segments raw, for the sanitiser to strip', () => {
    // Act
    const names = [
      contentDispositionFilenames('attachment; filename="../../etc/passwd"')[0],
      contentDispositionFilenames("attachment; filename*=UTF-8''..%2F..%5Capp.zip")[0],
      contentDispositionFilenames("attachment; filename*=UTF-8''a%00b.zip")[0],
    ];

    // Assess
    expect(names).toEqual(['../../etc/passwd', '../..\\app.zip', 'a\u0000b.zip']);
  });

  it('reads a header of 16 KiB in linear time', () => {
    // Prepare
    const header = `attachment; filename="${'\\a'.repeat(8 * 1024)}`;

    // Act
    const started = performance.now();
    const name = contentDispositionFilenames(header)[0];
    const elapsed = performance.now() - started;

    // Assess
    expect(name).toBeUndefined();
    expect(elapsed).toBeLessThan(100);
  });
});

describe('decodeExtValue', () => {
  it('percent-decodes UTF-8 octets and keeps attr-chars as they are', () => {
    // Act
    const value = decodeExtValue("UTF-8''a%2Fb~c");

    // Assess
    expect(value).toBe('a/b~c');
  });

  it('refuses a character that is neither attr-char nor an escape', () => {
    // Act
    const value = decodeExtValue("UTF-8''a b");

    // Assess
    expect(value).toBeUndefined();
  });
});
