/**
 * loadConfig: every environment variable parsed once at cold start; a bad value fails with the
 * variable's name; private package URLs only ever in the local stage (docs/design.md#the-local-stack).
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, signingKeyOf } from '../../../lib/core/config';

const MiB = 1024 * 1024;

const REQUIRED = {
  STAGE: 'stag',
  VERSIONS_TABLE: 'bkpaas-stag-versions',
  TOKENS_TABLE: 'bkpaas-stag-tokens',
  JOBS_TABLE: 'bkpaas-stag-jobs',
  PACKAGES_BUCKET: 'bkpaas-stag-packages',
  FETCH_FUNCTION_NAME: 'bkpaas-stag-fetch',
};

describe('loadConfig', () => {
  it('fills in the defaults when only the required variables are set', () => {
    // Act
    const config = loadConfig({ ...REQUIRED });

    // Assess
    expect(config).toMatchObject({
      stage: 'stag',
      region: 'us-east-1',
      versionsTable: 'bkpaas-stag-versions',
      packagesBucket: 'bkpaas-stag-packages',
      fetchFunctionName: 'bkpaas-stag-fetch',
      allowPrivateUrls: false,
      tokensTable: 'bkpaas-stag-tokens',
      allowedHosts: [],
      deniedHosts: [],
      maxPackageBytes: 512 * MiB,
      maxRequestBodyBytes: 64 * 1024,
      connectTimeoutMs: 10_000,
      idleTimeoutMs: 30_000,
      totalTimeoutMs: 840_000,
      cleanupMarginMs: 10_000,
      uploadPartBytes: 8 * MiB,
      uploadQueueSize: 4,
      requireMatchingAppCode: false,
      eventBusName: 'default',
      endpoints: { dynamodb: undefined, s3: undefined, lambda: undefined, events: undefined },
      logLevel: 'info',
    });
  });

  it('reads the optional variables it is given, trimmed', () => {
    // Act
    const config = loadConfig({
      ...REQUIRED,
      AWS_REGION: 'ap-southeast-1',
      MAX_PACKAGE_BYTES: ' 1048576 ',
      DOWNLOAD_TOTAL_TIMEOUT_MS: '60000',
      S3_ENDPOINT: 'http://127.0.0.1:4569',
      LOG_LEVEL: 'debug',
      URL_ALLOWED_HOSTS: ' Artifacts.Example.com., *.cdn.example.net ',
      REQUIRE_MATCHING_APP_CODE: ' TRUE ',
      EVENT_BUS_NAME: ' releases ',
      EVENTS_ENDPOINT: 'http://127.0.0.1:4571',
    });

    // Assess
    expect(config).toMatchObject({
      region: 'ap-southeast-1',
      maxPackageBytes: 1_048_576,
      totalTimeoutMs: 60_000,
      logLevel: 'debug',
      allowedHosts: ['artifacts.example.com', '*.cdn.example.net'],
      requireMatchingAppCode: true,
      eventBusName: 'releases',
      endpoints: { s3: 'http://127.0.0.1:4569/', events: 'http://127.0.0.1:4571/' },
    });
  });

  it.each(Object.keys(REQUIRED))('fails naming %s when it is missing or blank', (variable) => {
    // Act
    const missing = () => loadConfig({ ...REQUIRED, [variable]: undefined });
    const blank = () => loadConfig({ ...REQUIRED, [variable]: '  ' });

    // Assess
    expect(missing).toThrow(ConfigError);
    expect(missing).toThrow(new RegExp(`\\b${variable}\\b`));
    expect(blank).toThrow(new RegExp(`\\b${variable}\\b`));
  });

  it.each([
    ['MAX_PACKAGE_BYTES', '512MiB'],
    ['MAX_PACKAGE_BYTES', '0'],
    ['MAX_PACKAGE_BYTES', '-1'],
    ['MAX_REQUEST_BODY_BYTES', '100'],
    ['MAX_REQUEST_BODY_BYTES', String(7 * MiB)],
    ['DOWNLOAD_CONNECT_TIMEOUT_MS', '1.5'],
    ['DOWNLOAD_IDLE_TIMEOUT_MS', '900001'],
    ['DOWNLOAD_TOTAL_TIMEOUT_MS', 'soon'],
    ['CLEANUP_MARGIN_MS', '120001'],
    ['UPLOAD_PART_BYTES', String(5 * MiB - 1)],
    ['UPLOAD_QUEUE_SIZE', '33'],
    ['ALLOW_PRIVATE_URLS', 'yes please'],
    ['REQUIRE_MATCHING_APP_CODE', 'on'],
    ['LOG_LEVEL', 'verbose'],
    ['URL_ALLOWED_HOSTS', 'https://artifacts.example.com'],
    ['URL_DENIED_HOSTS', 'evil.example.com/path'],
    ['CURSOR_SIGNING_KEY', 'short-31-characters-of-a-key-xx'],
    ['EVENT_BUS_NAME', 'my bus'],
    ['EVENT_BUS_NAME', 'arn:aws:events:us-east-1:123456789012:event-bus/releases'],
  ])('fails naming %s when it is %j', (variable, value) => {
    // Act
    const loading = () => loadConfig({ ...REQUIRED, [variable]: value });

    // Assess
    expect(loading).toThrow(ConfigError);
    expect(loading).toThrow(new RegExp(`^Environment variable ${variable} `));
  });

  it.each([
    ['S3_ENDPOINT', 'not a url'],
    ['LAMBDA_ENDPOINT', '://'],
    ['DYNAMODB_ENDPOINT', 'localhost:4567'],
    ['S3_ENDPOINT', 'ftp://127.0.0.1:4569'],
  ])('fails naming %s when it is %j, not an http(s) URL', (variable, value) => {
    // Act
    const loading = () => loadConfig({ ...REQUIRED, [variable]: value });

    // Assess
    expect(loading).toThrow(new RegExp(`^Environment variable ${variable} `));
  });

  it('refuses LOG_LEVEL=silent in a function, where errors must reach the log, and takes it elsewhere', () => {
    // Act
    const inFunction = () => loadConfig({ ...REQUIRED, LOG_LEVEL: 'silent', AWS_LAMBDA_FUNCTION_NAME: 'bkpaas-stag-link' });
    const inTests = loadConfig({ ...REQUIRED, LOG_LEVEL: 'silent' });

    // Assess
    expect(inFunction).toThrow(/^Environment variable LOG_LEVEL may be silent only in the test suite/);
    expect(inTests.logLevel).toBe('silent');
  });

  it('leaves the cursor key out where it is not given, and signingKeyOf fails naming it there', () => {
    // Act
    const without = loadConfig({ ...REQUIRED });
    const withKey = loadConfig({ ...REQUIRED, CURSOR_SIGNING_KEY: ` ${'k'.repeat(32)} ` });

    // Assess
    expect(without.cursorSigningKey).toBeUndefined();
    expect(() => signingKeyOf(without)).toThrow(/^Environment variable CURSOR_SIGNING_KEY is required by the listing functions/);
    expect(signingKeyOf(withKey)).toBe('k'.repeat(32));
  });

  it('accepts ALLOW_PRIVATE_URLS=true in the local stage', () => {
    // Act
    const config = loadConfig({ ...REQUIRED, STAGE: 'local', ALLOW_PRIVATE_URLS: 'true' });

    // Assess
    expect(config.allowPrivateUrls).toBe(true);
  });

  it.each(['stag', 'prod', 'test', 'Local'])('refuses ALLOW_PRIVATE_URLS=true in the %s stage', (stage) => {
    // Act
    const loading = () => loadConfig({ ...REQUIRED, STAGE: stage, ALLOW_PRIVATE_URLS: 'true' });

    // Assess
    expect(loading).toThrow(/^Environment variable ALLOW_PRIVATE_URLS /);
  });

  it('accepts ALLOW_PRIVATE_URLS=false in any stage', () => {
    // Act
    const config = loadConfig({ ...REQUIRED, STAGE: 'prod', ALLOW_PRIVATE_URLS: 'false' });

    // Assess
    expect(config.allowPrivateUrls).toBe(false);
  });
});
