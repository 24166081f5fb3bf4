/**
 * `X-BKAPI-AUTHORIZATION: {"access_token": "..."}` (DESIGN §2).
 * Tokens are compared by their SHA-256 digest, so the configuration never holds a clear token.
 * The accepted digests come from configuration until the token table replaces them.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { UnauthenticatedError } from './errors';

export const AUTH_HEADER = 'x-bkapi-authorization';

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** The access token inside the header; other keys (bk_app_code, bk_username, …) are ignored. */
export function parseAuthorizationHeader(value: string | undefined): string {
  if (value === undefined || value.trim() === '') {
    throw new UnauthenticatedError('The X-BKAPI-AUTHORIZATION header is missing.');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new UnauthenticatedError('The X-BKAPI-AUTHORIZATION header is not valid JSON.');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new UnauthenticatedError('The X-BKAPI-AUTHORIZATION header must be a JSON object.');
  }
  const token = (parsed as Record<string, unknown>).access_token;
  if (typeof token !== 'string' || token.trim() === '') {
    throw new UnauthenticatedError('The X-BKAPI-AUTHORIZATION header has no access_token.');
  }
  return token.trim();
}

export function authenticate(headerValue: string | undefined, acceptedSha256s: ReadonlySet<string>): void {
  const digest = Buffer.from(sha256Hex(parseAuthorizationHeader(headerValue)), 'hex');
  let known = false;
  for (const accepted of acceptedSha256s) {
    // Constant-time per comparison; the set is small and fixed.
    if (timingSafeEqual(digest, Buffer.from(accepted, 'hex'))) known = true;
  }
  if (!known) throw new UnauthenticatedError('The access token is not valid.');
}
