/**
 * package_name (docs/api.md#answers): the file name in Content-Disposition, sanitised; else the file
 * name of the URL path, sanitised the same way; else `package.<detected extension>`.
 */
import { describe, expect, it } from 'vitest';
import { packageNameFor, sanitisePackageName } from '../../../lib/use-cases/package-name';

describe('packageNameFor', () => {
  it('takes the file name of the URL path, not its query, when the answer names none', () => {
    // Prepare
    const url = new URL('https://artifacts.example.com/releases/sundy820-app-1.0.tar.gz?X-Amz-Signature=abc&name=x.zip');

    // Act
    const name = packageNameFor(url, 'attachment', 'tar.gz');

    // Assess
    expect(name).toBe('sundy820-app-1.0.tar.gz');
  });

  it.each([
    ['https://codeload.example.com/org/repo/tar.gz/refs/heads/main', 'attachment; filename="repo-main.tar.gz"', 'repo-main.tar.gz'],
    ['https://example.com/download?id=3', "attachment; filename*=UTF-8''app%20v1.tgz", 'app_v1.tgz'],
    ['https://example.com/dl/sundy820-1.0.tar.gz', 'attachment; filename="release.tar.gz"', 'release.tar.gz'],
  ])('takes the name the answer gives over the URL path: %s', (url, header, expected) => {
    // Act
    const name = packageNameFor(new URL(url), header, 'tar.gz');

    // Assess
    expect(name).toBe(expected);
  });

  it.each([
    ['a path', 'attachment; filename="../../etc/cron.d/app.tar.gz"', 'app.tar.gz'],
    ['a Windows path', 'attachment; filename="C:\\\\evil\\\\app.tar.gz"', 'app.tar.gz'],
    ['an encoded path', "attachment; filename*=UTF-8''..%2F..%2Fapp.tar.gz", 'app.tar.gz'],
    ['a NUL and control characters', "attachment; filename*=UTF-8''app%00%0D%0A.tar.gz", 'app_.tar.gz'],
    ['a hidden name', 'attachment; filename=".bashrc.tar.gz"', 'bashrc.tar.gz'],
    ['non-ASCII letters', "attachment; filename*=UTF-8''%E5%8C%85-1.0.tar.gz", '1.0.tar.gz'],
    ['nothing but non-ASCII letters before the extension', "attachment; filename*=UTF-8''%E5%8C%85.tar.gz", 'download.tar.gz'],
    ['a UTF-8 name that keeps no letter beside its ASCII fallback', "attachment; filename*=UTF-8''%E4%B8%AD.tar.gz; filename=\"b.tar.gz\"", 'b.tar.gz'],
    ['another archive extension', 'attachment; filename="app-1.0.zip"', 'app-1.0.tar.gz'],
    ['no extension', 'attachment; filename="app-1.0"', 'app-1.0.tar.gz'],
  ])('sanitises a Content-Disposition name with %s as it sanitises a URL path', (_shape, header, expected) => {
    // Act
    const name = packageNameFor(new URL('https://example.com/download'), header, 'tar.gz');

    // Assess
    expect(name).toBe(expected);
  });

  it('keeps a very long Content-Disposition name within 200 characters with its extension', () => {
    // Act
    const name = packageNameFor(new URL('https://example.com/download'), `attachment; filename="${'a'.repeat(5000)}.zip"`, 'tar.gz');

    // Assess
    expect(name).toBe(`${'a'.repeat(193)}.tar.gz`);
  });

  it.each([
    ['nothing but dots', 'attachment; filename=".."'],
    ['an empty name', 'attachment; filename=""'],
    ['a malformed header', 'attachment; filename=app 1.tar.gz'],
    ['the name given twice', 'attachment; filename="a.tar.gz"; filename="b.tar.gz"'],
  ])('falls back to the URL path when the Content-Disposition has %s', (_shape, header) => {
    // Act
    const name = packageNameFor(new URL('https://example.com/dl/from-path.tar.gz'), header, 'tar.gz');

    // Assess
    expect(name).toBe('from-path.tar.gz');
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

  it('strips a leading dash so no command-line tool reads the name as an option', () => {
    // Act
    const name = sanitisePackageName('--rm-rf.tar.gz');

    // Assess
    expect(name).toBe('rm-rf.tar.gz');
  });

  it('gives nothing for a name with no letter or digit before its archive extension', () => {
    // Act
    const name = sanitisePackageName('包.tar.gz');

    // Assess
    expect(name).toBeUndefined();
  });

  it('gives nothing for a name without a letter or digit', () => {
    // Act
    const name = sanitisePackageName('._-+');

    // Assess
    expect(name).toBeUndefined();
  });
});
