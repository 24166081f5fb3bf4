/**
 * Who is calling (docs/api.md#base-url-and-authentication): X-BKAPI-AUTHORIZATION: {"access_token": "..."}. Each way of being
 * refused is a 401 UNAUTHENTICATED with its own detail, and no detail ever repeats the token.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../../lib/auth/access-token';
import { assertAllowedOn, authenticate, callerFromVerdict, parseAuthorizationHeader, verdictFor, type TokenCheckDeps } from '../../../lib/auth/auth';
import { UnauthenticatedError } from '../../../lib/core/errors';
import type { TokenRecord } from '../../../lib/auth/token-store';

const TOKEN = 'bkpaas_R4nd0mS3cr3tV4lu3ThatMustNeverBeEchoedBack00000';
const NOW = new Date('2020-08-24T17:15:51.000Z');

const header = (token: unknown): string => JSON.stringify({ access_token: token, bk_app_code: 'sundy820', bk_username: 'sundy' });

/** A DynamoDB client whose GetItem finds `stored` under the SHA-256 of `token`, and nothing else. */
function tokenTable(token: string, stored: Partial<TokenRecord> | undefined): DynamoDBClient {
  const record: TokenRecord = {
    tokenId: 'tok_3f9a0c1d2e4b5a69',
    principal: 'sundy',
    apps: ['sundy820'],
    created: '2020-01-01T00:00:00.000Z',
    expires: undefined,
    revoked: false,
    ...stored,
  };
  const send = async (command: { input: { Key?: { token_sha256?: { S?: string } } } }) => {
    if (stored === undefined || command.input.Key?.token_sha256?.S !== sha256Hex(token)) return {};
    return {
      Item: {
        token_sha256: { S: sha256Hex(token) },
        token_id: { S: record.tokenId },
        principal: { S: record.principal },
        apps: { L: record.apps.map((app) => ({ S: app })) },
        created: { S: record.created },
        ...(record.expires ? { expires: { S: record.expires } } : {}),
        revoked: { BOOL: record.revoked },
      },
    };
  };
  return { send } as unknown as DynamoDBClient;
}

const deps = (dynamodb: DynamoDBClient): TokenCheckDeps => ({ dynamodb, tokensTable: 'unit-tokens', now: () => NOW });

describe('parseAuthorizationHeader', () => {
  it('takes the access_token and ignores the other keys', () => {
    // Act
    const token = parseAuthorizationHeader(header(TOKEN));

    // Assess
    expect(token).toBe(TOKEN);
  });

  it("reads the original docs' header as written", () => {
    // Act
    const token = parseAuthorizationHeader('{"access_token": "Your access_token"}');

    // Assess
    expect(token).toBe('Your access_token');
  });
});

describe('authenticate', () => {
  it('gives the caller of a known, live token', async () => {
    // Prepare
    const dynamodb = tokenTable(TOKEN, { expires: '2020-08-24T17:15:51.001Z' });

    // Act
    const caller = await authenticate(header(TOKEN), deps(dynamodb));

    // Assess
    expect(caller).toEqual({ principal: 'sundy', tokenId: 'tok_3f9a0c1d2e4b5a69', apps: ['sundy820'] });
  });

  // [case, header value, stored token (undefined: none), which refusal it is]
  const refusals: [string, string | undefined, Partial<TokenRecord> | undefined, string][] = [
    ['the header is missing', undefined, {}, 'missing'],
    ['the header is blank', '   ', {}, 'missing'],
    ['the header is not JSON', `access_token=${TOKEN}`, {}, 'not JSON'],
    ['the header is JSON but cut short', `{"access_token": "${TOKEN}"`, {}, 'not JSON'],
    ['the header is a JSON string, not an object', JSON.stringify(TOKEN), {}, 'not an object'],
    ['the header has no access_token', JSON.stringify({ bk_app_code: 'sundy820' }), {}, 'no token'],
    ['the access_token is empty', header(''), {}, 'bad token'],
    ['the access_token is not a string', header(42), {}, 'bad token'],
    ['the token is unknown', header(TOKEN), undefined, 'unknown'],
    ['the token has expired', header(TOKEN), { expires: NOW.toISOString() }, 'expired'],
    ['the token has been revoked', header(TOKEN), { revoked: true }, 'revoked'],
  ];

  it.each(refusals)('answers 401 UNAUTHENTICATED when %s', async (_case, value, stored) => {
    // Act
    const checking = authenticate(value, deps(tokenTable(TOKEN, stored)));

    // Assess
    await expect(checking).rejects.toBeInstanceOf(UnauthenticatedError);
    await expect(checking).rejects.toMatchObject({ code: 'UNAUTHENTICATED', status: 401 });
  });

  it('gives each refusal its own detail, none of which repeats the token', async () => {
    // Act
    const outcomes = await Promise.allSettled(
      refusals.map(([, value, stored]) => authenticate(value, deps(tokenTable(TOKEN, stored)))),
    );

    // Assess
    const details = outcomes.map((outcome) => (outcome.status === 'rejected' ? (outcome.reason as UnauthenticatedError).detail : 'accepted'));
    expect(details).not.toContain('accepted');
    const detailsByKind = new Map<string, Set<string>>();
    refusals.forEach(([, , , kind], index) => detailsByKind.set(kind, (detailsByKind.get(kind) ?? new Set()).add(details[index] ?? '')));
    for (const kindDetails of detailsByKind.values()) expect(kindDetails.size).toBe(1);
    expect(new Set(details).size).toBe(detailsByKind.size);
    for (const detail of details) {
      expect(detail).not.toContain(TOKEN);
      expect(detail).not.toContain(TOKEN.slice(7, 27));
    }
  });

  it('never puts the token in the error message either', async () => {
    // Act
    const checking = authenticate(`{"access_token": "${TOKEN}"`, deps(tokenTable(TOKEN, {})));

    // Assess
    await expect(checking).rejects.toSatisfy((error: Error) => !error.message.includes(TOKEN) && !String(error.cause ?? '').includes(TOKEN));
  });
});

describe('assertAllowedOn', () => {
  it('lets a token act on an application it lists, or on any with "*"', () => {
    // Act
    const listed = () => assertAllowedOn({ principal: 'sundy', tokenId: 't', apps: ['other', 'sundy820'] }, 'sundy820');
    const wildcard = () => assertAllowedOn({ principal: 'admin', tokenId: 't', apps: ['*'] }, 'sundy820');

    // Assess
    expect(listed).not.toThrow();
    expect(wildcard).not.toThrow();
  });

  it('answers 403 PERMISSION_DENIED for an application the token does not list', () => {
    // Act
    const checking = () => assertAllowedOn({ principal: 'sundy', tokenId: 't', apps: ['other'] }, 'sundy820');

    // Assess
    expect(checking).toThrow(expect.objectContaining({ code: 'PERMISSION_DENIED', status: 403 }));
  });
});

describe("the authorizer's verdict", () => {
  it('carries an accepted caller through the string-only request context', () => {
    // Prepare
    const caller = { principal: 'sundy', tokenId: 'tok_1', apps: ['sundy820', 'other'] };

    // Act
    const back = callerFromVerdict({ ...verdictFor(caller), principalId: 'sundy', integrationLatency: 12 });

    // Assess
    expect(back).toEqual(caller);
  });

  it('carries a refusal with its detail, as a 401', () => {
    // Prepare
    const verdict = verdictFor(new UnauthenticatedError('The access token has expired.'));

    // Act
    const reading = () => callerFromVerdict(verdict);

    // Assess
    expect(reading).toThrow(expect.objectContaining({ code: 'UNAUTHENTICATED', detail: 'The access token has expired.' }));
  });

  it('counts a context without our marker as no verdict, never as allowed', () => {
    // Act
    const verdicts = [
      callerFromVerdict(undefined),
      callerFromVerdict({ principalId: 'offlineContext_authorizer_principalId' }),
      callerFromVerdict({ authenticated: 'true', principal: 'sundy' }),
    ];

    // Assess
    expect(verdicts).toEqual([undefined, undefined, undefined]);
  });
});
