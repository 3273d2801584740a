import { generateKeyPair, type CryptoKey } from 'jose';
import { describe, expect, it } from 'vitest';
import { uuidv7 } from 'uuidv7';
import { createAccessTokens } from './access-tokens.ts';
import type { KeyStore } from './signing-keys.ts';

async function keyStore() {
  const { publicKey, privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
  let lookups = 0;
  const keys = {
    current: () =>
      Promise.resolve({ kid: 'k1', privateKey, publicKey, createdAt: new Date(), publicJwk: {} }),
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
});
