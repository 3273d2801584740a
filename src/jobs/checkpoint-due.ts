import type { Kysely } from 'kysely';
import { withOrgAsSystem } from '../db/system.ts';
import type { DB } from '../db/types.ts';
import { describeRecurrence, nextDue, type Recurrence } from '../domain/recurrence.ts';
import type { Clock } from '../lib/clock.ts';
import { fireCheckpoint } from '../modules/checkpoints/checkpoint-fire.ts';
import { lockCheckpointById } from '../modules/checkpoints/checkpoints.queries.ts';
import { scheduleDue, type DueJob } from './due-work.queries.ts';

export type CheckpointDueOutcome = 'fired' | 'gone' | 'not-scheduled' | 'not-due' | 'already-fired';

/**
 * A checkpoint's due time came (the sweep's `checkpoint.due` item): under the checkpoint's
 * row lock, fire it once for that due time and schedule the next. Idempotent: a job that
 * runs again, or a second job for the same checkpoint, finds the due time already moved
 * on and does nothing. Due times missed while nothing ran fire once, not once each.
 */
export async function fireDueCheckpoint(
  deps: { db: Kysely<DB>; clock: Clock },
  job: { id: string; data: Pick<DueJob, 'orgId' | 'refId'> },
): Promise<CheckpointDueOutcome> {
  const { orgId, refId } = job.data;
  return withOrgAsSystem(
    deps.db,
    orgId,
    { reason: 'checkpoint due', jobId: job.id },
    async (trx, ctx) => {
      const checkpoint = await lockCheckpointById(trx, orgId, refId);
      if (checkpoint === undefined) return 'gone';
      const dueAt = checkpoint.next_due_at;
      if (dueAt === null) return 'not-scheduled';
      const now = deps.clock.now();
      if (dueAt > now) {
        // Moved later since the sweep took it: due again then.
        await scheduleDue(trx, orgId, 'checkpoint.due', checkpoint.id, dueAt);
        return 'not-due';
      }
      if (checkpoint.last_due_at?.getTime() === dueAt.getTime()) return 'already-fired';
      const recurrence = checkpoint.recurrence as Recurrence;
      const nextDueAt = nextDue(recurrence, checkpoint.time_zone, now);
      await fireCheckpoint(trx, ctx, checkpoint, {
        dueAt,
        nextDueAt,
        now,
        why: describeRecurrence(recurrence, checkpoint.time_zone),
      });
      if (nextDueAt !== null)
        await scheduleDue(trx, orgId, 'checkpoint.due', checkpoint.id, nextDueAt);
      return 'fired';
    },
  );
}
