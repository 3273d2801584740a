import { errors as joseErrors, jwtVerify, SignJWT, type JWTPayload } from 'jose';
import { uuidv7 } from 'uuidv7';
import { Unauthorized } from '../../errors.ts';
import type { Clock } from '../../lib/clock.ts';
import { isUuid } from '../../lib/tokens.ts';
import type { KeyStore } from './signing-keys.ts';

export const MAX_TOKEN_BYTES = 8 * 1024;

export interface AccessClaims {
  sub: string;
  sid: string;
  org: string | null;
  role: string | null;
  exp: number;
}

interface Options {
  keys: KeyStore;
  /** Issuing and verifying both read it, so they agree when a test moves time. */
  clock: Clock;
  issuer: string;
  audience: string;
  ttlSeconds: number;
  cacheSize?: number;
}

/** Issues and verifies EdDSA access tokens (`typ: at+jwt`), caching verified ones until expiry. */
export function createAccessTokens(opts: Options) {
  const cache = new Map<string, AccessClaims>();
  const cacheSize = opts.cacheSize ?? 10_000;

  async function issue(claims: {
    sub: string;
    sid: string;
    org: string | null;
    role: string | null;
  }) {
    const key = await opts.keys.current();
    const issuedAt = Math.floor(opts.clock.now().getTime() / 1000);
    const token = await new SignJWT({ sid: claims.sid, org: claims.org, role: claims.role })
      .setProtectedHeader({ alg: 'EdDSA', kid: key.kid, typ: 'at+jwt' })
      .setIssuer(opts.issuer)
      .setAudience(opts.audience)
      .setSubject(claims.sub)
      .setIssuedAt(issuedAt)
      .setExpirationTime(issuedAt + opts.ttlSeconds)
      .setJti(uuidv7())
      .sign(key.privateKey);
    return { accessToken: token, expiresIn: opts.ttlSeconds };
  }

  async function verify(token: string): Promise<AccessClaims> {
    if (Buffer.byteLength(token) > MAX_TOKEN_BYTES)
      throw new Unauthorized('The access token is too large');
    const cached = cache.get(token);
    const now = opts.clock.now();
    const nowSeconds = now.getTime() / 1000;
    if (cached !== undefined) {
      if (cached.exp > nowSeconds) return cached;
      cache.delete(token);
    }
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(
        token,
        async (header) => {
          const key =
            typeof header.kid === 'string'
              ? await opts.keys.verificationKey(header.kid)
              : undefined;
          if (key === undefined)
            throw new Unauthorized('The access token was signed by an unknown key');
          return key;
        },
        {
          algorithms: ['EdDSA'],
          issuer: opts.issuer,
          audience: opts.audience,
          typ: 'at+jwt',
          requiredClaims: ['exp', 'iat', 'jti', 'sub', 'sid'],
          maxTokenAge: `${opts.ttlSeconds + 60}s`,
          currentDate: now,
        },
      ));
    } catch (err) {
      if (err instanceof Unauthorized) throw err;
      if (err instanceof joseErrors.JWTExpired)
        throw new Unauthorized('The access token has expired');
      if (err instanceof joseErrors.JOSEError)
        throw new Unauthorized('The access token is invalid');
      throw err;
    }
    const { sub, sid, org, role, exp } = payload as JWTPayload & Record<string, unknown>;
    if (
      typeof sub !== 'string' ||
      !isUuid(sub) ||
      typeof sid !== 'string' ||
      !isUuid(sid) ||
      !(org === null || (typeof org === 'string' && isUuid(org))) ||
      !(role === null || typeof role === 'string') ||
      typeof exp !== 'number'
    ) {
      throw new Unauthorized('The access token is invalid');
    }
    const claims: AccessClaims = { sub, sid, org, role, exp };
    if (cache.size >= cacheSize) {
      // Drop the oldest entry (Map keeps insertion order).
      const oldest = cache.keys().next();
      if (oldest.done !== true) cache.delete(oldest.value);
    }
    cache.set(token, claims);
    return claims;
  }

  return { issue, verify };
}
export type AccessTokens = ReturnType<typeof createAccessTokens>;
