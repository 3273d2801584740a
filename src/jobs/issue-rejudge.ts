import type { Kysely } from 'kysely';
import { withOrgAsSystem } from '../db/system.ts';
import type { DB } from '../db/types.ts';
import type { Clock } from '../lib/clock.ts';
import { activitiesOfIssue, activityInContext } from '../modules/activities/activities.queries.ts';
import { scheduleOf, syncOverdueWork } from '../modules/activities/activity-schedule.ts';
import { recomputeIssue } from '../modules/gates/gate-engine.ts';
import type { DueJob } from './due-work.queries.ts';

export type IssueRejudgeOutcome = 'rejudged' | 'activity-gone';

/**
 * An activity reached its latest finish ('activity.overdue' due work): time alone changed
 * the issue's facts (its overdue activities), so its gates are judged again at the clock's
 * now, and the issue's overdue due work moves to the schedule's new latest finishes (an
 * activity not started yet slips with time and is due again later). Idempotent: judging
 * again at a later now gives the state of that now.
 */
export async function rejudgeIssue(
  deps: { db: Kysely<DB>; clock: Clock },
  job: { id: string; data: Pick<DueJob, 'orgId' | 'refId'> },
): Promise<IssueRejudgeOutcome> {
  const { orgId, refId: activityId } = job.data;
  return withOrgAsSystem(
    deps.db,
    orgId,
    { reason: 'an activity reached its latest finish', jobId: job.id },
    async (trx, ctx) => {
      const a = await activityInContext(trx, orgId, activityId);
      if (a === undefined) return 'activity-gone';
      const now = deps.clock.now();
      const rows = await activitiesOfIssue(trx, orgId, a.issue_id);
      const schedule = scheduleOf(rows, now, a.target_date);
      await syncOverdueWork(trx, orgId, rows, schedule, now);
      const report = await recomputeIssue(
        trx,
        orgId,
        { id: a.project_id, key: a.project_key, default_branch: a.default_branch },
        { id: a.issue_id, number: a.issue_number },
        { now, ctx },
      );
      await ctx.audit({
        action: 'issue.rejudged',
        targetType: 'issue',
        targetId: a.issue_id,
        data: {
          project: a.project_key,
          number: a.issue_number,
          activity: a.key,
          overdue: schedule.activities.get(a.key)?.overdue ?? false,
          overall: report.overall,
        },
      });
      return 'rejudged';
    },
  );
}
