/**
 * The answer shape (docs/api.md#answers): exactly six fields, package_size a decimal string, times in
 * UTC as `YYYY-MM-DD HH:MM:SS`.
 */
import { describe, expect, it } from 'vitest';
import { formatApiTime, toPackageResponse, type PackageRecord } from '../../../lib/storage/package-record';

const DIGEST = 'f2ca1bb6c7e907d06dafe4687e579fce76b37e4e93b7605022da52e6ccc26fd2';

function record(overrides: Partial<PackageRecord> = {}): PackageRecord {
  return {
    code: 'sundy820',
    module: 'default',
    version: 'v1',
    packageName: 'tmpcvml_dsm.tar.gz',
    packageSize: 4586,
    sha256: DIGEST,
    format: 'tar.gz',
    entryCount: 3,
    uncompressedSize: 10240,
    objectKey: 'sundy820/default/v1/8d5a1f3e.tar.gz',
    requestId: '8d5a1f3e-6b2c-4e7a-9f10-3c4d5e6f7a8b',
    operator: 'sundy',
    created: '2020-08-24T17:15:51.000Z',
    updated: '2020-08-24T17:15:51.000Z',
    ...overrides,
  };
}

describe('formatApiTime', () => {
  it('gives YYYY-MM-DD HH:MM:SS in UTC', () => {
    // Act
    const text = formatApiTime('2020-08-24T17:15:51.000Z');

    // Assess
    expect(text).toBe('2020-08-24 17:15:51');
  });

  it('converts an instant written with another offset to UTC', () => {
    // Act
    const text = formatApiTime('2020-08-25T01:15:51+08:00');

    // Assess
    expect(text).toBe('2020-08-24 17:15:51');
  });

  it('drops milliseconds without rounding up', () => {
    // Act
    const text = formatApiTime('2020-12-31T23:59:59.999Z');

    // Assess
    expect(text).toBe('2020-12-31 23:59:59');
  });

  it('refuses a value that is not a time', () => {
    // Act
    const formatting = () => formatApiTime('yesterday');

    // Assess
    expect(formatting).toThrow(RangeError);
  });
});

describe('toPackageResponse', () => {
  it('gives exactly the six fields of the original API, in its order', () => {
    // Act
    const response = toPackageResponse(record({ updated: '2021-01-02T03:04:05.678Z' }));

    // Assess
    expect(Object.keys(response)).toEqual(['version', 'package_name', 'package_size', 'sha256_signature', 'updated', 'created']);
    expect(response).toEqual({
      version: 'v1',
      package_name: 'tmpcvml_dsm.tar.gz',
      package_size: '4586',
      sha256_signature: DIGEST,
      updated: '2021-01-02 03:04:05',
      created: '2020-08-24 17:15:51',
    });
  });

  it('writes package_size as a plain decimal string, even for sizes beyond 4 GiB', () => {
    // Act
    const response = toPackageResponse(record({ packageSize: 5 * 1024 ** 3 }));

    // Assess
    expect(response.package_size).toBe('5368709120');
  });

  it('writes an empty package as "0"', () => {
    // Act
    const response = toPackageResponse(record({ packageSize: 0 }));

    // Assess
    expect(response.package_size).toBe('0');
  });
});
