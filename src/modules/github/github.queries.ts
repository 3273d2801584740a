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

/** Creates or replaces the project's link (the token and secret already sealed). */
export function upsertLink(
  db: Executor,
  orgId: string,
  projectId: string,
  link: { repo: string; apiUrl: string; token: string; webhookSecret: string | null },
  now: Date,
) {
  return db
    .insertInto('github_links')
    .values({
      org_id: orgId,
      project_id: projectId,
      repo: link.repo,
      api_url: link.apiUrl,
      token: link.token,
      webhook_secret: link.webhookSecret,
      created_at: now,
      updated_at: now,
    })
    .onConflict((oc) =>
      oc.columns(['org_id', 'project_id']).doUpdateSet({
        repo: link.repo,
        api_url: link.apiUrl,
        token: link.token,
        webhook_secret: link.webhookSecret,
        updated_at: now,
      }),
    )
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function deleteLink(db: Executor, orgId: string, projectId: string) {
  const r = await db
    .deleteFrom('github_links')
    .where('org_id', '=', orgId)
    .where('project_id', '=', projectId)
    .executeTakeFirst();
  return r.numDeletedRows > 0n;
}

/** Forgets the project's stored comment ids (they belong to a repository no longer linked). */
export async function forgetProjectComments(db: Executor, orgId: string, projectId: string) {
  await db
    .deleteFrom('github_comments')
    .where('org_id', '=', orgId)
    .where(
      'issue_id',
      'in',
      db
        .selectFrom('tracked_issues')
        .select('id')
        .where('org_id', '=', orgId)
        .where('project_id', '=', projectId),
    )
    .execute();
}

/** The (org, project) pairs linked to a repository, across tenants: the one function made
 *  for it (migration 0010), callable from the system door without an org. */
export async function linksForRepo(db: Executor, repo: string) {
  const { rows } = await sql<{
    org_id: string;
    project_id: string;
  }>`SELECT org_id, project_id FROM app_github_links_for_repo(${repo})`.execute(db);
  return rows;
}

/** What the status comment job needs of an issue: it, its project's key, and the link. */
export function issueWithLink(db: Executor, orgId: string, issueId: string) {
  return db
    .selectFrom('tracked_issues as i')
    .innerJoin('projects as p', (j) =>
      j.onRef('p.org_id', '=', 'i.org_id').onRef('p.id', '=', 'i.project_id'),
    )
    .innerJoin('github_links as l', (j) =>
      j.onRef('l.org_id', '=', 'i.org_id').onRef('l.project_id', '=', 'i.project_id'),
    )
    .select([
      'i.id',
      'i.number',
      'i.title',
      'i.phase',
      'i.project_id',
      'p.key as project_key',
      'l.repo',
      'l.api_url',
      'l.token',
    ])
    .where('i.org_id', '=', orgId)
    .where('i.id', '=', issueId)
    .executeTakeFirst();
}

/** What the commit status job needs of a run: it, its project's key, and the link. */
export function runWithLink(db: Executor, orgId: string, runId: string) {
  return db
    .selectFrom('test_runs as r')
    .innerJoin('projects as p', (j) =>
      j.onRef('p.org_id', '=', 'r.org_id').onRef('p.id', '=', 'r.project_id'),
    )
    .innerJoin('github_links as l', (j) =>
      j.onRef('l.org_id', '=', 'r.org_id').onRef('l.project_id', '=', 'r.project_id'),
    )
    .select([
      'r.id',
      'r.status',
      'r.commit_sha',
      'r.issue_number',
      'r.tests',
      'r.passed',
      'r.failed',
      'r.errored',
      'r.skipped',
      'r.project_id',
      'p.key as project_key',
      'l.repo',
      'l.api_url',
      'l.token',
    ])
    .where('r.org_id', '=', orgId)
    .where('r.id', '=', runId)
    .executeTakeFirst();
}

/** The issue's stored status comment; locked until the transaction ends when `lock`. */
export function storedComment(db: Executor, orgId: string, issueId: string, lock = false) {
  const q = db
    .selectFrom('github_comments')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('issue_id', '=', issueId);
  return (lock ? q.forUpdate() : q).executeTakeFirst();
}

export async function saveComment(
  db: Executor,
  orgId: string,
  issueId: string,
  c: { commentId: number; url: string | null; contentHash: string },
  now: Date,
) {
  await db
    .insertInto('github_comments')
    .values({
      org_id: orgId,
      issue_id: issueId,
      comment_id: c.commentId,
      url: c.url,
      content_hash: c.contentHash,
      synced_at: now,
    })
    .onConflict((oc) =>
      oc.columns(['org_id', 'issue_id']).doUpdateSet({
        comment_id: c.commentId,
        url: c.url,
        content_hash: c.contentHash,
        synced_at: now,
      }),
    )
    .execute();
}

/** The issue's latest complete run: the results its gates were judged on. */
export function latestCompleteRun(db: Executor, orgId: string, projectId: string, number: number) {
  return db
    .selectFrom('test_runs')
    .select(['id', 'tests', 'passed', 'failed', 'errored', 'skipped'])
    .where('org_id', '=', orgId)
    .where('project_id', '=', projectId)
    .where('issue_number', '=', number)
    .where('status', '=', 'complete')
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
}

/** The issue's escalations not yet resolved, oldest first (at most `limit`). */
export function unresolvedEscalations(db: Executor, orgId: string, issueId: string, limit: number) {
  return db
    .selectFrom('escalations')
    .select(['role', 'reason', 'status'])
    .where('org_id', '=', orgId)
    .where('issue_id', '=', issueId)
    .where('status', '!=', 'resolved')
    .orderBy('created_at')
    .orderBy('id')
    .limit(limit)
    .execute();
}

/** The issue's coordination steps not done yet, in plan order (at most `limit`). */
export function remainingActivities(db: Executor, orgId: string, issueId: string, limit: number) {
  return db
    .selectFrom('activities')
    .select(['title', 'owner_role', 'status'])
    .where('org_id', '=', orgId)
    .where('issue_id', '=', issueId)
    .where('status', '!=', 'done')
    .orderBy('position')
    .orderBy('key')
    .limit(limit)
    .execute();
}
