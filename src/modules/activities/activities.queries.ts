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
