import type { Transaction } from 'kysely';
import type { TenantContext } from '../../db/tenant.ts';
import type { DB } from '../../db/types.ts';
import { fireCheckpoint } from './checkpoint-fire.ts';
import { lockActivityCheckpoints } from './checkpoints.queries.ts';

/**
 * Call when an activity of an issue becomes done, inside the transaction that makes it
 * done (with that transaction's context and time): every checkpoint of the issue with the
 * recurrence `{ kind: 'activity_done', activity: activityKey }` comes due now — a
 * communication recorded and `checkpoint.due` emitted for each. Answers how many fired.
 * Calling it again for the same moment fires nothing twice (each checkpoint's due time is
 * recorded and compared under its row lock).
 */
export async function onActivityDone(
  trx: Transaction<DB>,
  ctx: TenantContext,
  issueId: string,
  activityKey: string,
  now: Date,
): Promise<number> {
  const checkpoints = await lockActivityCheckpoints(trx, ctx.orgId, issueId, activityKey);
  let fired = 0;
  for (const checkpoint of checkpoints) {
    if (checkpoint.last_due_at?.getTime() === now.getTime()) continue;
    await fireCheckpoint(trx, ctx, checkpoint, {
      dueAt: now,
      nextDueAt: null,
      now,
      why: `activity ${activityKey} is done`,
    });
    fired++;
  }
  return fired;
}
