// Per-node bearer tokens for the Ignition service. A token both authenticates and identifies its node:
// it is only in that node's user data, so holding it means "I am (or can read the metadata of) that node".
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const TOKEN_BYTES = 32;
const TOKEN_RE = /^[A-Za-z0-9_-]{43}$/; // 32 bytes as unpadded base64url

/** A fresh token: 32 random bytes, base64url (safe in an HTTP header and in JSON without escaping). */
export function newNodeToken(): string {
  return randomBytes(TOKEN_BYTES).toString('base64url');
}

export function isWellFormedToken(token: string): boolean {
  return TOKEN_RE.test(token);
}

/**
 * Constant-time token comparison. Both sides are hashed first so the comparison takes the same time
 * whatever the presented token's length (timingSafeEqual itself requires equal lengths).
 */
export function tokensEqual(presented: string, expected: string): boolean {
  const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();
  return timingSafeEqual(digest(presented), digest(expected));
}

/** The token of an `Authorization: Bearer <token>` header, or undefined if absent or of another scheme. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1];
}
