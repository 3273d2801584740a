import type { Executor } from '../../db/executor.ts';

// What the report reads that no other module's queries offer. Every query names org_id
// and the issue; the caller has already resolved both inside the tenant transaction.

export function orgName(db: Executor, orgId: string) {
  return db
    .selectFrom('orgs')
    .select(['slug', 'name'])
    .where('id', '=', orgId)
    .executeTakeFirstOrThrow();
}

/** Names of the org's QA leads, else of its owners: who coordinates QA. */
export async function orchestratorNames(db: Executor, orgId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('memberships as m')
    .innerJoin('users as u', 'u.id', 'm.user_id')
    .select(['u.name', 'm.role'])
    .where('m.org_id', '=', orgId)
    .where('m.role', 'in', ['qa_lead', 'owner'])
    .orderBy('m.created_at')
    .limit(50)
    .execute();
  const leads = rows.filter((r) => r.role === 'qa_lead');
  return (leads.length > 0 ? leads : rows).map((r) => r.name);
}

/** The issue's phase moves, oldest first, from the audit log. */
export function phaseChangesOf(db: Executor, orgId: string, issueId: string) {
  return db
    .selectFrom('audit_events')
    .select(['actor_type', 'actor_id', 'data', 'created_at'])
    .where('org_id', '=', orgId)
    .where('action', '=', 'issue.phase_changed')
    .where('target_type', '=', 'issue')
    .where('target_id', '=', issueId)
    .orderBy('id')
    .limit(200)
    .execute();
}

/** Display names of the org's members among the given user ids. */
export async function memberNames(
  db: Executor,
  orgId: string,
  userIds: string[],
): Promise<Map<string, string>> {
  if (userIds.length === 0) return new Map();
  const rows = await db
    .selectFrom('memberships as m')
    .innerJoin('users as u', 'u.id', 'm.user_id')
    .select(['u.id', 'u.name'])
    .where('m.org_id', '=', orgId)
    .where('u.id', 'in', userIds)
    .execute();
  return new Map(rows.map((r) => [r.id, r.name]));
}
