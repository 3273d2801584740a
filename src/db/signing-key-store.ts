import { exportJWK, generateKeyPair } from 'jose';
import type { Kysely } from 'kysely';
import { uuidv7 } from 'uuidv7';
import type { SecretBox } from '../lib/secret-box.ts';
import type { Executor } from './executor.ts';
import type { DB } from './types.ts';

/** Adds a new current signing key (owner connection: the app role may only read keys). */
export async function addSigningKey(db: Kysely<DB>, box: SecretBox): Promise<string> {
  const { publicKey, privateKey } = await generateKeyPair('EdDSA', {
    crv: 'Ed25519',
    extractable: true,
  });
  const kid = uuidv7();
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'EdDSA', use: 'sig' };
  const privateJwk = await exportJWK(privateKey);
  await db
    .insertInto('signing_keys')
    .values({
      kid,
      public_jwk: JSON.stringify(publicJwk),
      private_enc: box.seal(JSON.stringify(privateJwk)),
    })
    .execute();
  return kid;
}

export async function hasSigningKey(db: Executor): Promise<boolean> {
  const key = await db.selectFrom('signing_keys').select('kid').limit(1).executeTakeFirst();
  return key !== undefined;
}

/** Every signing key, newest first; the private halves still sealed. */
export function listSigningKeys(db: Executor) {
  return db.selectFrom('signing_keys').selectAll().orderBy('created_at', 'desc').execute();
}
