import { uuidv7 } from 'uuidv7';
import type { Executor } from '../../db/executor.ts';
import { NotFound } from '../../errors.ts';

export function findIssue(db: Executor, orgId: string, projectId: string, number: number) {
  return db
    .selectFrom('tracked_issues')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('project_id', '=', projectId)
    .where('number', '=', number)
    .executeTakeFirst();
}

export async function requireIssue(db: Executor, orgId: string, projectId: string, number: number) {
  const issue = await findIssue(db, orgId, projectId, number);
  if (issue === undefined) throw new NotFound(`Issue #${number} is not tracked in this project`);
  return issue;
}

/** Runs uploaded with `issue=N` belong to issue N; an issue first seen that way starts being tracked. */
export async function ensureIssue(db: Executor, orgId: string, projectId: string, number: number) {
  const inserted = await db
    .insertInto('tracked_issues')
    .values({
      org_id: orgId,
      id: uuidv7(),
      project_id: projectId,
      number,
      title: `Issue #${number}`,
    })
    .onConflict((oc) => oc.columns(['org_id', 'project_id', 'number']).doNothing())
    .returning('id')
    .executeTakeFirst();
  return {
    issue: await requireIssue(db, orgId, projectId, number),
    created: inserted !== undefined,
  };
}
