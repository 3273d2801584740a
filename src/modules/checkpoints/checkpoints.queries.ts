import { sql, type Selectable } from 'kysely';
import { uuidv7 } from 'uuidv7';
import type { Executor } from '../../db/executor.ts';
import type { CheckpointsTable } from '../../db/types-coordination.ts';
import type { Recurrence } from '../../domain/recurrence.ts';

export type Checkpoint = Selectable<CheckpointsTable>;

export interface NewCheckpoint {
  issueId: string;
  title: string;
  recurrence: Recurrence;
  ownerRole: string | null;
  timeZone: string;
  nextDueAt: Date | null;
  at: Date;
}

export function insertCheckpoint(db: Executor, orgId: string, c: NewCheckpoint) {
  return db
    .insertInto('checkpoints')
    .values({
      org_id: orgId,
      id: uuidv7(),
      issue_id: c.issueId,
      title: c.title,
      recurrence: JSON.stringify(c.recurrence),
      owner_role: c.ownerRole,
      time_zone: c.timeZone,
      next_due_at: c.nextDueAt,
      created_at: c.at,
      updated_at: c.at,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** The issue's checkpoints in the order they were made, after the cursor id. */
export function listCheckpoints(
  db: Executor,
  orgId: string,
  issueId: string,
  page: { limit: number; after?: string | undefined },
) {
  let q = db
    .selectFrom('checkpoints')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('issue_id', '=', issueId);
  if (page.after !== undefined) q = q.where('id', '>', page.after);
  return q.orderBy('id').limit(page.limit).execute();
}

export function findCheckpoint(db: Executor, orgId: string, issueId: string, id: string) {
  return db
    .selectFrom('checkpoints')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('issue_id', '=', issueId)
    .where('id', '=', id)
    .executeTakeFirst();
}

/** One checkpoint of the issue, locked until the transaction ends. */
export function lockCheckpoint(db: Executor, orgId: string, issueId: string, id: string) {
  return db
    .selectFrom('checkpoints')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('issue_id', '=', issueId)
    .where('id', '=', id)
    .forUpdate()
    .executeTakeFirst();
}

/** A checkpoint by id alone (a job knows no issue), locked until the transaction ends. */
export function lockCheckpointById(db: Executor, orgId: string, id: string) {
  return db
    .selectFrom('checkpoints')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('id', '=', id)
    .forUpdate()
    .executeTakeFirst();
}

/** The issue's checkpoints fired by the activity `key` becoming done, locked. */
export function lockActivityCheckpoints(db: Executor, orgId: string, issueId: string, key: string) {
  return db
    .selectFrom('checkpoints')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('issue_id', '=', issueId)
    .where(sql<boolean>`recurrence->>'kind' = 'activity_done'`)
    .where(sql<boolean>`recurrence->>'activity' = ${key}`)
    .orderBy('id')
    .forUpdate()
    .execute();
}

export interface CheckpointChanges {
  title?: string;
  recurrence?: Recurrence;
  ownerRole?: string | null;
  timeZone?: string;
  nextDueAt?: Date | null;
  lastDueAt?: Date | null;
  lastCompletedAt?: Date | null;
}

export function updateCheckpoint(
  db: Executor,
  orgId: string,
  id: string,
  changes: CheckpointChanges,
  now: Date,
) {
  return db
    .updateTable('checkpoints')
    .set({
      ...(changes.title === undefined ? {} : { title: changes.title }),
      ...(changes.recurrence === undefined
        ? {}
        : { recurrence: JSON.stringify(changes.recurrence) }),
      ...(changes.ownerRole === undefined ? {} : { owner_role: changes.ownerRole }),
      ...(changes.timeZone === undefined ? {} : { time_zone: changes.timeZone }),
      ...(changes.nextDueAt === undefined ? {} : { next_due_at: changes.nextDueAt }),
      ...(changes.lastDueAt === undefined ? {} : { last_due_at: changes.lastDueAt }),
      ...(changes.lastCompletedAt === undefined
        ? {}
        : { last_completed_at: changes.lastCompletedAt }),
      updated_at: now,
    })
    .where('org_id', '=', orgId)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function deleteCheckpoint(db: Executor, orgId: string, id: string): Promise<void> {
  await db.deleteFrom('checkpoints').where('org_id', '=', orgId).where('id', '=', id).execute();
}

/** Whether the issue has an activity with this key (a checkpoint may wait for it). */
export async function activityExists(
  db: Executor,
  orgId: string,
  issueId: string,
  key: string,
): Promise<boolean> {
  const row = await db
    .selectFrom('activities')
    .select('id')
    .where('org_id', '=', orgId)
    .where('issue_id', '=', issueId)
    .where('key', '=', key)
    .executeTakeFirst();
  return row !== undefined;
}

/** What an event about the issue names it by: its project's key and its number. */
export function issueSubject(db: Executor, orgId: string, issueId: string) {
  return db
    .selectFrom('tracked_issues as i')
    .innerJoin('projects as p', (j) =>
      j.onRef('p.org_id', '=', 'i.org_id').onRef('p.id', '=', 'i.project_id'),
    )
    .select(['i.number', 'p.key as project'])
    .where('i.org_id', '=', orgId)
    .where('i.id', '=', issueId)
    .executeTakeFirstOrThrow();
}
