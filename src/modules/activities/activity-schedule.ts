import type { Executor } from '../../db/executor.ts';
import { computeSchedule, type Schedule, type ScheduleActivity } from '../../domain/schedule.ts';
import { cancelDue, scheduleDue } from '../../jobs/due-work.queries.ts';
import { activitiesOfIssue, type ActivityRow } from './activities.queries.ts';

/** An activity row as the schedule sees it. */
export function toScheduleActivity(row: ActivityRow): ScheduleActivity {
  return {
    key: row.key,
    status: row.status,
    minDays: row.min_days,
    maxDays: row.max_days,
    likelyDays: row.likely_days,
    dependsOn: row.depends_on,
    startedAt: row.started_at,
    doneAt: row.done_at,
  };
}

/** The schedule of an issue's activity rows at `now`, with its target date if it has one. */
export function scheduleOf(rows: ActivityRow[], now: Date, targetDate: string | null): Schedule {
  return computeSchedule(rows.map(toScheduleActivity), { now, targetDate });
}

/**
 * An issue's activities and their schedule at `now` (for the report and anything else that
 * shows the plan). Reads with the caller's executor: pass the transaction.
 */
export async function issueSchedule(
  db: Executor,
  orgId: string,
  issue: { id: string; target_date: string | null },
  now: Date,
): Promise<{ rows: ActivityRow[]; schedule: Schedule }> {
  const rows = await activitiesOfIssue(db, orgId, issue.id);
  return { rows, schedule: scheduleOf(rows, now, issue.target_date) };
}

/**
 * Keeps the overdue due work in step with the schedule, in the transaction of the change:
 * each open activity whose latest finish is still ahead is due then ('activity.overdue',
 * moved if it was due at another time); a done one, or one already overdue (judged now by
 * the caller), is due no more, so a sweep never picks the same overdue activity again.
 */
export async function syncOverdueWork(
  db: Executor,
  orgId: string,
  rows: ActivityRow[],
  schedule: Schedule,
  now: Date,
): Promise<void> {
  for (const row of rows) {
    const s = schedule.activities.get(row.key);
    // Overdue means strictly past the latest finish: due one millisecond after it, so the
    // re-judge at that moment sees it overdue.
    if (s !== undefined && s.latestFinish.getTime() >= now.getTime())
      await scheduleDue(
        db,
        orgId,
        'activity.overdue',
        row.id,
        new Date(s.latestFinish.getTime() + 1),
      );
    else await cancelDue(db, orgId, 'activity.overdue', row.id);
  }
}
