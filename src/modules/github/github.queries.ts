import { sql } from 'kysely';
import type { Executor } from '../../db/executor.ts';

/** The project's GitHub link (secrets still sealed), if it has one. */
export function findLink(db: Executor, orgId: string, projectId: string) {
  return db
    .selectFrom('github_links')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('project_id', '=', projectId)
    .executeTakeFirst();
}

/** The issue's project, number and key when that project is linked to GitHub. */
export function linkedIssue(db: Executor, orgId: string, issueId: string) {
  return db
    .selectFrom('tracked_issues as i')
    .innerJoin('github_links as l', (j) =>
      j.onRef('l.org_id', '=', 'i.org_id').onRef('l.project_id', '=', 'i.project_id'),
    )
    .select(['i.id', 'i.project_id', 'i.number'])
    .where('i.org_id', '=', orgId)
    .where('i.id', '=', issueId)
    .executeTakeFirst();
}

/** The run when its project is linked to GitHub and it names a commit. */
export function linkedRunWithCommit(db: Executor, orgId: string, runId: string) {
  return db
    .selectFrom('test_runs as r')
    .innerJoin('github_links as l', (j) =>
      j.onRef('l.org_id', '=', 'r.org_id').onRef('l.project_id', '=', 'r.project_id'),
    )
    .select(['r.id', 'r.project_id', 'r.commit_sha'])
    .where('r.org_id', '=', orgId)
    .where('r.id', '=', runId)
    .where('r.commit_sha', 'is not', null)
    .where(sql<boolean>`r.commit_sha <> ''`)
    .executeTakeFirst();
}
