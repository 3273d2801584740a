import type { Transaction } from 'kysely';
import type { TenantContext } from '../../db/tenant.ts';
import type { DB } from '../../db/types.ts';
import { Conflict } from '../../errors.ts';
import {
  activitiesOfIssue,
  insertActivity,
  lockActivityGraph,
  updateActivity,
  type ActivityRow,
} from '../activities/activities.queries.ts';
import { MAX_ACTIVITIES } from '../activities/activities.schema.ts';
import { progressTimes, statusProblem } from '../activities/activity-rules.ts';
import { scheduleOf, syncOverdueWork } from '../activities/activity-schedule.ts';
import { onActivityDone } from '../checkpoints/checkpoints.hooks.ts';
import { storedReport } from '../gates/gates.queries.ts';
import type { ScopedIssue, ScopedProject } from '../scope.ts';
import { emitEvent } from '../webhooks/events.ts';

/*
 * The response an escalation asks for is an activity of the issue: the first of its chain
 * of activities, not an extra one. It moves with the escalation (ready when raised, in
 * progress when acknowledged, done when answered or resolved) under the same rules as an
 * edit through the activities API: the issue's activity graph locked, nothing started
 * before what it depends on is done, `activity.changed` emitted, checkpoints waiting for it
 * fired when done, the overdue due work brought in step.
 */

type Tx = Transaction<DB>;
export interface IssueAt {
  project: ScopedProject;
  issue: ScopedIssue;
}

export interface ResponseSpec {
  key: string;
  role: string;
  member: string | null;
  reason: string;
  topics: string[];
  ackWithinHours: number;
  answerWithinHours: number;
}

const days = (hours: number) => Math.round((hours / 24) * 1000) / 1000;

async function passedGates(trx: Tx, orgId: string, issueId: string): Promise<Set<string>> {
  const report = await storedReport(trx, orgId, issueId);
  return new Set((report?.gates ?? []).filter((g) => g.state === 'passed').map((g) => g.key));
}

/** Why `row` may not move to `to` among the issue's activities, or null. */
async function problemWith(
  trx: Tx,
  orgId: string,
  rows: ActivityRow[],
  row: ActivityRow,
  to: ActivityRow['status'],
): Promise<string | null> {
  const graph = rows
    .filter((r) => r.id !== row.id)
    .map((r) => ({ key: r.key, status: r.status, dependsOn: r.depends_on }));
  return statusProblem(
    { key: row.key, status: to, dependsOn: row.depends_on, gates: row.gates },
    row.status,
    graph,
    await passedGates(trx, orgId, row.issue_id),
  );
}

async function setStatus(
  trx: Tx,
  ctx: TenantContext,
  at: IssueAt,
  row: ActivityRow,
  to: ActivityRow['status'],
  now: Date,
): Promise<void> {
  const times = progressTimes(
    row.status,
    to,
    { startedAt: row.started_at, doneAt: row.done_at },
    now,
  );
  const updated = await updateActivity(
    trx,
    ctx.orgId,
    row.id,
    row.version,
    { status: to, startedAt: times.startedAt, doneAt: times.doneAt },
    now,
  );
  // The graph is locked and the row was read under the lock: its version cannot have moved.
  if (updated === undefined) throw new Conflict(`Activity "${row.key}" was changed meanwhile`);
  await ctx.audit({
    action: 'activity.status_changed',
    targetType: 'issue',
    targetId: at.issue.id,
    data: {
      number: at.issue.number,
      key: row.key,
      from: row.status,
      to,
      version: updated.version,
      by: 'escalation',
    },
  });
  await emitEvent(
    trx,
    ctx.orgId,
    'activity.changed',
    {
      project: at.project.key,
      issue: at.issue.number,
      activity: row.key,
      title: updated.title,
      ownerRole: updated.owner_role,
      from: row.status,
      to,
      version: updated.version,
    },
    now,
  );
  if (to === 'done') await onActivityDone(trx, ctx, at.issue.id, row.key, now);
}

/** What every change of the activities is followed by: their overdue due work in step.
 *  (The caller judges the issue's gates again once its own change is made.) */
async function settle(trx: Tx, ctx: TenantContext, at: IssueAt, now: Date): Promise<void> {
  const rows = await activitiesOfIssue(trx, ctx.orgId, at.issue.id);
  await syncOverdueWork(trx, ctx.orgId, rows, scheduleOf(rows, now, at.issue.target_date), now);
}

/**
 * The response activity of a new escalation: the issue's activity named `spec.key` made
 * ready when it has one (409 when it is done, or cannot start yet by its dependencies or
 * gates), else a new one owned by the escalation's role (and member), ready, lasting from
 * the acknowledge target to the answer target.
 */
export async function openResponseActivity(
  trx: Tx,
  ctx: TenantContext,
  at: IssueAt,
  spec: ResponseSpec,
  now: Date,
): Promise<{ id: string; key: string }> {
  await lockActivityGraph(trx, at.issue.id);
  const rows = await activitiesOfIssue(trx, ctx.orgId, at.issue.id);
  const existing = rows.find((r) => r.key === spec.key);
  if (existing !== undefined) {
    if (existing.status === 'done')
      throw new Conflict(`Activity "${spec.key}" is done; name another activity, or none`);
    if (existing.status !== 'ready' && existing.status !== 'in_progress') {
      const problem = await problemWith(trx, ctx.orgId, rows, existing, 'ready');
      if (problem !== null) throw new Conflict(problem);
      await setStatus(trx, ctx, at, existing, 'ready', now);
      await settle(trx, ctx, at, now);
    }
    return { id: existing.id, key: existing.key };
  }
  if (rows.length >= MAX_ACTIVITIES)
    throw new Conflict(`An issue holds at most ${MAX_ACTIVITIES} activities`);
  const created = await insertActivity(trx, ctx.orgId, {
    issueId: at.issue.id,
    key: spec.key,
    title: `${spec.role} response to escalation: ${spec.reason}`.slice(0, 200),
    ownerRole: spec.role,
    ownerUserId: spec.member,
    status: 'ready',
    minDays: days(spec.ackWithinHours),
    maxDays: days(spec.answerWithinHours),
    deliverable:
      spec.topics.length === 0
        ? 'An answer to the escalation'
        : `Answers on ${spec.topics.join(', ')}`.slice(0, 500),
    at: now,
  });
  await ctx.audit({
    action: 'activity.created',
    targetType: 'issue',
    targetId: at.issue.id,
    data: { number: at.issue.number, key: spec.key, status: 'ready', by: 'escalation' },
  });
  await settle(trx, ctx, at, now);
  return { id: created.id, key: created.key };
}

/**
 * Moves the response activity forward as the escalation moves (in progress when
 * acknowledged, done when answered or resolved). Never backwards, never a done one, and
 * not past what the plan allows (an activity whose dependencies are not done stays where
 * it is: the escalation's move stands either way).
 */
export async function advanceResponseActivity(
  trx: Tx,
  ctx: TenantContext,
  at: IssueAt,
  activityId: string,
  to: 'in_progress' | 'done',
  now: Date,
): Promise<void> {
  await lockActivityGraph(trx, at.issue.id);
  const rows = await activitiesOfIssue(trx, ctx.orgId, at.issue.id);
  const row = rows.find((r) => r.id === activityId);
  if (row === undefined || row.status === 'done' || row.status === to) return;
  if ((await problemWith(trx, ctx.orgId, rows, row, to)) !== null) return;
  await setStatus(trx, ctx, at, row, to, now);
  await settle(trx, ctx, at, now);
}
