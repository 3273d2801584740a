import type { Caller } from '../db/tenant.ts';
import { Unauthorized } from '../errors.ts';
import { parseOrgSecret } from '../lib/tokens.ts';
import type { AccessTokens } from '../modules/auth/access-tokens.ts';

/**
 * The caller an `Authorization: Bearer` header names: a CI token (`gth_`, checked against
 * live state later, by the tenant door) or a verified access token. Throws 401 otherwise.
 */
export async function callerFromHeader(
  header: string | undefined,
  requestId: string,
  tokens: AccessTokens,
): Promise<Caller> {
  if (header === undefined) throw new Unauthorized();
  const match = /^Bearer ([^\s]+)$/i.exec(header);
  if (match === null) throw new Unauthorized('Use "Authorization: Bearer <token>"');
  const token = match[1]!;
  if (token.startsWith('gth_')) {
    const parsed = parseOrgSecret('gth', token);
    if (parsed === null) throw new Unauthorized('The API token is invalid, expired or revoked');
    return { actor: { kind: 'token', orgId: parsed.orgId, tokenHash: parsed.hash }, requestId };
  }
  const claims = await tokens.verify(token);
  return {
    actor: { kind: 'user', userId: claims.sub, sessionId: claims.sid, orgId: claims.org },
    requestId,
  };
}

/**
 * When the access token in the header expires (ms since the epoch); null for a CI token,
 * which has no expiry of its own. Call after callerFromHeader accepted the header (the
 * verification is cached, so this costs no second signature check).
 */
export async function accessTokenExpiry(
  header: string | undefined,
  tokens: AccessTokens,
): Promise<number | null> {
  const token = header === undefined ? undefined : /^Bearer ([^\s]+)$/i.exec(header)?.[1];
  if (token === undefined || token.startsWith('gth_')) return null;
  return (await tokens.verify(token)).exp * 1000;
}
