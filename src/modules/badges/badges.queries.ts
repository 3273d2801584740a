import type { Executor } from '../../db/executor.ts';

export function findBadge(db: Executor, orgId: string, projectId: string) {
  return db
    .selectFrom('project_badges')
    .select(['token_hash', 'token_sealed'])
    .where('org_id', '=', orgId)
    .where('project_id', '=', projectId)
    .executeTakeFirst();
}

/** Stores the project's badge token, replacing any before it (rotation). */
export async function saveBadge(
  db: Executor,
  orgId: string,
  b: { projectId: string; hash: Buffer; sealed: string; now: Date },
): Promise<void> {
  await db
    .insertInto('project_badges')
    .values({
      org_id: orgId,
      project_id: b.projectId,
      token_hash: b.hash,
      token_sealed: b.sealed,
      created_at: b.now,
    })
    .onConflict((oc) =>
      oc.columns(['org_id', 'project_id']).doUpdateSet({
        token_hash: b.hash,
        token_sealed: b.sealed,
        created_at: b.now,
      }),
    )
    .execute();
}

/** The project (by key) whose badge token has this hash; undefined for any mismatch. */
export function projectByBadge(db: Executor, orgId: string, key: string, hash: Buffer) {
  return db
    .selectFrom('projects as p')
    .innerJoin('project_badges as b', (j) =>
      j.onRef('b.org_id', '=', 'p.org_id').onRef('b.project_id', '=', 'p.id'),
    )
    .select(['p.id'])
    .where('p.org_id', '=', orgId)
    .where('p.key', '=', key)
    .where('b.token_hash', '=', hash)
    .executeTakeFirst();
}
