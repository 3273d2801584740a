import type { Kysely } from 'kysely';
import { withOrgAsSystem } from '../db/system.ts';
import type { DB } from '../db/types.ts';
import type { Clock } from '../lib/clock.ts';
import { advanceEscalation } from '../modules/escalations/escalation-lifecycle.ts';
import { issueOfEscalation, lockEscalation } from '../modules/escalations/escalations.queries.ts';
import type { DueJob } from './due-work.queries.ts';

export type EscalationClockOutcome = 'gone' | 'not-due' | 'moved';

/**
 * An escalation's response clock reached a deadline: climb the chain or breach, as the
 * clock says at `clock.now()` for the escalation as it is now (locked). Idempotent: an item
 * gone stale (acknowledged, paused, resumed with a later target, resolved, deleted) does
 * nothing but put the due work back where the clock says.
 */
export async function tickEscalationClock(
  deps: { db: Kysely<DB>; clock: Clock },
  job: { id: string; data: Pick<DueJob, 'orgId' | 'refId'> },
): Promise<EscalationClockOutcome> {
  const { orgId, refId } = job.data;
  return withOrgAsSystem(
    deps.db,
    orgId,
    { reason: 'an escalation response target was reached', jobId: job.id },
    async (trx, ctx) => {
      const row = await lockEscalation(trx, orgId, refId);
      if (row === undefined) return 'gone';
      const issue = await issueOfEscalation(trx, orgId, row.issue_id);
      const steps = await advanceEscalation(trx, ctx, { row, issue }, deps.clock.now());
      return steps.length === 0 ? 'not-due' : 'moved';
    },
  );
}
