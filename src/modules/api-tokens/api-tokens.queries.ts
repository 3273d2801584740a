import { sql } from 'kysely';
import { uuidv7 } from 'uuidv7';
import type { Executor } from '../../db/executor.ts';

export function insertApiToken(
  db: Executor,
  orgId: string,
  t: { name: string; role: string; tokenHash: Buffer; createdBy: string; expiresAt: Date | null },
) {
  return db
    .insertInto('api_tokens')
    .values({
      org_id: orgId,
      id: uuidv7(),
      name: t.name,
      role: t.role,
      token_hash: t.tokenHash,
      created_by: t.createdBy,
      expires_at: t.expiresAt,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export function listApiTokens(
  db: Executor,
  orgId: string,
  after: string | undefined,
  limit: number,
) {
  let q = db
    .selectFrom('api_tokens')
    .selectAll()
    .where('org_id', '=', orgId)
    .orderBy('id', 'desc')
    .limit(limit + 1);
  if (after !== undefined) q = q.where('id', '<', after);
  return q.execute();
}

/** The live token with this hash and its org; undefined when revoked, expired or the org is gone. */
export function findLiveToken(db: Executor, orgId: string, tokenHash: Buffer) {
  return db
    .selectFrom('api_tokens as t')
    .innerJoin('orgs as o', 'o.id', 't.org_id')
    .select(['t.id', 't.name', 't.role', 'o.id as org_id', 'o.slug', 'o.name as org_name'])
    .where('t.org_id', '=', orgId)
    .where('t.token_hash', '=', tokenHash)
    .where('t.revoked_at', 'is', null)
    .where((eb) =>
      eb.or([eb('t.expires_at', 'is', null), eb('t.expires_at', '>', sql<Date>`now()`)]),
    )
    .where('o.deleted_at', 'is', null)
    .executeTakeFirst();
}

/** Revokes a token that is not revoked yet; undefined when there is none. */
export function revokeApiToken(db: Executor, orgId: string, id: string) {
  return db
    .updateTable('api_tokens')
    .set({ revoked_at: sql<Date>`now()` })
    .where('org_id', '=', orgId)
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .returning('id')
    .executeTakeFirst();
}
