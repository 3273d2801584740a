import { sql } from 'kysely';
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

/** The 404 of an issue number the project does not track. */
export const issueNotFound = (number: number) =>
  new NotFound(`Issue #${number} is not tracked in this project`);

export async function requireIssue(db: Executor, orgId: string, projectId: string, number: number) {
  const issue = await findIssue(db, orgId, projectId, number);
  if (issue === undefined) throw issueNotFound(number);
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

/** Every tracked issue of the project, as the gate engine refers to them. */
export function issuesOfProject(db: Executor, orgId: string, projectId: string) {
  return db
    .selectFrom('tracked_issues')
    .select(['id', 'number'])
    .where('org_id', '=', orgId)
    .where('project_id', '=', projectId)
    .execute();
}

export function insertIssue(
  db: Executor,
  orgId: string,
  projectId: string,
  input: {
    number: number;
    title: string;
    phase?: string | undefined;
    githubIssueUrl: string | null;
  },
  now: Date,
) {
  return db
    .insertInto('tracked_issues')
    .values({
      org_id: orgId,
      id: uuidv7(),
      project_id: projectId,
      number: input.number,
      title: input.title,
      ...(input.phase !== undefined ? { phase: input.phase } : {}),
      github_issue_url: input.githubIssueUrl,
      created_at: now,
      updated_at: now,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export function updateIssue(
  db: Executor,
  orgId: string,
  issueId: string,
  changes: {
    title?: string | undefined;
    phase?: string | undefined;
    githubIssueUrl?: string | null | undefined;
    targetDate?: string | null | undefined;
  },
  now: Date,
) {
  return db
    .updateTable('tracked_issues')
    .set({
      ...(changes.title !== undefined ? { title: changes.title } : {}),
      ...(changes.phase !== undefined ? { phase: changes.phase } : {}),
      ...(changes.githubIssueUrl !== undefined ? { github_issue_url: changes.githubIssueUrl } : {}),
      ...(changes.targetDate !== undefined ? { target_date: changes.targetDate } : {}),
      updated_at: now,
    })
    .where('org_id', '=', orgId)
    .where('id', '=', issueId)
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** A page of the project's issues by number, each with its stored overall gate state. */
export function listIssues(
  db: Executor,
  orgId: string,
  projectId: string,
  page: { limit: number; afterNumber?: number | undefined },
) {
  let q = db
    .selectFrom('tracked_issues as i')
    .leftJoin('gate_reports as g', (j) =>
      j.onRef('g.org_id', '=', 'i.org_id').onRef('g.issue_id', '=', 'i.id'),
    )
    .selectAll('i')
    .select(sql<string | null>`g.report->>'overall'`.as('overall'))
    .where('i.org_id', '=', orgId)
    .where('i.project_id', '=', projectId)
    .orderBy('i.number')
    .limit(page.limit);
  if (page.afterNumber !== undefined) q = q.where('i.number', '>', page.afterNumber);
  return q.execute();
}

/** The issue's stored overall gate state; null before it was judged. */
export async function overallOf(db: Executor, orgId: string, issueId: string) {
  const row = await db
    .selectFrom('gate_reports')
    .select(sql<string | null>`report->>'overall'`.as('overall'))
    .where('org_id', '=', orgId)
    .where('issue_id', '=', issueId)
    .executeTakeFirst();
  return row?.overall ?? null;
}

/** How a signed-in user is named as a reviewer: their name, else their email (users are global). */
export async function reviewerNameOf(db: Executor, userId: string): Promise<string | undefined> {
  const row = await db
    .selectFrom('users')
    .select(['name', 'email'])
    .where('id', '=', userId)
    .executeTakeFirst();
  if (row === undefined) return undefined;
  return row.name.trim() === '' ? row.email : row.name;
}

export function insertReview(
  db: Executor,
  orgId: string,
  issueId: string,
  review: {
    verdict: string;
    conditions: { text: string; status: string }[];
    notes: string | null;
    reviewer: string;
    recordedBy: string;
  },
  now: Date,
) {
  return db
    .insertInto('reviews')
    .values({
      org_id: orgId,
      id: uuidv7(),
      issue_id: issueId,
      verdict: review.verdict,
      conditions: JSON.stringify(review.conditions),
      notes: review.notes,
      reviewer: review.reviewer,
      recorded_by: review.recordedBy,
      created_at: now,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** A page of the issue's reviews, newest first. */
export function listReviews(
  db: Executor,
  orgId: string,
  issueId: string,
  page: { limit: number; before?: string | undefined },
) {
  let q = db
    .selectFrom('reviews')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('issue_id', '=', issueId)
    .orderBy('id', 'desc')
    .limit(page.limit);
  if (page.before !== undefined) q = q.where('id', '<', page.before);
  return q.execute();
}

/** Records who checked or unchecked a manual criterion, and when. */
export async function saveCriterionCheck(
  db: Executor,
  orgId: string,
  issueId: string,
  check: { criterion: string; checked: boolean; by: string },
  now: Date,
): Promise<void> {
  await db
    .insertInto('criterion_checks')
    .values({
      org_id: orgId,
      issue_id: issueId,
      criterion_key: check.criterion,
      checked: check.checked,
      checked_by: check.by,
      checked_at: now,
    })
    .onConflict((oc) =>
      oc
        .columns(['org_id', 'issue_id', 'criterion_key'])
        .doUpdateSet({ checked: check.checked, checked_by: check.by, checked_at: now }),
    )
    .execute();
}

export async function setIssuePhase(
  db: Executor,
  orgId: string,
  issueId: string,
  p: { phase: string; before: string; at: Date },
): Promise<void> {
  await db
    .updateTable('tracked_issues')
    .set({ phase: p.phase, phase_before: p.before, phase_changed_at: p.at, updated_at: p.at })
    .where('org_id', '=', orgId)
    .where('id', '=', issueId)
    .execute();
}
