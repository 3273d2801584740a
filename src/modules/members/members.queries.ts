import type { Executor } from '../../db/executor.ts';

export function listMembers(db: Executor, orgId: string, after: string | undefined, limit: number) {
  let q = db
    .selectFrom('memberships as m')
    .innerJoin('users as u', 'u.id', 'm.user_id')
    .select(['m.user_id', 'u.email', 'u.name', 'm.role', 'm.created_at'])
    .where('m.org_id', '=', orgId)
    .orderBy('m.user_id')
    .limit(limit + 1);
  if (after !== undefined) q = q.where('m.user_id', '>', after);
  return q.execute();
}

export function findMember(db: Executor, orgId: string, userId: string) {
  return db
    .selectFrom('memberships as m')
    .innerJoin('users as u', 'u.id', 'm.user_id')
    .select(['m.user_id', 'u.email', 'u.name', 'm.role', 'm.created_at'])
    .where('m.org_id', '=', orgId)
    .where('m.user_id', '=', userId)
    .executeTakeFirst();
}

export function findMembership(db: Executor, orgId: string, userId: string) {
  return db
    .selectFrom('memberships')
    .select('role')
    .where('org_id', '=', orgId)
    .where('user_id', '=', userId)
    .executeTakeFirst();
}

export async function insertMembership(
  db: Executor,
  orgId: string,
  userId: string,
  role: string,
): Promise<void> {
  await db.insertInto('memberships').values({ org_id: orgId, user_id: userId, role }).execute();
}

export async function setMemberRole(
  db: Executor,
  orgId: string,
  userId: string,
  role: string,
): Promise<void> {
  await db
    .updateTable('memberships')
    .set({ role })
    .where('org_id', '=', orgId)
    .where('user_id', '=', userId)
    .execute();
}

export async function deleteMember(db: Executor, orgId: string, userId: string): Promise<void> {
  await db
    .deleteFrom('memberships')
    .where('org_id', '=', orgId)
    .where('user_id', '=', userId)
    .execute();
}

/** Locks the org's owner rows so two concurrent demotions cannot both pass the last-owner check. */
export async function lockOwners(db: Executor, orgId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('memberships')
    .select('user_id')
    .where('org_id', '=', orgId)
    .where('role', '=', 'owner')
    .forUpdate()
    .execute();
  return rows.map((r) => r.user_id);
}
