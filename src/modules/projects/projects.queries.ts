import { sql } from 'kysely';
import { uuidv7 } from 'uuidv7';
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
/** The 404 of a project that does not exist in the org (or is another org's). */
export const projectNotFound = () => new NotFound('Project not found');

export async function requireProject(db: Executor, orgId: string, key: string) {
  const project = await findProject(db, orgId, key);
  if (project === undefined) throw projectNotFound();
  return project;
}

export function listProjects(
  db: Executor,
  orgId: string,
  after: string | undefined,
  limit: number,
) {
  let q = db
    .selectFrom('projects')
    .selectAll()
    .where('org_id', '=', orgId)
    .orderBy('key')
    .limit(limit + 1);
  if (after !== undefined) q = q.where('key', '>', after);
  return q.execute();
}

export function insertProject(
  db: Executor,
  orgId: string,
  p: { key: string; name: string; githubRepo: string | null; defaultBranch?: string | undefined },
) {
  return db
    .insertInto('projects')
    .values({
      org_id: orgId,
      id: uuidv7(),
      key: p.key,
      name: p.name,
      github_repo: p.githubRepo,
      ...(p.defaultBranch !== undefined ? { default_branch: p.defaultBranch } : {}),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Applies the given changes (absent fields stay) and bumps `updated_at`. */
export function updateProject(
  db: Executor,
  orgId: string,
  id: string,
  changes: {
    name?: string | undefined;
    githubRepo?: string | null | undefined;
    defaultBranch?: string | undefined;
  },
) {
  return db
    .updateTable('projects')
    .set({
      ...(changes.name !== undefined ? { name: changes.name } : {}),
      ...(changes.githubRepo !== undefined ? { github_repo: changes.githubRepo } : {}),
      ...(changes.defaultBranch !== undefined ? { default_branch: changes.defaultBranch } : {}),
      updated_at: sql<Date>`now()`,
    })
    .where('org_id', '=', orgId)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}
