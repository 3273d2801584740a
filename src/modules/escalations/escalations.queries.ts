import type { Selectable } from 'kysely';
import type { Executor } from '../../db/executor.ts';
import type { EscalationLevel, EscalationsTable } from '../../db/types-coordination.ts';
import type { EscalationClock, EscalationStatus } from '../../domain/escalation-clock.ts';

export type EscalationRow = Selectable<EscalationsTable>;

/** The project's escalation chain, or undefined before one is set. */
export function findChain(db: Executor, orgId: string, projectId: string) {
  return db
    .selectFrom('escalation_chains')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('project_id', '=', projectId)
    .executeTakeFirst();
}

/** The chain levels of the project an issue belongs to ([] without a chain). */
export async function chainOfIssue(
  db: Executor,
  orgId: string,
  issueId: string,
): Promise<EscalationLevel[]> {
  const row = await db
    .selectFrom('escalation_chains as c')
    .innerJoin('tracked_issues as i', (j) =>
      j.onRef('i.org_id', '=', 'c.org_id').onRef('i.project_id', '=', 'c.project_id'),
    )
    .select('c.levels')
    .where('c.org_id', '=', orgId)
    .where('i.id', '=', issueId)
    .executeTakeFirst();
  return row?.levels ?? [];
}

export function saveChain(
  db: Executor,
  orgId: string,
  projectId: string,
  levels: EscalationLevel[],
  now: Date,
) {
  const json = JSON.stringify(levels);
  return db
    .insertInto('escalation_chains')
    .values({ org_id: orgId, project_id: projectId, levels: json, updated_at: now })
    .onConflict((oc) =>
      oc.columns(['org_id', 'project_id']).doUpdateSet({ levels: json, updated_at: now }),
    )
    .returningAll()
    .executeTakeFirstOrThrow();
}

export interface NewEscalation {
  id: string;
  issueId: string;
  reason: string;
  request: string;
  questions: { topic: string; text: string }[];
  ackWithinHours: number;
  answerWithinHours: number;
  activityId: string | null;
  createdBy: string;
  clock: EscalationClock;
  at: Date;
}

export function insertEscalation(db: Executor, orgId: string, e: NewEscalation) {
  return db
    .insertInto('escalations')
    .values({
      org_id: orgId,
      id: e.id,
      issue_id: e.issueId,
      reason: e.reason,
      request: e.request,
      questions: JSON.stringify(e.questions),
      ack_within_hours: e.ackWithinHours,
      answer_within_hours: e.answerWithinHours,
      activity_id: e.activityId,
      created_by: e.createdBy,
      created_at: e.at,
      ...clockColumns(e.clock, e.at),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

function clockColumns(c: EscalationClock, at: Date) {
  return {
    status: c.status,
    role: c.role,
    level: c.level,
    member_id: c.memberId,
    ack_due_at: c.ackDueAt,
    answer_due_at: c.answerDueAt,
    paused_at: c.pausedAt,
    paused_seconds: c.pausedSeconds,
    acknowledged_at: c.acknowledgedAt,
    answered_at: c.answeredAt,
    resolved_at: c.resolvedAt,
    breached_at: c.breachedAt,
    updated_at: at,
  };
}

/** Writes the clock's state back (and the answer's text when given). */
export function saveClock(
  db: Executor,
  orgId: string,
  id: string,
  c: EscalationClock,
  at: Date,
  extra: { answer?: string } = {},
) {
  return db
    .updateTable('escalations')
    .set({
      ...clockColumns(c, at),
      ...(extra.answer === undefined ? {} : { answer: extra.answer }),
    })
    .where('org_id', '=', orgId)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** One escalation, locked for the rest of the transaction; by issue when one is given. */
export function lockEscalation(db: Executor, orgId: string, id: string, issueId?: string) {
  let q = db.selectFrom('escalations').selectAll().where('org_id', '=', orgId).where('id', '=', id);
  if (issueId !== undefined) q = q.where('issue_id', '=', issueId);
  return q.forUpdate().executeTakeFirst();
}

export function findEscalation(db: Executor, orgId: string, issueId: string, id: string) {
  return db
    .selectFrom('escalations')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('issue_id', '=', issueId)
    .where('id', '=', id)
    .executeTakeFirst();
}

/** A page of the issue's escalations, newest first. */
export function listEscalations(
  db: Executor,
  orgId: string,
  issueId: string,
  page: { limit: number; before?: string | undefined; status?: EscalationStatus | undefined },
) {
  let q = db
    .selectFrom('escalations')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('issue_id', '=', issueId)
    .orderBy('id', 'desc')
    .limit(page.limit);
  if (page.before !== undefined) q = q.where('id', '<', page.before);
  if (page.status !== undefined) q = q.where('status', '=', page.status);
  return q.execute();
}

/** Every escalation of the issue, oldest first (for reports). */
export function escalationsOfIssue(db: Executor, orgId: string, issueId: string) {
  return db
    .selectFrom('escalations')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('issue_id', '=', issueId)
    .orderBy('id')
    .execute();
}

export async function countEscalations(
  db: Executor,
  orgId: string,
  issueId: string,
  opts: { unresolvedExcept?: string } = {},
): Promise<number> {
  let q = db
    .selectFrom('escalations')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('org_id', '=', orgId)
    .where('issue_id', '=', issueId);
  if (opts.unresolvedExcept !== undefined)
    q = q.where('status', '<>', 'resolved').where('id', '<>', opts.unresolvedExcept);
  const row = await q.executeTakeFirstOrThrow();
  return Number(row.n);
}

/** The issue an escalation belongs to, with its project (for the clock's background job). */
export function issueOfEscalation(db: Executor, orgId: string, issueId: string) {
  return db
    .selectFrom('tracked_issues as i')
    .innerJoin('projects as p', (j) =>
      j.onRef('p.org_id', '=', 'i.org_id').onRef('p.id', '=', 'i.project_id'),
    )
    .select(['i.id', 'i.number', 'i.phase', 'i.phase_before', 'p.key as projectKey'])
    .where('i.org_id', '=', orgId)
    .where('i.id', '=', issueId)
    .executeTakeFirstOrThrow();
}

/** The keys of the issue's activities, by id (an escalation names its response activity). */
export async function activityKeys(
  db: Executor,
  orgId: string,
  ids: string[],
): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const rows = await db
    .selectFrom('activities')
    .select(['id', 'key'])
    .where('org_id', '=', orgId)
    .where('id', 'in', ids)
    .execute();
  return new Map(rows.map((r) => [r.id, r.key]));
}

/**
 * Hands the response activity to whoever owes the response now (a level up the chain);
 * its version bumped as any edit of an activity does. A done activity stays as it was.
 */
export async function handResponseActivity(
  db: Executor,
  orgId: string,
  activityId: string,
  owner: { role: string; userId: string | null },
  at: Date,
): Promise<void> {
  await db
    .updateTable('activities')
    .set((eb) => ({
      owner_role: owner.role,
      owner_user_id: owner.userId,
      version: eb('version', '+', 1),
      updated_at: at,
    }))
    .where('org_id', '=', orgId)
    .where('id', '=', activityId)
    .where('status', '<>', 'done')
    .execute();
}
