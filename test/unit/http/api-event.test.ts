/**
 * adaptApiEvent: whatever reaches `link` — an API Gateway REST (payload 1.0) event, an HTTP API
 * (payload 2.0) event, a console test event — becomes one plain request.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { adaptApiEvent, type ApiEventLike } from '../../../lib/http/api-event';

const FIXTURES = path.join(__dirname, '../../fixtures');
const ROUTE = '/bkapps/applications/sundy820/modules/default/source_package/link/';

function event(name: string): ApiEventLike & Record<string, unknown> {
  return JSON.parse(readFileSync(path.join(FIXTURES, 'events', name), 'utf8')) as ApiEventLike & Record<string, unknown>;
}

function filledOriginalBody(): Buffer {
  const text = readFileSync(path.join(FIXTURES, 'original-docs-multipart.txt'), 'utf8')
    .replace('Link to your source code package', 'https://artifacts.example.com/releases/sundy820-app-1.0.tar.gz')
    .replace('Your version number', 'v1.0');
  return Buffer.from(text, 'utf8');
}

describe('adaptApiEvent with an API Gateway REST (payload 1.0) event', () => {
  it('decodes the base64 multipart body to the bytes the client sent', () => {
    // Prepare
    const rest = event('rest-v1-multipart-base64.json');

    // Act
    const request = adaptApiEvent(rest, 'lambda-request-id');

    // Assess
    expect(request.body.equals(filledOriginalBody())).toBe(true);
  });

  it('lower-cases header names', () => {
    // Act
    const request = adaptApiEvent(event('rest-v1-multipart-base64.json'), 'lambda-request-id');

    // Assess
    expect(request.headers['content-type']).toBe('multipart/form-data; boundary=----WebKitFormBoundaryohLfLFHX1EPDP7rB');
    expect(request.headers['x-bkapi-authorization']).toBe('{"access_token": "Your access_token"}');
    expect(request.headers['Content-Type']).toBeUndefined();
  });

  it('takes code and module_name from pathParameters', () => {
    // Prepare
    const rest = { ...event('rest-v1-multipart-base64.json'), path: '/somewhere/else' };

    // Act
    const request = adaptApiEvent(rest, 'lambda-request-id');

    // Assess
    expect(request.pathParameters).toEqual({ code: 'sundy820', module_name: 'default' });
  });

  it('takes the request id from requestContext.requestId', () => {
    // Act
    const request = adaptApiEvent(event('rest-v1-multipart-base64.json'), 'lambda-request-id');

    // Assess
    expect(request.requestId).toBe('8d5a1f3e-6b2c-4e7a-9f10-3c4d5e6f7a8b');
  });

  it("hands on the authorizer's context from requestContext.authorizer", () => {
    // Act
    const request = adaptApiEvent(event('rest-v1-multipart-base64.json'), 'lambda-request-id');

    // Assess
    expect(request.authorizer).toMatchObject({ authenticated: 'true', principal: 'sundy', apps: 'sundy820' });
  });

  it('finds headers given only in multiValueHeaders, whatever their case', () => {
    // Prepare
    const rest = {
      ...event('rest-v1-multipart-base64.json'),
      headers: null,
      multiValueHeaders: { 'CONTENT-TYPE': ['application/json'], 'X-BKAPI-Authorization': ['{"access_token": "t"}'] },
    };

    // Act
    const request = adaptApiEvent(rest, 'lambda-request-id');

    // Assess
    expect(request.headers).toEqual({ 'content-type': 'application/json', 'x-bkapi-authorization': '{"access_token": "t"}' });
  });

  it('refuses a body marked base64 that is not base64', () => {
    // Prepare
    const rest = { ...event('rest-v1-multipart-base64.json'), body: 'version=v1&package_url=https://example.com/a.zip' };

    // Act
    const adapting = () => adaptApiEvent(rest, 'lambda-request-id');

    // Assess
    expect(adapting).toThrow(expect.objectContaining({ code: 'VALIDATION_ERROR', status: 400 }));
  });

  it('gives an empty body when the event has none', () => {
    // Prepare
    const rest = { ...event('rest-v1-multipart-base64.json'), body: null, isBase64Encoded: false };

    // Act
    const request = adaptApiEvent(rest, 'lambda-request-id');

    // Assess
    expect(request.body).toHaveLength(0);
  });
});

describe('adaptApiEvent with an HTTP API (payload 2.0) event', () => {
  it('decodes the base64 urlencoded body', () => {
    // Act
    const request = adaptApiEvent(event('http-api-v2-urlencoded.json'), 'lambda-request-id');

    // Assess
    expect(Object.fromEntries(new URLSearchParams(request.body.toString('utf8')))).toEqual({
      package_url: 'https://artifacts.example.com/releases/sundy820-app-1.0.tar.gz',
      version: 'v1.0',
      allow_overwrite: 'true',
    });
    expect(request.headers['content-type']).toBe('application/x-www-form-urlencoded');
  });

  it('takes path parameters, request id and the lambda authorizer context', () => {
    // Act
    const request = adaptApiEvent(event('http-api-v2-urlencoded.json'), 'lambda-request-id');

    // Assess
    expect(request.pathParameters).toEqual({ code: 'sundy820', module_name: 'default' });
    expect(request.requestId).toBe('RkD3uFz8IAMEbQg=');
    expect(request.authorizer).toEqual({
      authenticated: 'true',
      principal: 'sundy',
      token_id: 'tok_3f9a0c1d2e4b5a69',
      apps: 'sundy820',
    });
  });

  it('reads code and module_name from rawPath when pathParameters are absent', () => {
    // Prepare
    const { pathParameters: _dropped, ...withoutParameters } = event('http-api-v2-urlencoded.json');

    // Act
    const request = adaptApiEvent(withoutParameters, 'lambda-request-id');

    // Assess
    expect(request.pathParameters).toEqual({ code: 'sundy820', module_name: 'default' });
  });
});

describe('adaptApiEvent with a console test event', () => {
  it('takes the raw-text body as UTF-8 bytes, CRLF kept', () => {
    // Act
    const request = adaptApiEvent(event('console-test-raw-multipart.json'), 'lambda-request-id');

    // Assess
    expect(request.body.equals(filledOriginalBody())).toBe(true);
  });

  it('reads mixed-case header names such as X-Bkapi-Authorization', () => {
    // Act
    const request = adaptApiEvent(event('console-test-raw-multipart.json'), 'lambda-request-id');

    // Assess
    expect(request.headers['x-bkapi-authorization']).toBe('{"access_token": "Your access_token"}');
  });

  it('reads code and module_name from the path of a proxy resource', () => {
    // Act
    const request = adaptApiEvent(event('console-test-raw-multipart.json'), 'lambda-request-id');

    // Assess
    expect(request.pathParameters).toMatchObject({ code: 'sundy820', module_name: 'default' });
  });

  it.each([
    ['with the custom domain prefix and no trailing slash', `/api/bkpaas3/stag${ROUTE.slice(0, -1)}`],
    ['with the stage prefix', `/stag${ROUTE}`],
  ])('reads the path parameters from a path %s', (_case, eventPath) => {
    // Prepare
    const hand = { ...event('console-test-raw-multipart.json'), pathParameters: null, path: eventPath };

    // Act
    const request = adaptApiEvent(hand, 'lambda-request-id');

    // Assess
    expect(request.pathParameters).toEqual({ code: 'sundy820', module_name: 'default' });
  });

  it('decodes percent-escapes in path segments', () => {
    // Prepare
    const hand = {
      ...event('console-test-raw-multipart.json'),
      pathParameters: null,
      path: '/bkapps/applications/sundy%2D820/modules/default/source_package/link/',
    };

    // Act
    const request = adaptApiEvent(hand, 'lambda-request-id');

    // Assess
    expect(request.pathParameters.code).toBe('sundy-820');
  });

  it('gives no path parameters for a path that is not the link route', () => {
    // Prepare
    const hand = { ...event('console-test-raw-multipart.json'), pathParameters: null, path: '/path/to/resource' };

    // Act
    const request = adaptApiEvent(hand, 'lambda-request-id');

    // Assess
    expect(request.pathParameters).toEqual({});
  });

  it("falls back to the Lambda request id when the event's context has none", () => {
    // Prepare
    const { requestContext: _dropped, ...withoutContext } = event('console-test-raw-multipart.json');
    const emptyId = { ...event('console-test-raw-multipart.json'), requestContext: { requestId: '' } };

    // Act
    const withoutContextRequest = adaptApiEvent(withoutContext, 'lambda-request-id');
    const emptyIdRequest = adaptApiEvent(emptyId, 'lambda-request-id');

    // Assess
    expect(withoutContextRequest.requestId).toBe('lambda-request-id');
    expect(emptyIdRequest.requestId).toBe('lambda-request-id');
  });

  it('serialises a body given as a JSON object', () => {
    // Prepare
    const hand = { ...event('console-test-raw-multipart.json'), body: { version: 'v1', package_url: 'https://example.com/a.zip' } };

    // Act
    const request = adaptApiEvent(hand, 'lambda-request-id');

    // Assess
    expect(JSON.parse(request.body.toString('utf8'))).toEqual({ version: 'v1', package_url: 'https://example.com/a.zip' });
  });
});
