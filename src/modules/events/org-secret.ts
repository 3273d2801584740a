import { randomBytes } from 'node:crypto';
import { isUuid, sha256 } from '../../lib/tokens.ts';

/*
 * Secrets that name their organization, as CI tokens do (`gth_`): prefix + base64url(org id
 * ‖ 256 random bits). The org id lets the server enter that tenant (row-level security on)
 * before it looks the hash up; a forged id only finds nothing. `gte_`: a one-time ticket
 * for a live event stream. `gtb_`: a project's badge token.
 */
type Prefix = 'gte' | 'gtb';

export function newNamedSecret(prefix: Prefix, orgId: string): { token: string; hash: Buffer } {
  const id = Buffer.from(orgId.replace(/-/g, ''), 'hex');
  const token = `${prefix}_${Buffer.concat([id, randomBytes(32)]).toString('base64url')}`;
  return { token, hash: sha256(token) };
}

export function parseNamedSecret(
  prefix: Prefix,
  token: string,
): { orgId: string; hash: Buffer } | null {
  if (!token.startsWith(`${prefix}_`) || token.length !== prefix.length + 1 + 64) return null;
  const body = token.slice(prefix.length + 1);
  if (!/^[A-Za-z0-9_-]{64}$/.test(body)) return null;
  const h = Buffer.from(body, 'base64url').subarray(0, 16).toString('hex');
  const orgId = `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
  return isUuid(orgId) ? { orgId, hash: sha256(token) } : null;
}
