import { createHash, randomBytes } from 'node:crypto';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return UUID_RE.test(value);
}

export function sha256(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

function uuidToBytes(uuid: string): Buffer {
  return Buffer.from(uuid.replace(/-/g, ''), 'hex');
}

function bytesToUuid(bytes: Buffer): string {
  const h = bytes.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/**
 * An opaque secret that names its organization: prefix + base64url(org id ‖ 256 random bits).
 * The org id lets the server look the hash up inside that tenant's row-level security.
 */
export function newOrgSecret(
  prefix: 'gth' | 'gti',
  orgId: string,
): { token: string; hash: Buffer } {
  const token = `${prefix}_${Buffer.concat([uuidToBytes(orgId), randomBytes(32)]).toString('base64url')}`;
  return { token, hash: sha256(token) };
}

/** Splits an org secret into its org id and hash; null when it is not of that form. */
export function parseOrgSecret(
  prefix: 'gth' | 'gti',
  token: string,
): { orgId: string; hash: Buffer } | null {
  if (!token.startsWith(`${prefix}_`) || token.length !== prefix.length + 1 + 64) return null;
  const body = token.slice(prefix.length + 1);
  if (!/^[A-Za-z0-9_-]{64}$/.test(body)) return null;
  const bytes = Buffer.from(body, 'base64url');
  if (bytes.length !== 48) return null;
  return { orgId: bytesToUuid(bytes.subarray(0, 16)), hash: sha256(token) };
}

/** An opaque secret with no structure (refresh tokens). */
export function newSecret(prefix: string): { token: string; hash: Buffer } {
  const token = `${prefix}_${randomBytes(32).toString('base64url')}`;
  return { token, hash: sha256(token) };
}
