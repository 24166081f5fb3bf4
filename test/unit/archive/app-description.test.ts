/**
 * What an app description says — spec version, app code, app version by spec — and
 * the version a request is filed under: the request's when given, else the package's, checked by
 * the same rule; whether a description for another application is refused.
 */
import { describe, expect, it } from 'vitest';
import type { FoundDescription } from '../../../lib/archive/app-desc-finder';
import { describePackage, specVersionOf, type AppDescription } from '../../../lib/archive/app-description';
import { InvalidPackageFormatError, ValidationError } from '../../../lib/core/errors';
import { createLogger } from '../../../lib/core/logger';
import { checkAppCode, resolveVersion } from '../../../lib/use-cases/version-resolution';

function foundOf(yaml: string, overrides: Partial<FoundDescription> = {}): FoundDescription {
  return { name: 'app_desc.yaml', dir: '', kind: 'file', content: Buffer.from(yaml), logo: undefined, ...overrides };
}

function capturingLog(): { log: ReturnType<typeof createLogger>; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  return { log: createLogger({}, 'debug', (line) => lines.push(JSON.parse(line) as Record<string, unknown>)), lines };
}

describe('reading the fields of an app description', () => {
  it.each([
    ['spec 3', 'specVersion: 3\nappVersion: 0.0.1\napp: {bkAppCode: myapp, bkAppName: My App}\n', 3, 'myapp', '0.0.1'],
    ['spec 2', 'spec_version: 2\napp_version: 0.0.1\napp: {bk_app_code: myapp, bk_app_name: My App}\n', 2, 'myapp', '0.0.1'],
    ['legacy', 'version: 0.0.1\napp_code: myapp\napp_name: My App\nlanguage: python\n', 1, 'myapp', '0.0.1'],
    ['spec 2 with a number as version', 'spec_version: 2\napp_version: 1.10\n', 2, undefined, '1.10'],
    ['spec 2 with the spec 3 field only', 'spec_version: 2\nappVersion: 1.0.0\n', 2, undefined, undefined],
    ['spec 2 with a boolean version', 'spec_version: 2\napp_version: true\n', 2, undefined, undefined],
    ['an unknown spec version', 'spec_version: 4\napp_version: 1.0.0\n', undefined, undefined, undefined],
    ['a spec version written as a string', 'spec_version: "2"\napp_version: 1.0.0\n', undefined, undefined, undefined],
    ['no spec version and no app_code', 'name: x\nversion: 1.0\n', undefined, undefined, undefined],
  ])('reads %s', (_case, yaml, spec, code, version) => {
    // Act
    const description = describePackage(foundOf(yaml));

    // Assess
    expect(description).toMatchObject({ specVersion: spec, appCode: code, appVersion: version });
  });

  it('takes spec_version before specVersion, as the platform does', () => {
    // Assess
    expect(specVersionOf({ spec_version: 2, specVersion: 3 })).toBe(2);
    expect(specVersionOf({ spec_version: 0, specVersion: 3 })).toBe(3);
  });

  it.each([
    ['', './'],
    ['./', './'],
    ['app/', 'app/'],
    ['./app/', 'app/'],
    ['a/b/', 'a/b/'],
  ])('gives the directory %j as relative path %j', (dir, relative) => {
    // Assess
    expect(describePackage(foundOf('app_code: x\n', { dir, name: `${dir}app_desc.yaml` })).relativePath).toBe(relative);
  });

  it('keeps the parsed document without the logo, and the logo apart', () => {
    // Act
    const description = describePackage(foundOf('spec_version: 2\n', { logo: Buffer.from('png') }));

    // Assess
    expect(description.metaInfo).toEqual({ spec_version: 2 });
    expect(description.metaInfoJson).toBe('{"spec_version":2}');
    expect(description.logo?.toString()).toBe('png');
  });

  it.each([
    ['a link', { kind: 'symlink' as const }, 'The app description "app_desc.yaml" is a symlink; it must be a regular file.'],
    ['over 1 MiB', { content: 'too large' as const }, 'The app description "app_desc.yaml" is larger than 1 MiB (the limit).'],
    ['with a logo over 1 MiB', { logo: 'too large' as const, dir: 'app/', name: 'app/app_desc.yaml' }, 'The logo "app/logo.png" is larger than 1 MiB (the limit).'],
  ])('refuses a description %s with 422 naming the file', (_case, overrides, detail) => {
    // Assess
    expect(() => describePackage(foundOf('spec_version: 2\n', overrides))).toThrow(new InvalidPackageFormatError(detail));
  });

  it.each([
    ['app version', `spec_version: 2\napp_version: "${'1'.repeat(257)}"\n`],
    ['app code', `app_code: ${'a'.repeat(257)}\n`],
  ])('refuses an %s longer than 256 characters, which would go on the record and into logs', (what, yaml) => {
    // Assess
    expect(() => describePackage(foundOf(yaml))).toThrow(new InvalidPackageFormatError(`The app description "app_desc.yaml" gives an ${what} of 257 characters; the limit is 256.`));
    expect(() => describePackage(foundOf(yaml.replace('1'.repeat(257), '1'.repeat(256)).replace('a'.repeat(257), 'a'.repeat(256))))).not.toThrow();
  });
});

/** fields_detail.version of the ValidationError `attempt` throws (fails the test if none). */
function versionProblem(attempt: () => unknown): string {
  try {
    attempt();
  } catch (error) {
    if (error instanceof ValidationError) return error.fieldsDetail?.version?.join(' ') ?? '';
    throw error;
  }
  throw new Error('no ValidationError');
}

describe('the version a request is filed under', () => {
  const described = (yaml: string): AppDescription => describePackage(foundOf(yaml));

  it('is the request\'s when given, with a warning when the package says otherwise', () => {
    // Prepare
    const { log, lines } = capturingLog();

    // Act
    const version = resolveVersion('v9', described('spec_version: 2\napp_version: 1.0.0\n'), log);

    // Assess
    expect(version).toBe('v9');
    expect(lines).toEqual([expect.objectContaining({ level: 'warn', app_version: '1.0.0' })]);
  });

  it('is the package\'s app version when the request has none', () => {
    // Assess
    expect(resolveVersion(undefined, described('specVersion: 3\nappVersion: 2.1.0\n'), capturingLog().log)).toBe('2.1.0');
  });

  it.each([
    ['no app description', undefined, 'the package has no app description (app_desc.yaml or app_desc.yml) to take a version from either.'],
    ['a description without a version', 'spec_version: 2\n', 'gives no version either (spec version 2 keeps it in "app_version").'],
    ['a description of no known spec', 'name: x\n', 'it declares no spec version this service knows'],
  ])('is 400 VALIDATION_ERROR on version with %s', (_case, yaml, words) => {
    // Act
    const problem = versionProblem(() => resolveVersion(undefined, yaml === undefined ? undefined : described(yaml), capturingLog().log));

    // Assess
    expect(problem).toContain(`This field is required: `);
    expect(problem).toContain(words);
  });

  it('is 400 VALIDATION_ERROR when the package\'s version breaks the rule for versions', () => {
    // Act
    const problem = versionProblem(() => resolveVersion(undefined, described('spec_version: 2\napp_version: "1.0 beta"\n'), capturingLog().log));

    // Assess
    expect(problem).toContain('gives the version "1.0 beta", which is not a valid version');
  });
});

describe('an app description for another application', () => {
  const other = describePackage(foundOf('spec_version: 2\napp: {bk_app_code: other-app}\n'));

  it('is recorded with a warning by default, as the platform does', () => {
    // Prepare
    const { log, lines } = capturingLog();

    // Act
    checkAppCode('myapp', other, false, log);

    // Assess
    expect(lines).toEqual([expect.objectContaining({ level: 'warn', app_code: 'other-app' })]);
  });

  it('is refused with 422 when REQUIRE_MATCHING_APP_CODE is on', () => {
    // Assess
    expect(() => checkAppCode('myapp', other, true, capturingLog().log)).toThrow(
      new InvalidPackageFormatError('The app description "app_desc.yaml" is for application "other-app", not "myapp".'),
    );
    expect(() => checkAppCode('other-app', other, true, capturingLog().log)).not.toThrow();
  });
});
