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
