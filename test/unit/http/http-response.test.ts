/**
 * The one place errors become HTTP answers (docs/api.md#errors): {code, detail, fields_detail?} with the
 * code again in `bkapi-error-code`; anything unexpected is a generic 500 with no internals.
 */
import { describe, expect, it } from 'vitest';
import {
  PackageAlreadyExistsError,
  PackageDownloadFailedError,
  PackageUrlUnavailableError,
  ServiceError,
  StorageUnavailableError,
  UnsupportedMediaTypeError,
  ValidationError,
} from '../../../lib/core/errors';
import { errorResponse, jobResponse, jsonResponse } from '../../../lib/http/http-response';
import { createLogger } from '../../../lib/core/logger';

function capturingLogger(): { log: ReturnType<typeof createLogger>; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({ request_id: 'req-1' }, 'debug', (line) => lines.push(JSON.parse(line) as Record<string, unknown>));
  return { log, lines };
}

describe('errorResponse', () => {
  it('answers a validation error with 400, its code, detail and fields_detail', () => {
    // Prepare
    const { log } = capturingLogger();
    const error = new ValidationError('Invalid request: version.', { fieldsDetail: { version: ['This field is required.'] } });

    // Act
    const response = errorResponse(error, log);

    // Assess
    expect(response.statusCode).toBe(400);
    expect(response.headers['bkapi-error-code']).toBe('VALIDATION_ERROR');
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(response.body)).toEqual({
      code: 'VALIDATION_ERROR',
      detail: 'Invalid request: version.',
      fields_detail: { version: ['This field is required.'] },
    });
  });

  it.each([
    [new PackageAlreadyExistsError('v1'), 409, 'PACKAGE_ALREADY_EXISTS'],
    [new UnsupportedMediaTypeError('text/plain'), 415, 'UNSUPPORTED_MEDIA_TYPE'],
    [new ServiceError('PACKAGE_DOWNLOAD_TIMEOUT', 'The package URL was too slow.'), 504, 'PACKAGE_DOWNLOAD_TIMEOUT'],
  ])('answers %s with its status and no fields_detail key', (error, status, code) => {
    // Act
    const response = errorResponse(error, capturingLogger().log);

    // Assess
    expect(response.statusCode).toBe(status);
    expect(response.headers['bkapi-error-code']).toBe(code);
    expect(JSON.parse(response.body)).toEqual({ code, detail: error.detail });
  });

  it("answers a transient download failure with the remote's Retry-After as its header, and the body unchanged", () => {
    // Prepare
    const error = new PackageDownloadFailedError('The package URL answered HTTP 503.', { transient: true, retryAfterSeconds: 7 });

    // Act
    const response = errorResponse(error, capturingLogger().log);

    // Assess
    expect(response.statusCode).toBe(502);
    expect(response.headers['retry-after']).toBe('7');
    expect(JSON.parse(response.body)).toEqual({ code: 'PACKAGE_DOWNLOAD_FAILED', detail: error.detail });
  });

  it('answers a remote 404 with 422 PACKAGE_URL_UNAVAILABLE and no Retry-After', () => {
    // Act
    const response = errorResponse(new PackageUrlUnavailableError('The package URL answered HTTP 404'), capturingLogger().log);

    // Assess
    expect(response.statusCode).toBe(422);
    expect(response.headers['bkapi-error-code']).toBe('PACKAGE_URL_UNAVAILABLE');
    expect(response.headers).not.toHaveProperty('retry-after');
  });

  it("carries a failed job's retry_after to the link route's Retry-After", () => {
    // Prepare
    const view = { job_id: 'j-1', state: 'failed', error: { code: 'PACKAGE_DOWNLOAD_FAILED' as const, detail: 'The package URL answered HTTP 429.', retry_after: 30 } };

    // Act
    const response = jobResponse(view, 'https://api.example.com/jobs/j-1/', capturingLogger().log);

    // Assess
    expect(response.statusCode).toBe(502);
    expect(response.headers).toMatchObject({ 'retry-after': '30', 'x-job-id': 'j-1' });
  });

  it("keeps a storage failure's cause out of the body and in the log", () => {
    // Prepare
    const { log, lines } = capturingLogger();
    const cause = new Error('connect ECONNREFUSED 10.0.3.17:443 (arn:aws:dynamodb:us-east-1:123456789012:table/x)');

    // Act
    const response = errorResponse(new StorageUnavailableError('DynamoDB', cause), log);

    // Assess
    expect(response.statusCode).toBe(503);
    expect(response.body).not.toContain('ECONNREFUSED');
    expect(JSON.stringify(lines)).toContain('ECONNREFUSED');
  });

  it('answers an unexpected Error with a generic 500 that shows nothing of it', () => {
    // Prepare
    const { log, lines } = capturingLogger();
    const error = new TypeError("Cannot read properties of undefined (reading 'Item') at /var/task/handlers/link.js:1:2345");

    // Act
    const response = errorResponse(error, log);

    // Assess
    expect(response.statusCode).toBe(500);
    const body = JSON.parse(response.body) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(['code', 'detail']);
    expect(response.headers['bkapi-error-code']).toBe(body.code);
    expect(response.body).not.toMatch(/Cannot read|TypeError|\/var\/task|at /);
    expect(lines.some((line) => line.level === 'error' && JSON.stringify(line).includes('Cannot read properties'))).toBe(true);
  });

  it('answers a thrown non-Error with the same generic 500', () => {
    // Act
    const response = errorResponse('secret internal state', capturingLogger().log);

    // Assess
    expect(response.statusCode).toBe(500);
    expect(response.body).not.toContain('secret internal state');
  });
});

describe('jsonResponse', () => {
  it('serialises the body as JSON and is never cached', () => {
    // Act
    const response = jsonResponse(200, { version: 'v1', package_size: '4586' });

    // Assess
    expect(response).toEqual({
      statusCode: 200,
      headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
      body: '{"version":"v1","package_size":"4586"}',
    });
  });
});
