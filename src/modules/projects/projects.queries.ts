import type { Executor } from '../../db/executor.ts';
import { NotFound } from '../../errors.ts';

export function findProject(db: Executor, orgId: string, key: string) {
  return db
    .selectFrom('projects')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('key', '=', key)
    .executeTakeFirst();
}

/** The project or a 404 (another org's project looks exactly like a missing one). */
export async function requireProject(db: Executor, orgId: string, key: string) {
  const project = await findProject(db, orgId, key);
  if (project === undefined) throw new NotFound('Project not found');
  return project;
}
