/**
 * Access tokens: 32 bytes from the CSPRNG, URL-safe, behind a fixed prefix that secret
 * scanners can match (`bkpaas_` + 43 base64url characters). Only their SHA-256 is ever stored.
 */
import { createHash, randomBytes } from 'node:crypto';

export const TOKEN_PREFIX = 'bkpaas_';
const TOKEN_BYTES = 32;

export function generateAccessToken(): string {
  return TOKEN_PREFIX + randomBytes(TOKEN_BYTES).toString('base64url');
}

/** Short public handle for listing and revoking; reveals nothing about the secret. */
export function generateTokenId(): string {
  return `tok_${randomBytes(8).toString('hex')}`;
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
