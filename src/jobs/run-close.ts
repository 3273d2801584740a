import type { Kysely } from 'kysely';
import type { Config } from '../config.ts';
import { withOrgAsSystem } from '../db/system.ts';
import type { DB } from '../db/types.ts';
import type { Clock } from '../lib/clock.ts';
import { completeRun } from '../modules/runs/run-lifecycle.ts';
import { lockRunById } from '../modules/runs/runs.queries.ts';
import { scheduleDue, type DueJob } from './due-work.queries.ts';

export type RunCloseOutcome = 'closed' | 'not-open' | 'not-quiet';

/**
 * Closes a run that has had no upload for the quiet window, and judges it. Idempotent: a
 * run already complete, or one that received an upload since (then due again later), is
 * left as it is.
 */
export async function closeQuietRun(
  deps: { db: Kysely<DB>; clock: Clock; config: Pick<Config, 'runs'> },
  job: { id: string; data: Pick<DueJob, 'orgId' | 'refId'> },
): Promise<RunCloseOutcome> {
  const quiet = deps.config.runs.quietSeconds;
  const { orgId, refId: runId } = job.data;
  return withOrgAsSystem(
    deps.db,
    orgId,
    { reason: `no upload for ${quiet} s (GATEHOUSE_RUN_QUIET_SECONDS)`, jobId: job.id },
    async (trx, ctx) => {
      const run = await lockRunById(trx, orgId, runId);
      if (run === undefined || run.status !== 'open') return 'not-open';
      const now = deps.clock.now();
      const quietFrom = new Date(run.last_upload_at.getTime() + quiet * 1000);
      if (quietFrom > now) {
        await scheduleDue(trx, orgId, 'run.quiet', run.id, quietFrom);
        return 'not-quiet';
      }
      await completeRun(trx, ctx, run, { now, by: 'quiet' });
      return 'closed';
    },
  );
}
