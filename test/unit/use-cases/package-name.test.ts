/**
 * package_name (docs/api.md#answers): the file name of the URL path, sanitised; where the path has none,
 * the name in Content-Disposition; else `package.<detected extension>`.
 */
import { describe, expect, it } from 'vitest';
import { contentDispositionFilename, packageNameFor, sanitisePackageName } from '../../../lib/use-cases/package-name';

describe('packageNameFor', () => {
  it('takes the file name of the URL path, not its query', () => {
    // Prepare
    const url = new URL('https://artifacts.example.com/releases/sundy820-app-1.0.tar.gz?X-Amz-Signature=abc&name=x.zip');

    // Act
    const name = packageNameFor(url, 'attachment; filename="other.tar.gz"', 'tar.gz');

    // Assess
    expect(name).toBe('sundy820-app-1.0.tar.gz');
  });

  it('decodes percent-escapes and replaces what is unsafe with underscores', () => {
    // Act
    const name = packageNameFor(new URL('https://example.com/dl/my%20app%20(v2).zip'), undefined, 'zip');

    // Assess
    expect(name).toBe('my_app_v2_.zip');
  });

  it('keeps only the last segment of an encoded path traversal', () => {
    // Act
    const name = packageNameFor(new URL('https://example.com/dl/..%2F..%2Fetc%2Fapp.tgz'), undefined, 'tar.gz');

    // Assess
    expect(name).toBe('app.tgz');
  });

  it('uses the Content-Disposition filename when the path ends with a slash', () => {
    // Act
    const name = packageNameFor(new URL('https://example.com/download/'), 'attachment; filename="sundy820 v1.tar"', 'tar');

    // Assess
    expect(name).toBe('sundy820_v1.tar');
  });

  it('falls back to package.<detected extension> when neither gives a name', () => {
    // Act
    const names = [
      packageNameFor(new URL('https://example.com/'), undefined, 'tar.gz'),
      packageNameFor(new URL('https://example.com/get/'), 'inline', 'zip'),
      packageNameFor(new URL('https://example.com/get/'), 'attachment; filename="..."', 'tar'),
    ];

    // Assess
    expect(names).toEqual(['package.tar.gz', 'package.zip', 'package.tar']);
  });
});

describe('packageNameFor: the extension follows the detected format', () => {
  it.each([
    ['x.zip', 'tar.gz', 'x.tar.gz'],
    ['x.tar.gz', 'zip', 'x.zip'],
    ['x.TGZ', 'tar.gz', 'x.TGZ'],
    ['x.tar', 'tar.gz', 'x.tar.gz'],
    ['x.gz', 'tar.gz', 'x.tar.gz'],
    ['x.tar.gz', 'tar', 'x.tar'],
    ['download', 'zip', 'download.zip'],
    ['v1.0', 'tar.gz', 'v1.0.tar.gz'],
  ] as const)('names %j holding a %s as %j', (file, format, expected) => {
    // Act
    const name = packageNameFor(new URL(`https://example.com/dl/${file}`), undefined, format);

    // Assess
    expect(name).toBe(expected);
  });

  it('keeps a long name within 200 characters with its extension', () => {
    // Act
    const name = packageNameFor(new URL(`https://example.com/${'a'.repeat(300)}.zip`), undefined, 'tar.gz');

    // Assess
    expect(name).toBe(`${'a'.repeat(193)}.tar.gz`);
  });
});

describe('contentDispositionFilename', () => {
  it('prefers the RFC 5987 filename* over filename', () => {
    // Act
    const name = contentDispositionFilename(`attachment; filename="fallback.zip"; filename*=UTF-8''app%201.0.zip`);

    // Assess
    expect(name).toBe('app 1.0.zip');
  });

  it('reads a quoted filename with escaped quotes', () => {
    // Act
    const name = contentDispositionFilename('attachment; filename="say \\"hi\\".tar.gz"');

    // Assess
    expect(name).toBe('say "hi".tar.gz');
  });

  it('reads an unquoted filename up to the next parameter', () => {
    // Act
    const name = contentDispositionFilename('attachment; filename=app.tgz; size=4586');

    // Assess
    expect(name).toBe('app.tgz');
  });

  it('gives nothing for a header without a filename', () => {
    // Act
    const names = [contentDispositionFilename(undefined), contentDispositionFilename('inline')];

    // Assess
    expect(names).toEqual([undefined, undefined]);
  });
});

describe('sanitisePackageName', () => {
  it('strips leading dots and underscores so the name is never hidden', () => {
    // Act
    const name = sanitisePackageName('..._.env.tar.gz');

    // Assess
    expect(name).toBe('env.tar.gz');
  });

  it('keeps only the part after the last slash or backslash', () => {
    // Act
    const name = sanitisePackageName('C:\\Users\\dev\\app.zip');

    // Assess
    expect(name).toBe('app.zip');
  });

  it('caps the name at 200 characters', () => {
    // Act
    const name = sanitisePackageName(`${'a'.repeat(300)}.tar.gz`);

    // Assess
    expect(name).toHaveLength(200);
  });

  it('gives nothing for a name without a letter or digit', () => {
    // Act
    const name = sanitisePackageName('._-+');

    // Assess
    expect(name).toBeUndefined();
  });
});
