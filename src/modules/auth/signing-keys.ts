import { importJWK, type CryptoKey, type JWK } from 'jose';
import type { Kysely } from 'kysely';
import { listSigningKeys } from '../../db/signing-key-store.ts';
import type { DB } from '../../db/types.ts';
import type { Clock } from '../../lib/clock.ts';
import type { SecretBox } from '../../lib/secret-box.ts';

// Creating a key is a storage primitive (first start, `gatehouse keys rotate`); it lives in
// src/db so storage does not reach into this module.
export { addSigningKey } from '../../db/signing-key-store.ts';

interface LoadedKey {
  kid: string;
  createdAt: Date;
  publicJwk: JWK;
  publicKey: CryptoKey;
  privateKey: CryptoKey;
}

/**
 * Signing keys from the database, private halves decrypted in memory. The newest key
 * signs; older keys keep verifying until every token they signed has expired. Reloads
 * periodically and when an unknown `kid` shows up, so a rotation in another process is seen.
 */
export function createKeyStore(deps: {
  db: Kysely<DB>;
  box: SecretBox;
  tokenTtlSeconds: number;
  clock: Clock;
}) {
  const now = () => deps.clock.now().getTime();
  let keys: LoadedKey[] = [];
  let loadedAt = 0;
  let loading: Promise<void> | null = null;
  const graceMs = (deps.tokenTtlSeconds + 120) * 1000;

  async function load(): Promise<void> {
    const rows = await listSigningKeys(deps.db);
    const loaded: LoadedKey[] = [];
    for (const row of rows) {
      const publicJwk = row.public_jwk as JWK;
      loaded.push({
        kid: row.kid,
        createdAt: row.created_at,
        publicJwk,
        publicKey: (await importJWK(publicJwk, 'EdDSA')) as CryptoKey,
        privateKey: (await importJWK(
          JSON.parse(deps.box.open(row.private_enc)) as JWK,
          'EdDSA',
        )) as CryptoKey,
      });
    }
    keys = loaded;
    loadedAt = now();
  }

  function reload(): Promise<void> {
    loading ??= load().finally(() => {
      loading = null;
    });
    return loading;
  }

  /** Keys that may still have live tokens: the current one, and each older one until
   *  its successor has been around longer than a token lives. */
  function verifying(now: number): LoadedKey[] {
    return keys.filter((k, i) => i === 0 || keys[i - 1]!.createdAt.getTime() + graceMs > now);
  }

  return {
    reload,
    async current(): Promise<LoadedKey> {
      if (now() - loadedAt > 60_000) await reload();
      const key = keys[0];
      if (key === undefined) throw new Error('no signing key; run "gatehouse migrate"');
      return key;
    },
    async verificationKey(kid: string): Promise<CryptoKey | undefined> {
      const at = now();
      let key = verifying(at).find((k) => k.kid === kid);
      if (key === undefined && at - loadedAt > 5_000) {
        await reload();
        key = verifying(at).find((k) => k.kid === kid);
      }
      return key?.publicKey;
    },
    jwks(): { keys: JWK[] } {
      return { keys: verifying(now()).map((k) => k.publicJwk) };
    },
  };
}
export type KeyStore = ReturnType<typeof createKeyStore>;
