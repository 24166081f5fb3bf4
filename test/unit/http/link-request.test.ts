/**
 * validateLinkRequest and parseAllowOverwrite: the field rules (docs/api.md#request-body), every problem
 * reported at once in fields_detail.
 */
import { describe, expect, it } from 'vitest';
import { ServiceError, ValidationError } from '../../../lib/core/errors';
import type { FormFields } from '../../../lib/http/form-parser';
import { parseAllowOverwrite } from '../../../lib/core/package-request';
import { validateLinkRequest } from '../../../lib/http/link-request';

const PATH = { code: 'sundy820', module_name: 'default' };
const URL_OK = 'https://artifacts.example.com/releases/sundy820-app-1.0.tar.gz';

/** The service error `act` throws (fails the test if none). */
function refusal(act: () => unknown): ServiceError {
  try {
    act();
  } catch (error) {
    if (error instanceof ServiceError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

/** The ValidationError `validateLinkRequest` throws for these inputs (fails the test if none). */
function rejection(fields: FormFields, pathParameters: Record<string, string> = PATH): ValidationError {
  try {
    validateLinkRequest(pathParameters, fields);
  } catch (error) {
    if (error instanceof ValidationError) return error;
    throw error;
  }
  throw new Error('validateLinkRequest accepted the request');
}

describe('validateLinkRequest', () => {
  it("trims the padded values of the original docs' curl example", () => {
    // Prepare
    const fields = { package_url: `   ${URL_OK}  `, version: '  v1.0  ', allow_overwrite: 'false' };

    // Act
    const request = validateLinkRequest(PATH, fields);

    // Assess
    expect(request).toEqual({
      code: 'sundy820',
      module: 'default',
      packageUrl: URL_OK,
      version: 'v1.0',
      allowOverwrite: false,
      sha256: undefined,
    });
  });

  it.each([['v1'], ['1.0.0'], ['1.0.0-rc.1+build.5'], ['release_2020_08_24'], ['-'], ['A'.repeat(128)]])(
    'accepts the version %s',
    (version) => {
      // Act
      const request = validateLinkRequest(PATH, { package_url: URL_OK, version });

      // Assess
      expect(request.version).toBe(version);
    },
  );

  it.each([
    ['one starting with "."', '.hidden'],
    ['one of 129 characters', 'A'.repeat(129)],
    ['one with a space inside', 'v 1'],
    ['one with a slash', '../v1'],
    ['one with a colon', 'v1:latest'],
    ['one with non-ASCII letters', '版本1'],
  ])('refuses %s as version', (_case, version) => {
    // Act
    const error = rejection({ package_url: URL_OK, version });

    // Assess
    expect(error.code).toBe('VALIDATION_ERROR');
    expect(Object.keys(error.fieldsDetail ?? {})).toEqual(['version']);
  });

  it.each([
    ['absent', undefined],
    ['empty', ''],
    ['only spaces', '   '],
  ])('accepts a version that is %s, leaving it to the package\'s app description', (_case, version) => {
    // Prepare
    const fields: FormFields = version === undefined ? { package_url: URL_OK } : { package_url: URL_OK, version };

    // Act
    const request = validateLinkRequest(PATH, fields);

    // Assess
    expect(request.version).toBeUndefined();
  });

  it('reports a missing package_url in fields_detail.package_url', () => {
    // Act
    const error = rejection({ version: 'v1' });

    // Assess
    expect(Object.keys(error.fieldsDetail ?? {})).toEqual(['package_url']);
  });

  it.each([['http://example.com/app.zip'], ['https://example.com:8443/a/b/app.tar?sig=x&exp=1']])(
    'accepts the absolute http(s) URL %s',
    (packageUrl) => {
      // Act
      const request = validateLinkRequest(PATH, { package_url: packageUrl, version: 'v1' });

      // Assess
      expect(request.packageUrl).toBe(packageUrl);
    },
  );

  it.each([
    ['a relative path', '/releases/app.tar.gz'],
    ['a scheme-relative URL', '//example.com/app.tar.gz'],
    ['the placeholder of the original docs', 'Link to your source code package'],
    ['a bare scheme', 'http://'],
    ['a host and port without a scheme', 'localhost:8080/app.tar.gz'],
    ['a domain and port without a scheme', 'example.com:8080/pkg.tgz'],
    ['a Windows path', 'C:\\pkgs\\app.tgz'],
  ])('refuses %s as package_url', (_case, packageUrl) => {
    // Act
    const error = rejection({ package_url: packageUrl, version: 'v1' });

    // Assess
    expect(Object.keys(error.fieldsDetail ?? {})).toEqual(['package_url']);
  });

  it.each([
    ['ftp', 'ftp://example.com/app.tar.gz'],
    ['file', 'file:///etc/passwd'],
    ['javascript', 'javascript:alert(1)'],
    ['data', 'data:application/gzip;base64,H4sI'],
    ['gopher', 'gopher://127.0.0.1:6379/_INFO'],
  ])('refuses a well-formed %s link as URL_NOT_ALLOWED, naming its scheme', (scheme, packageUrl) => {
    // Act
    const error = refusal(() => validateLinkRequest(PATH, { package_url: packageUrl, version: 'v1' }));

    // Assess
    expect(error).toMatchObject({ code: 'URL_NOT_ALLOWED', status: 400 });
    expect(error.message).toContain(`"${scheme}"`);
  });

  it('reports the other fields\' problems before judging the scheme', () => {
    // Act
    const error = rejection({ package_url: 'ftp://example.com/app.zip', version: '.v1' });

    // Assess
    expect(Object.keys(error.fieldsDetail ?? {})).toEqual(['version']);
  });

  it('accepts a package_url of exactly 2048 characters and refuses one of 2049', () => {
    // Prepare
    const prefix = 'https://example.com/';
    const longest = prefix + 'a'.repeat(2048 - prefix.length - '.zip'.length) + '.zip';
    const tooLong = prefix + 'a'.repeat(2049 - prefix.length - '.zip'.length) + '.zip';

    // Act
    const request = validateLinkRequest(PATH, { package_url: longest, version: 'v1' });
    const error = rejection({ package_url: tooLong, version: 'v1' });

    // Assess
    expect(longest).toHaveLength(2048);
    expect(request.packageUrl).toBe(longest);
    expect(error.fieldsDetail?.package_url).toHaveLength(1);
  });

  it('counts the 2048 characters after trimming', () => {
    // Prepare
    const prefix = 'https://example.com/';
    const longest = prefix + 'a'.repeat(2048 - prefix.length);

    // Act
    const request = validateLinkRequest(PATH, { package_url: `  ${longest}  `, version: 'v1' });

    // Assess
    expect(request.packageUrl).toBe(longest);
  });

  it('takes allow_overwrite "true" as true and leaves it false when absent', () => {
    // Act
    const overwriting = validateLinkRequest(PATH, { package_url: URL_OK, version: 'v1', allow_overwrite: ' TRUE ' });
    const defaulted = validateLinkRequest(PATH, { package_url: URL_OK, version: 'v1' });

    // Assess
    expect(overwriting.allowOverwrite).toBe(true);
    expect(defaulted.allowOverwrite).toBe(false);
  });

  it('refuses an allow_overwrite word it does not know, listing every spelling it accepts', () => {
    // Act
    const error = rejection({ package_url: URL_OK, version: 'v1', allow_overwrite: 'maybe' });

    // Assess
    expect(Object.keys(error.fieldsDetail ?? {})).toEqual(['allow_overwrite']);
    const message = error.fieldsDetail?.allow_overwrite?.[0] ?? '';
    for (const word of ['true', '1', 'yes', 'on', 'false', '0', 'no', 'off', 'null', 'empty']) {
      expect(message).toContain(word);
      if (word !== 'empty') expect(parseAllowOverwrite(word)).not.toBeUndefined();
    }
  });

  it('accepts a 64-hex sha256 in either case and gives it in lower case', () => {
    // Prepare
    const digest = 'E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855';

    // Act
    const request = validateLinkRequest(PATH, { package_url: URL_OK, version: 'v1', sha256: ` ${digest} ` });

    // Assess
    expect(request.sha256).toBe(digest.toLowerCase());
  });

  it('treats an empty sha256 as not given', () => {
    // Act
    const request = validateLinkRequest(PATH, { package_url: URL_OK, version: 'v1', sha256: '' });

    // Assess
    expect(request.sha256).toBeUndefined();
  });

  it.each([
    ['63 hex digits', 'a'.repeat(63)],
    ['65 hex digits', 'a'.repeat(65)],
    ['a non-hex letter', 'g'.repeat(64)],
    ['a sha256: prefix', `sha256:${'a'.repeat(64)}`],
  ])('refuses a sha256 of %s', (_case, sha256) => {
    // Act
    const error = rejection({ package_url: URL_OK, version: 'v1', sha256 });

    // Assess
    expect(Object.keys(error.fieldsDetail ?? {})).toEqual(['sha256']);
  });

  it.each([
    ['an upper-case code', { code: 'Sundy820', module_name: 'default' }, 'code'],
    ['a code with a path separator', { code: '../sundy820', module_name: 'default' }, 'code'],
    ['no code', { module_name: 'default' }, 'code'],
    ['a module name with a space', { code: 'sundy820', module_name: 'de fault' }, 'module_name'],
    ['no module name', { code: 'sundy820' }, 'module_name'],
  ])('refuses %s in the path', (_case, pathParameters: Record<string, string>, field) => {
    // Act
    const error = rejection({ package_url: URL_OK, version: 'v1' }, pathParameters);

    // Assess
    expect(Object.keys(error.fieldsDetail ?? {})).toEqual([field]);
  });

  it('reports every problem together in one VALIDATION_ERROR', () => {
    // Prepare
    const fields = { package_url: '/app.zip', version: '.v1', allow_overwrite: 'perhaps', sha256: 'abc' };

    // Act
    const error = rejection(fields, { code: 'BAD CODE', module_name: 'default' });

    // Assess
    expect(error.status).toBe(400);
    expect(Object.keys(error.fieldsDetail ?? {}).sort()).toEqual(['allow_overwrite', 'code', 'package_url', 'sha256', 'version']);
    for (const messages of Object.values(error.fieldsDetail ?? {})) {
      expect(messages.every((message) => message.length > 0)).toBe(true);
    }
  });
});

describe('parseAllowOverwrite', () => {
  it.each(['true', 'TRUE', 'True', '1', 'yes', 'YES', 'on', 'On', ' true '])('reads %j as true', (word) => {
    // Act
    const value = parseAllowOverwrite(word);

    // Assess
    expect(value).toBe(true);
  });

  it.each(['false', 'FALSE', 'False', '0', 'no', 'No', 'off', 'OFF', '', '  ', 'null', 'NULL', 'Null'])(
    'reads %j as false',
    (word) => {
      // Act
      const value = parseAllowOverwrite(word);

      // Assess
      expect(value).toBe(false);
    },
  );

  it('reads an absent value as false', () => {
    // Act
    const value = parseAllowOverwrite(undefined);

    // Assess
    expect(value).toBe(false);
  });

  it.each(['maybe', 't', 'f', 'y', 'n', '2', '-1', 'none', 'undefined', 'truefalse', '1.0'])(
    'reads %j as no answer, for the caller to refuse',
    (word) => {
      // Act
      const value = parseAllowOverwrite(word);

      // Assess
      expect(value).toBeUndefined();
    },
  );
});
