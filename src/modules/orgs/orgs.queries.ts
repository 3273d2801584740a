import type { Kysely, Transaction } from 'kysely';
import type { DB } from '../../db/types.ts';

type Executor = Kysely<DB> | Transaction<DB>;

export function findLiveOrg(db: Executor, orgId: string) {
  return db
    .selectFrom('orgs')
    .selectAll()
    .where('id', '=', orgId)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
}

export function slugTaken(db: Executor, slug: string) {
  return db
    .selectFrom('orgs')
    .select('id')
    .where('slug', '=', slug)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
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
