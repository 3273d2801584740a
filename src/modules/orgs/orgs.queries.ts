import { sql, type Transaction } from 'kysely';
import { uuidv7 } from 'uuidv7';
import { enterOrg, writeAudit } from '../../db/tenant.ts';
import type { Executor } from '../../db/executor.ts';
import type { DB } from '../../db/types.ts';

/** The org unless it was deleted. */
export function liveOrg(db: Executor, orgId: string) {
  return db.selectFrom('orgs').selectAll().where('id', '=', orgId).where('deleted_at', 'is', null);
}

export function findLiveOrg(db: Executor, orgId: string) {
  return liveOrg(db, orgId).executeTakeFirst();
}

export function slugTaken(db: Executor, slug: string) {
  return db
    .selectFrom('orgs')
    .select('id')
    .where('slug', '=', slug)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
}

export function renameOrg(db: Executor, orgId: string, name: string) {
  return db
    .updateTable('orgs')
    .set({ name })
    .where('id', '=', orgId)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function softDeleteOrg(db: Executor, orgId: string): Promise<void> {
  await db
    .updateTable('orgs')
    .set({ deleted_at: sql<Date>`now()` })
    .where('id', '=', orgId)
    .execute();
}

export function listOrgsOfUser(
  db: Executor,
  userId: string,
  after: string | undefined,
  limit: number,
) {
  let q = db
    .selectFrom('memberships as m')
    .innerJoin('orgs as o', 'o.id', 'm.org_id')
    .select(['o.id', 'o.slug', 'o.name', 'o.created_at', 'm.role'])
    .where('m.user_id', '=', userId)
    .where('o.deleted_at', 'is', null)
    .orderBy('o.id')
    .limit(limit + 1);
  if (after !== undefined) q = q.where('o.id', '>', after);
  return q.execute();
}

/**
 * Creates an organization with `ownerId` as its owner and audits it, in the caller's
 * transaction (which must be `withUser`'s: no org is entered yet). Leaves the transaction
 * inside the new org.
 */
export async function insertOrgWithOwner(
  trx: Transaction<DB>,
  org: { slug: string; name: string },
  ownerId: string,
  requestId: string | null,
  auditData: Record<string, unknown>,
) {
  const row = await trx
    .insertInto('orgs')
    .values({ id: uuidv7(), slug: org.slug, name: org.name })
    .returningAll()
    .executeTakeFirstOrThrow();
  await enterOrg(trx, row.id);
  await trx
    .insertInto('memberships')
    .values({ org_id: row.id, user_id: ownerId, role: 'owner' })
    .execute();
  await writeAudit(trx, row.id, 'user', ownerId, requestId, {
    action: 'org.created',
    targetType: 'org',
    targetId: row.id,
    data: auditData,
  });
  return row;
}
