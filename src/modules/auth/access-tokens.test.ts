import { generateKeyPair, type CryptoKey } from 'jose';
import { describe, expect, it } from 'vitest';
import { uuidv7 } from 'uuidv7';
import { manualClock } from '../../lib/clock.ts';
import { createAccessTokens } from './access-tokens.ts';
import type { KeyStore } from './signing-keys.ts';

const clock = manualClock(new Date('2030-01-01T00:00:00Z'));

async function keyStore() {
  const { publicKey, privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
  let lookups = 0;
  const keys = {
    current: () =>
      Promise.resolve({ kid: 'k1', privateKey, publicKey, createdAt: clock.now(), publicJwk: {} }),
    verificationKey: (kid: string): Promise<CryptoKey | undefined> => {
      lookups++;
      return Promise.resolve(kid === 'k1' ? publicKey : undefined);
    },
  } as unknown as KeyStore;
  return { keys, lookups: () => lookups };
}

describe('access tokens', () => {
  it('verifies a token once and serves repeats from the cache', async () => {
    const { keys, lookups } = await keyStore();
    const tokens = createAccessTokens({
      keys,
      clock,
      issuer: 'https://gh',
      audience: 'gatehouse',
      ttlSeconds: 600,
    });
    const sub = uuidv7();
    const { accessToken } = await tokens.issue({ sub, sid: uuidv7(), org: null, role: null });
    const first = await tokens.verify(accessToken);
    const second = await tokens.verify(accessToken);
    expect(second).toEqual(first);
    expect(first.sub).toBe(sub);
    expect(lookups()).toBe(1);
  });

  it('keeps the cache bounded', async () => {
    const { keys, lookups } = await keyStore();
    const tokens = createAccessTokens({
      keys,
      clock,
      issuer: 'https://gh',
      audience: 'gatehouse',
      ttlSeconds: 600,
      cacheSize: 2,
    });
    const issued = [];
    for (let i = 0; i < 3; i++)
      issued.push(
        (await tokens.issue({ sub: uuidv7(), sid: uuidv7(), org: null, role: null })).accessToken,
      );
    for (const tok of issued) await tokens.verify(tok);
    expect(lookups()).toBe(3);
    await tokens.verify(issued[0]!); // evicted: verified again
    expect(lookups()).toBe(4);
    await tokens.verify(issued[2]!); // still cached
    expect(lookups()).toBe(4);
  });

  it('issues and expires tokens by the clock it is given, cached or not', async () => {
    const { keys } = await keyStore();
    const own = manualClock(new Date('2031-06-01T12:00:00Z'));
    const tokens = createAccessTokens({
      keys,
      clock: own,
      issuer: 'https://gh',
      audience: 'gatehouse',
      ttlSeconds: 600,
    });
    const { accessToken } = await tokens.issue({
      sub: uuidv7(),
      sid: uuidv7(),
      org: null,
      role: null,
    });
    const claims = await tokens.verify(accessToken);
    expect(claims.exp).toBe(Date.parse('2031-06-01T12:10:00Z') / 1000);
    own.advance(599_000);
    await expect(tokens.verify(accessToken)).resolves.toEqual(claims);
    own.advance(1_000);
    await expect(tokens.verify(accessToken)).rejects.toThrow('The access token has expired');
  });
});
