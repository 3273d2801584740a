import { sql } from 'kysely';
import { uuidv7 } from 'uuidv7';
import type { Executor } from '../../db/executor.ts';
import type { ActivityStatus } from '../../domain/schedule.ts';

export type { ActivityStatus };

export interface NewActivity {
  issueId: string;
  key: string;
  title: string;
  ownerRole: string;
  ownerUserId?: string | null;
  status?: ActivityStatus;
  minDays: number;
  maxDays: number;
  likelyDays?: number | null;
  deliverable?: string | null;
  /** Keys of activities of the same issue that must be done first. */
  dependsOn?: string[];
  /** Keys of the project's gates that must pass before it can start. */
  gates?: string[];
  at: Date;
}

/**
 * Inserts an activity at the end of its issue's list and returns the row. The caller checks
 * access, the keys it depends on and its gates; a duplicate key fails on the unique index.
 */
export function insertActivity(db: Executor, orgId: string, a: NewActivity) {
  return db
    .insertInto('activities')
    .values({
      org_id: orgId,
      id: uuidv7(),
      issue_id: a.issueId,
      key: a.key,
      title: a.title,
      owner_role: a.ownerRole,
      owner_user_id: a.ownerUserId ?? null,
      status: a.status ?? 'pending',
      min_days: a.minDays,
      max_days: a.maxDays,
      likely_days: a.likelyDays ?? null,
      deliverable: a.deliverable ?? null,
      depends_on: a.dependsOn ?? [],
      gates: a.gates ?? [],
      position: sql<number>`(select coalesce(max(position) + 1, 0) from activities
        where org_id = ${orgId} and issue_id = ${a.issueId})`,
      started_at: a.status === 'in_progress' ? a.at : null,
      done_at: a.status === 'done' ? a.at : null,
      created_at: a.at,
      updated_at: a.at,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Every activity of the issue, in the order they were added. */
export function activitiesOfIssue(db: Executor, orgId: string, issueId: string) {
  return db
    .selectFrom('activities')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('issue_id', '=', issueId)
    .orderBy('position')
    .orderBy('created_at')
    .orderBy('id')
    .execute();
}

export type ActivityRow = Awaited<ReturnType<typeof activitiesOfIssue>>[number];

/**
 * Serializes changes to one issue's activity graph (a transaction-scoped advisory lock, so
 * two concurrent edits cannot each pass the cycle check and make a cycle together). Touches
 * no row: it cannot deadlock with the gate engine's or the issue's row locks.
 */
export async function lockActivityGraph(db: Executor, issueId: string): Promise<void> {
  await sql`SELECT pg_advisory_xact_lock(hashtextextended(${`activities:${issueId}`}, 0))`.execute(
    db,
  );
}

export interface ActivityChanges {
  title?: string;
  ownerRole?: string;
  ownerUserId?: string | null;
  status?: ActivityStatus;
  minDays?: number;
  maxDays?: number;
  likelyDays?: number | null;
  deliverable?: string | null;
  dependsOn?: string[];
  gates?: string[];
  startedAt?: Date | null;
  doneAt?: Date | null;
}

/**
 * Applies changes if the row is still at `version` (optimistic locking) and bumps the
 * version; undefined when it is not (changed by someone else meanwhile, or gone).
 */
export function updateActivity(
  db: Executor,
  orgId: string,
  id: string,
  version: number,
  c: ActivityChanges,
  now: Date,
) {
  return db
    .updateTable('activities')
    .set((eb) => ({
      ...(c.title !== undefined ? { title: c.title } : {}),
      ...(c.ownerRole !== undefined ? { owner_role: c.ownerRole } : {}),
      ...(c.ownerUserId !== undefined ? { owner_user_id: c.ownerUserId } : {}),
      ...(c.status !== undefined ? { status: c.status } : {}),
      ...(c.minDays !== undefined ? { min_days: c.minDays } : {}),
      ...(c.maxDays !== undefined ? { max_days: c.maxDays } : {}),
      ...(c.likelyDays !== undefined ? { likely_days: c.likelyDays } : {}),
      ...(c.deliverable !== undefined ? { deliverable: c.deliverable } : {}),
      ...(c.dependsOn !== undefined ? { depends_on: c.dependsOn } : {}),
      ...(c.gates !== undefined ? { gates: c.gates } : {}),
      ...(c.startedAt !== undefined ? { started_at: c.startedAt } : {}),
      ...(c.doneAt !== undefined ? { done_at: c.doneAt } : {}),
      version: eb('version', '+', 1),
      updated_at: now,
    }))
    .where('org_id', '=', orgId)
    .where('id', '=', id)
    .where('version', '=', version)
    .returningAll()
    .executeTakeFirst();
}

/** An activity with the issue and project it belongs to (for background work by id). */
export function activityInContext(db: Executor, orgId: string, activityId: string) {
  return db
    .selectFrom('activities as a')
    .innerJoin('tracked_issues as i', (j) =>
      j.onRef('i.org_id', '=', 'a.org_id').onRef('i.id', '=', 'a.issue_id'),
    )
    .innerJoin('projects as p', (j) =>
      j.onRef('p.org_id', '=', 'i.org_id').onRef('p.id', '=', 'i.project_id'),
    )
    .select([
      'a.id',
      'a.key',
      'a.issue_id',
      'i.number as issue_number',
      'i.target_date',
      'p.id as project_id',
      'p.key as project_key',
      'p.default_branch',
    ])
    .where('a.org_id', '=', orgId)
    .where('a.id', '=', activityId)
    .executeTakeFirst();
}
