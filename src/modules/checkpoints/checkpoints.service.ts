import type { Kysely, Transaction } from 'kysely';
import type { Caller } from '../../db/tenant.ts';
import type { DB } from '../../db/types.ts';
import {
  anchorRecurrence,
  canonicalTimeZone,
  describeRecurrence,
  localDate,
  nextDue,
  type Recurrence,
  type RecurrenceInput,
} from '../../domain/recurrence.ts';
import { BadInput, NotFound } from '../../errors.ts';
import { cancelDue, scheduleDue } from '../../jobs/due-work.queries.ts';
import type { Clock } from '../../lib/clock.ts';
import { decodeCursor, toPage, type PageQuery } from '../../lib/pagination.ts';
import { inIssue, type IssueScope } from '../scope.ts';
import {
  activityExists,
  deleteCheckpoint,
  findCheckpoint,
  insertCheckpoint,
  listCheckpoints,
  lockCheckpoint,
  updateCheckpoint,
  type Checkpoint,
} from './checkpoints.queries.ts';

export type CheckpointState = 'scheduled' | 'due' | 'waiting' | 'done';

/** Due: it came due and nobody has completed it since. */
function stateOf(c: Checkpoint): CheckpointState {
  const outstanding =
    c.last_due_at !== null && (c.last_completed_at === null || c.last_completed_at < c.last_due_at);
  if (outstanding) return 'due';
  if (c.next_due_at !== null) return 'scheduled';
  return (c.recurrence as Recurrence).kind === 'activity_done' ? 'waiting' : 'done';
}

function checkpointOut(c: Checkpoint) {
  const recurrence = c.recurrence as Recurrence;
  return {
    id: c.id,
    title: c.title,
    recurrence,
    schedule: describeRecurrence(recurrence, c.time_zone),
    ownerRole: c.owner_role,
    timeZone: c.time_zone,
    state: stateOf(c),
    nextDueAt: c.next_due_at?.toISOString() ?? null,
    lastDueAt: c.last_due_at?.toISOString() ?? null,
    lastCompletedAt: c.last_completed_at?.toISOString() ?? null,
    createdAt: c.created_at.toISOString(),
    updatedAt: c.updated_at.toISOString(),
  };
}

export interface CheckpointInput {
  title: string;
  recurrence: RecurrenceInput;
  ownerRole?: string | null | undefined;
  timeZone?: string | undefined;
}

type Tx = Transaction<DB>;

/** The zone, recurrence and first due time a checkpoint would have, or a 400 naming the field. */
async function plan(
  trx: Tx,
  orgId: string,
  issueId: string,
  input: { recurrence: RecurrenceInput; timeZone: string },
  now: Date,
): Promise<{ recurrence: Recurrence; timeZone: string; nextDueAt: Date | null }> {
  const timeZone = canonicalTimeZone(input.timeZone);
  if (timeZone === null)
    throw new BadInput(`body/timeZone "${input.timeZone}" is not an IANA time zone`, [
      { path: 'body/timeZone', message: 'is not an IANA time zone (e.g. Europe/Berlin, UTC)' },
    ]);
  let recurrence: Recurrence;
  try {
    recurrence = anchorRecurrence(input.recurrence, timeZone, now);
  } catch (err) {
    const field = input.recurrence.kind === 'once' ? 'date' : 'from';
    throw new BadInput(`body/recurrence/${field} ${(err as Error).message}`, [
      { path: `body/recurrence/${field}`, message: (err as Error).message },
    ]);
  }
  if (
    recurrence.kind === 'activity_done' &&
    !(await activityExists(trx, orgId, issueId, recurrence.activity))
  )
    throw new BadInput(`body/recurrence/activity names no activity of this issue`, [
      {
        path: 'body/recurrence/activity',
        message: `names no activity of this issue ("${recurrence.activity}")`,
      },
    ]);
  const nextDueAt = nextDue(recurrence, timeZone, now);
  if (recurrence.kind === 'once' && nextDueAt === null)
    throw new BadInput('body/recurrence/date is in the past', [
      { path: 'body/recurrence/date', message: `is in the past in ${timeZone}` },
    ]);
  return { recurrence, timeZone, nextDueAt };
}

/** Keeps the sweep's due item in step with the checkpoint's next due time. */
async function reschedule(trx: Tx, orgId: string, c: Checkpoint): Promise<void> {
  if (c.next_due_at === null) await cancelDue(trx, orgId, 'checkpoint.due', c.id);
  else await scheduleDue(trx, orgId, 'checkpoint.due', c.id, c.next_due_at);
}

export function createCheckpointService(deps: { db: Kysely<DB>; clock: Clock }) {
  const { db, clock } = deps;

  async function locked(trx: Tx, orgId: string, issueId: string, id: string) {
    const c = await lockCheckpoint(trx, orgId, issueId, id);
    if (c === undefined) throw new NotFound('Checkpoint not found');
    return c;
  }

  return {
    /** A recurring check; its first due time is scheduled in the same transaction. */
    create(caller: Caller, scope: IssueScope, input: CheckpointInput) {
      return inIssue(db, caller, scope, 'issues:write', async (trx, ctx, { issue }) => {
        const now = clock.now();
        const planned = await plan(
          trx,
          ctx.orgId,
          issue.id,
          { recurrence: input.recurrence, timeZone: input.timeZone ?? 'UTC' },
          now,
        );
        const c = await insertCheckpoint(trx, ctx.orgId, {
          issueId: issue.id,
          title: input.title,
          ownerRole: input.ownerRole ?? null,
          ...planned,
          at: now,
        });
        await reschedule(trx, ctx.orgId, c);
        await ctx.audit({
          action: 'checkpoint.created',
          targetType: 'checkpoint',
          targetId: c.id,
          data: { number: scope.number, title: c.title, recurrence: planned.recurrence },
        });
        return checkpointOut(c);
      });
    },

    list(caller: Caller, scope: IssueScope, page: PageQuery) {
      const after = decodeCursor(page.cursor);
      return inIssue(db, caller, scope, 'org:read', async (trx, ctx, { issue }) => {
        const rows = await listCheckpoints(trx, ctx.orgId, issue.id, {
          limit: page.limit + 1,
          after,
        });
        return toPage(rows, page.limit, (c) => c.id, checkpointOut);
      });
    },

    get(caller: Caller, scope: IssueScope & { id: string }) {
      return inIssue(db, caller, scope, 'org:read', async (trx, ctx, { issue }) => {
        const c = await findCheckpoint(trx, ctx.orgId, issue.id, scope.id);
        if (c === undefined) throw new NotFound('Checkpoint not found');
        return checkpointOut(c);
      });
    },

    /** A new title, owner, zone or recurrence; the next due time follows the new schedule. */
    update(caller: Caller, scope: IssueScope & { id: string }, input: Partial<CheckpointInput>) {
      return inIssue(db, caller, scope, 'issues:write', async (trx, ctx, { issue }) => {
        const before = await locked(trx, ctx.orgId, issue.id, scope.id);
        const now = clock.now();
        const timing =
          input.recurrence === undefined && input.timeZone === undefined
            ? {}
            : await plan(
                trx,
                ctx.orgId,
                issue.id,
                {
                  recurrence: input.recurrence ?? (before.recurrence as Recurrence),
                  timeZone: input.timeZone ?? before.time_zone,
                },
                now,
              );
        const c = await updateCheckpoint(
          trx,
          ctx.orgId,
          before.id,
          {
            ...(input.title === undefined ? {} : { title: input.title }),
            ...(input.ownerRole === undefined ? {} : { ownerRole: input.ownerRole }),
            ...timing,
          },
          now,
        );
        await reschedule(trx, ctx.orgId, c);
        await ctx.audit({
          action: 'checkpoint.updated',
          targetType: 'checkpoint',
          targetId: c.id,
          data: { number: scope.number, changes: input },
        });
        return checkpointOut(c);
      });
    },

    remove(caller: Caller, scope: IssueScope & { id: string }) {
      return inIssue(db, caller, scope, 'issues:write', async (trx, ctx, { issue }) => {
        const c = await locked(trx, ctx.orgId, issue.id, scope.id);
        await deleteCheckpoint(trx, ctx.orgId, c.id);
        await cancelDue(trx, ctx.orgId, 'checkpoint.due', c.id);
        await ctx.audit({
          action: 'checkpoint.deleted',
          targetType: 'checkpoint',
          targetId: c.id,
          data: { number: scope.number, title: c.title },
        });
      });
    },

    /**
     * The check was made. A checkpoint that is due is acknowledged; one whose next due time
     * falls on today's local date (or a one-off not yet due) is done early, and that
     * occurrence is skipped; otherwise only the completion is recorded.
     */
    complete(caller: Caller, scope: IssueScope & { id: string }) {
      return inIssue(db, caller, scope, 'issues:write', async (trx, ctx, { issue }) => {
        const before = await locked(trx, ctx.orgId, issue.id, scope.id);
        const now = clock.now();
        const recurrence = before.recurrence as Recurrence;
        const tz = before.time_zone;
        const upcoming = before.next_due_at;
        const skipped =
          stateOf(before) !== 'due' &&
          upcoming !== null &&
          (recurrence.kind === 'once' || localDate(upcoming, tz) === localDate(now, tz))
            ? upcoming
            : null;
        const c = await updateCheckpoint(
          trx,
          ctx.orgId,
          before.id,
          {
            lastCompletedAt: now,
            ...(skipped === null ? {} : { nextDueAt: nextDue(recurrence, tz, skipped) }),
          },
          now,
        );
        if (skipped !== null) await reschedule(trx, ctx.orgId, c);
        await ctx.audit({
          action: 'checkpoint.completed',
          targetType: 'checkpoint',
          targetId: c.id,
          data: {
            number: scope.number,
            ...(skipped === null ? {} : { skipped: skipped.toISOString() }),
          },
        });
        return checkpointOut(c);
      });
    },
  };
}
