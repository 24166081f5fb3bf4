/**
 * Property: whatever body, headers, encoding and path a client sends, the link function answers
 * a documented status with the documented error shape — never a 500, never an unhandled
 * rejection (vitest fails the run on one). Tokens and versions are checked against the DynamoDB
 * emulator; the worker is a stub that answers success, because no archive is involved here.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLinkHandler } from '../../../handlers/link';
import { ERROR_STATUS } from '../../../lib/core/errors';
import { createToken } from '../../../lib/auth/token-store';
import { startTestStorage, type TestStorage } from '../../helpers/storage';

const ORIGINAL = readFileSync(path.join(__dirname, '../../fixtures/original-docs-multipart.txt'), 'utf8')
  .replace('Link to your source code package', 'https://example.com/app.tar.gz')
  .replace('Your version number', 'v1');
const BOUNDARY = '----WebKitFormBoundaryohLfLFHX1EPDP7rB';
const DOCUMENTED = new Set([202, 400, 401, 403, 405, 409, 413, 415]);

let storage: TestStorage;
let token: string;

beforeAll(async () => {
  storage = await startTestStorage();
  token = (await createToken(storage.dynamodb, storage.tokensTable, { principal: 'fuzzer', apps: ['sundy820'] })).token;
});

afterAll(async () => {
  await storage?.close();
});

// Lambda accepts the job's event; no worker runs it, so a valid request ends in 202 once link's
// (shortened) wait for the job is over.
const lambdaAcceptsEvents = { send: async () => ({ StatusCode: 202 }) } as never;

/** A valid body, then cut, spliced with junk, or replaced outright. */
const bodies = fc.oneof(
  fc.constant(ORIGINAL),
  fc.nat({ max: ORIGINAL.length }).map((n) => ORIGINAL.slice(0, n)),
  fc.tuple(fc.nat({ max: ORIGINAL.length }), fc.string({ maxLength: 40 })).map(([at, junk]) => ORIGINAL.slice(0, at) + junk + ORIGINAL.slice(at)),
  fc.string({ maxLength: 300 }),
  fc.json({ maxDepth: 3 }),
  fc.dictionary(fc.constantFrom('package_url', 'version', 'allow_overwrite', 'sha256', 'other'), fc.string({ maxLength: 60 })).map((fields) => new URLSearchParams(fields).toString()),
  fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes).toString('latin1')),
);

const contentTypes = fc.oneof(
  fc.constant(`multipart/form-data; boundary=${BOUNDARY}`),
  fc.constant('multipart/form-data'),
  fc.constant(`multipart/form-data; boundary="${BOUNDARY}"; charset=utf-8`),
  fc.constant('application/x-www-form-urlencoded'),
  fc.constant('application/json'),
  fc.constant(undefined),
  fc.string({ maxLength: 40 }),
);

const authHeaders = fc.oneof(
  fc.constant(() => JSON.stringify({ access_token: token })),
  fc.constant(() => JSON.stringify({ access_token: `${token}x` })),
  fc.string({ maxLength: 60 }).map((text) => () => text),
  fc.json({ maxDepth: 2 }).map((text) => () => text),
  fc.constant(() => undefined),
);

const codes = fc.oneof(fc.constant('sundy820'), fc.constant('other-app'), fc.string({ maxLength: 40 }));

describe('malformed requests', () => {
  it('only ever get a documented status and error shape', async () => {
    const link = createLinkHandler({
      config: storage.config({ STAGE: 'stag', ALLOW_PRIVATE_URLS: 'false', MAX_REQUEST_BODY_BYTES: '2048', SYNC_BUDGET_MS: '100' }),
      dynamodb: storage.clientsOf('link').dynamodb,
      lambda: lambdaAcceptsEvents,
      now: () => new Date(),
    });

    await fc.assert(
      fc.asyncProperty(bodies, contentTypes, authHeaders, codes, fc.boolean(), fc.boolean(), async (body, contentType, auth, code, base64, padding) => {
        const authValue = auth();
        const event = {
          headers: {
            ...(contentType === undefined ? {} : { 'Content-Type': contentType }),
            ...(authValue === undefined ? {} : { 'X-BKAPI-AUTHORIZATION': authValue }),
          },
          body: base64 ? Buffer.from(body + (padding ? ' '.repeat(3000) : ''), 'utf8').toString('base64') : body,
          isBase64Encoded: base64,
          pathParameters: { code, module_name: 'default' },
          requestContext: { requestId: randomUUID() },
        };

        const response = await link(event, { awsRequestId: randomUUID(), getRemainingTimeInMillis: () => 10_000 });

        expect(DOCUMENTED).toContain(response.statusCode);
        const answer = JSON.parse(response.body) as { code?: string; detail?: string; job_id?: string };
        if (response.statusCode === 202) expect(response.headers['x-job-id']).toBe(answer.job_id);
        if (response.statusCode >= 400) {
          expect(Object.keys(ERROR_STATUS)).toContain(answer.code);
          expect(ERROR_STATUS[answer.code as keyof typeof ERROR_STATUS]).toBe(response.statusCode);
          expect(response.headers['bkapi-error-code']).toBe(answer.code);
          expect(typeof answer.detail).toBe('string');
          expect(response.body).not.toContain(token);
        }
      }),
      { numRuns: 300 },
    );
  });
});
