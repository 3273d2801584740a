import type { Kysely, Transaction } from 'kysely';
import type { Caller, TenantContext } from '../../db/tenant.ts';
import type { DB } from '../../db/types.ts';
import { describeCycle, findGateActivityCycle } from '../../domain/gate-activity-cycle.ts';
import {
  findDependencyCycle,
  type ActivitySchedule,
  type ActivityStatus,
  type Schedule,
} from '../../domain/schedule.ts';
import type { QualityConfig } from '../../domain/quality.ts';
import { BadInput, Conflict, NotFound } from '../../errors.ts';
import type { Clock } from '../../lib/clock.ts';
import { onActivityDone } from '../checkpoints/checkpoints.hooks.ts';
import { recomputeIssue } from '../gates/gate-engine.ts';
import { loadQualityConfig, storedReport } from '../gates/gates.queries.ts';
import { findMembership } from '../members/members.queries.ts';
import { inIssue, type IssueScope, type ScopedIssue, type ScopedProject } from '../scope.ts';
import { emitEvent } from '../webhooks/events.ts';
import {
  activitiesOfIssue,
  insertActivity,
  lockActivityGraph,
  updateActivity,
  type ActivityChanges,
  type ActivityRow,
} from './activities.queries.ts';
import { MAX_ACTIVITIES } from './activities.schema.ts';
import { scheduleOf, syncOverdueWork } from './activity-schedule.ts';
import { progressTimes, statusProblem } from './activity-rules.ts';

type Tx = Transaction<DB>;

export interface ActivityInput {
  title?: string | undefined;
  ownerRole?: string | undefined;
  ownerUserId?: string | null | undefined;
  status?: ActivityStatus | undefined;
  durationDays?: { min: number; max: number; likely?: number | undefined } | undefined;
  deliverable?: string | null | undefined;
  dependsOn?: string[] | undefined;
  gates?: string[] | undefined;
}

export type ActivityScope = IssueScope & { readonly key: string };

function scheduleOut(s: ActivitySchedule) {
  return {
    earliestStart: s.earliestStart.toISOString(),
    earliestFinish: s.earliestFinish.toISOString(),
    latestStart: s.latestStart.toISOString(),
    latestFinish: s.latestFinish.toISOString(),
    expectedDays: s.expectedDays,
    stdDevDays: s.stdDevDays,
    slackDays: s.slackDays,
    critical: s.critical,
    overdue: s.overdue,
  };
}

function activityOut(a: ActivityRow, schedule: Schedule) {
  const s = schedule.activities.get(a.key);
  return {
    key: a.key,
    title: a.title,
    ownerRole: a.owner_role,
    ownerUserId: a.owner_user_id,
    status: a.status,
    durationDays: {
      min: a.min_days,
      max: a.max_days,
      ...(a.likely_days === null ? {} : { likely: a.likely_days }),
    },
    deliverable: a.deliverable,
    dependsOn: a.depends_on,
    gates: a.gates,
    version: a.version,
    startedAt: a.started_at?.toISOString() ?? null,
    doneAt: a.done_at?.toISOString() ?? null,
    createdAt: a.created_at.toISOString(),
    updatedAt: a.updated_at.toISOString(),
    schedule: s === undefined ? null : scheduleOut(s),
  };
}

function forecastOut(schedule: Schedule) {
  const f = schedule.forecast;
  return {
    expectedFinish: f.expectedFinish?.toISOString() ?? null,
    stdDevDays: f.stdDevDays,
    criticalPath: f.criticalPath,
    ...(f.targetDate === null
      ? {}
      : { targetDate: f.targetDate, probabilityByTarget: f.probabilityByTarget }),
  };
}

const unique = (xs: string[]) => [...new Set(xs)];
const graphOf = (rows: ActivityRow[]) =>
  rows.map((r) => ({ key: r.key, status: r.status, dependsOn: r.depends_on, gates: r.gates }));

/** Checks what a new or changed activity says about others: 400 naming the field. */
async function checkReferences(
  trx: Tx,
  ctx: TenantContext,
  config: QualityConfig,
  key: string,
  others: ActivityRow[],
  input: ActivityInput,
): Promise<void> {
  const d = input.durationDays;
  if (d !== undefined) {
    if (d.max < d.min)
      throw new BadInput('durationDays.max is less than durationDays.min', [
        { path: 'body/durationDays/max', message: `must be at least min (${d.min})` },
      ]);
    if (d.likely !== undefined && (d.likely < d.min || d.likely > d.max))
      throw new BadInput('durationDays.likely is outside min..max', [
        { path: 'body/durationDays/likely', message: `must be between ${d.min} and ${d.max}` },
      ]);
  }
  if (input.dependsOn !== undefined) {
    if (input.dependsOn.includes(key))
      throw new BadInput(`Activity "${key}" cannot depend on itself`, [
        { path: 'body/dependsOn', message: `names the activity itself ("${key}")` },
      ]);
    const known = new Set(others.map((a) => a.key));
    const unknown = input.dependsOn.filter((k) => !known.has(k));
    if (unknown.length > 0)
      throw new BadInput(`No activity ${unknown.map((k) => `"${k}"`).join(', ')} on this issue`, [
        { path: 'body/dependsOn', message: `names unknown activities: ${unknown.join(', ')}` },
      ]);
  }
  if (input.gates !== undefined) {
    const known = new Set(config.gates.map((g) => g.key));
    const unknown = input.gates.filter((g) => !known.has(g));
    if (unknown.length > 0)
      throw new BadInput(
        `No gate ${unknown.map((g) => `"${g}"`).join(', ')} in this project's quality configuration`,
        [{ path: 'body/gates', message: `names unknown gates: ${unknown.join(', ')}` }],
      );
  }
  if (input.ownerUserId !== undefined && input.ownerUserId !== null) {
    if ((await findMembership(trx, ctx.orgId, input.ownerUserId)) === undefined)
      throw new BadInput('The owner is not a member of this organization', [
        { path: 'body/ownerUserId', message: 'is not a member of this organization' },
      ]);
  }
}

/** Refuses a graph that waits in a circle: activities alone, or through gates. The changed
 *  activity comes first, so a cycle through it is named from it. */
function checkCycles(
  config: QualityConfig,
  graph: { key: string; dependsOn: readonly string[]; gates: readonly string[] }[],
): void {
  const cycle = findDependencyCycle(graph);
  if (cycle !== null)
    throw new BadInput(`dependsOn would make a cycle: ${cycle.join(' → ')}`, [
      { path: 'body/dependsOn', message: `makes a cycle: ${cycle.join(' → ')}` },
    ]);
  const through = findGateActivityCycle(config, graph);
  if (through !== null)
    throw new BadInput(
      `Activities and gates would wait for each other in a cycle: ${describeCycle(through)}`,
      [{ path: 'body/gates', message: `makes a cycle: ${describeCycle(through)}` }],
    );
}

async function passedGates(trx: Tx, orgId: string, issueId: string): Promise<Set<string>> {
  const report = await storedReport(trx, orgId, issueId);
  return new Set((report?.gates ?? []).filter((g) => g.state === 'passed').map((g) => g.key));
}

export function createActivityService(deps: { db: Kysely<DB>; clock: Clock }) {
  const { db, clock } = deps;

  /** After any change: the gates judged again (they may read activities), the due work
   *  moved to the new latest finishes, and the activity answered with its schedule. */
  async function afterChange(
    trx: Tx,
    ctx: TenantContext,
    at: { project: ScopedProject; issue: ScopedIssue },
    key: string,
    now: Date,
  ) {
    const rows = await activitiesOfIssue(trx, ctx.orgId, at.issue.id);
    const schedule = scheduleOf(rows, now, at.issue.target_date);
    await syncOverdueWork(trx, ctx.orgId, rows, schedule, now);
    await recomputeIssue(
      trx,
      ctx.orgId,
      at.project,
      { id: at.issue.id, number: at.issue.number },
      { now, ctx },
    );
    return activityOut(
      rows.find((r) => r.key === key)!,
      schedule,
    );
  }

  return {
    /** Plans a new activity of the issue. */
    create(
      caller: Caller,
      scope: IssueScope,
      input: ActivityInput & {
        key: string;
        title: string;
        ownerRole: string;
        durationDays: { min: number; max: number; likely?: number | undefined };
      },
    ) {
      return inIssue(db, caller, scope, 'issues:write', async (trx, ctx, at) => {
        const { issue, project } = at;
        const now = clock.now();
        await lockActivityGraph(trx, issue.id);
        const rows = await activitiesOfIssue(trx, ctx.orgId, issue.id);
        if (rows.some((r) => r.key === input.key))
          throw new Conflict(`Activity "${input.key}" already exists on issue #${issue.number}`);
        if (rows.length >= MAX_ACTIVITIES)
          throw new Conflict(`An issue holds at most ${MAX_ACTIVITIES} activities`);
        const dependsOn = unique(input.dependsOn ?? []);
        const gates = unique(input.gates ?? []);
        const { config } = await loadQualityConfig(trx, ctx.orgId, project.id);
        await checkReferences(trx, ctx, config, input.key, rows, { ...input, dependsOn, gates });
        checkCycles(config, [{ key: input.key, dependsOn, gates }, ...graphOf(rows)]);
        const status = input.status ?? 'pending';
        const problem = statusProblem(
          { key: input.key, status, dependsOn, gates },
          null,
          graphOf(rows),
          await passedGates(trx, ctx.orgId, issue.id),
        );
        if (problem !== null) throw new Conflict(problem);
        await insertActivity(trx, ctx.orgId, {
          issueId: issue.id,
          key: input.key,
          title: input.title,
          ownerRole: input.ownerRole,
          ownerUserId: input.ownerUserId ?? null,
          status,
          minDays: input.durationDays.min,
          maxDays: input.durationDays.max,
          likelyDays: input.durationDays.likely ?? null,
          deliverable: input.deliverable ?? null,
          dependsOn,
          gates,
          at: now,
        });
        await ctx.audit({
          action: 'activity.created',
          targetType: 'issue',
          targetId: issue.id,
          data: { number: issue.number, key: input.key, status },
        });
        if (status === 'done') await onActivityDone(trx, ctx, issue.id, input.key, now);
        return afterChange(trx, ctx, at, input.key, now);
      });
    },

    /** Every activity of the issue, each open one with its schedule, and the forecast. */
    list(caller: Caller, scope: IssueScope) {
      return inIssue(db, caller, scope, 'org:read', async (trx, ctx, { issue }) => {
        const rows = await activitiesOfIssue(trx, ctx.orgId, issue.id);
        const schedule = scheduleOf(rows, clock.now(), issue.target_date);
        return {
          items: rows.map((r) => activityOut(r, schedule)),
          forecast: forecastOut(schedule),
        };
      });
    },

    get(caller: Caller, scope: ActivityScope) {
      return inIssue(db, caller, scope, 'org:read', async (trx, ctx, { issue }) => {
        const rows = await activitiesOfIssue(trx, ctx.orgId, issue.id);
        const row = rows.find((r) => r.key === scope.key);
        if (row === undefined)
          throw new NotFound(`No activity "${scope.key}" on issue #${issue.number}`);
        return activityOut(row, scheduleOf(rows, clock.now(), issue.target_date));
      });
    },

    /**
     * Changes an activity made at `version` (409 when it has moved on since). A status
     * move is checked against its dependencies and gates, emits `activity.changed`, and
     * when it becomes done the checkpoints waiting for it come due.
     */
    update(caller: Caller, scope: ActivityScope, input: ActivityInput & { version: number }) {
      return inIssue(db, caller, scope, 'issues:write', async (trx, ctx, at) => {
        const { issue, project } = at;
        const now = clock.now();
        await lockActivityGraph(trx, issue.id);
        const rows = await activitiesOfIssue(trx, ctx.orgId, issue.id);
        const current = rows.find((r) => r.key === scope.key);
        if (current === undefined)
          throw new NotFound(`No activity "${scope.key}" on issue #${issue.number}`);
        if (current.version !== input.version)
          throw new Conflict(
            `Activity "${scope.key}" was changed since version ${input.version} (it is at version ${current.version}); read it again and retry`,
          );
        const others = rows.filter((r) => r.key !== scope.key);
        const dependsOn = input.dependsOn === undefined ? undefined : unique(input.dependsOn);
        const gates = input.gates === undefined ? undefined : unique(input.gates);
        const { config } = await loadQualityConfig(trx, ctx.orgId, project.id);
        const durationDays = input.durationDays ?? {
          min: current.min_days,
          max: current.max_days,
          ...(current.likely_days === null ? {} : { likely: current.likely_days }),
        };
        await checkReferences(trx, ctx, config, scope.key, others, {
          ...input,
          durationDays,
          dependsOn,
          gates,
        });
        const next = {
          key: current.key,
          status: input.status ?? current.status,
          dependsOn: dependsOn ?? current.depends_on,
          gates: gates ?? current.gates,
        };
        if (dependsOn !== undefined || gates !== undefined)
          checkCycles(config, [next, ...graphOf(others)]);
        const from = current.status;
        if (input.status !== undefined || dependsOn !== undefined || gates !== undefined) {
          const problem = statusProblem(
            next,
            from,
            graphOf(others),
            await passedGates(trx, ctx.orgId, issue.id),
          );
          if (problem !== null) throw new Conflict(problem);
        }
        const times = progressTimes(
          from,
          next.status,
          { startedAt: current.started_at, doneAt: current.done_at },
          now,
        );
        const changes: ActivityChanges = {
          ...(input.title === undefined ? {} : { title: input.title }),
          ...(input.ownerRole === undefined ? {} : { ownerRole: input.ownerRole }),
          ...(input.ownerUserId === undefined ? {} : { ownerUserId: input.ownerUserId }),
          ...(input.deliverable === undefined ? {} : { deliverable: input.deliverable }),
          ...(input.durationDays === undefined
            ? {}
            : {
                minDays: input.durationDays.min,
                maxDays: input.durationDays.max,
                likelyDays: input.durationDays.likely ?? null,
              }),
          ...(dependsOn === undefined ? {} : { dependsOn }),
          ...(gates === undefined ? {} : { gates }),
          status: next.status,
          startedAt: times.startedAt,
          doneAt: times.doneAt,
        };
        const updated = await updateActivity(
          trx,
          ctx.orgId,
          current.id,
          input.version,
          changes,
          now,
        );
        if (updated === undefined)
          throw new Conflict(`Activity "${scope.key}" was changed meanwhile; read it again`);
        const moved = from !== next.status;
        const { version: _version, ...changed } = input;
        await ctx.audit({
          action: moved ? 'activity.status_changed' : 'activity.updated',
          targetType: 'issue',
          targetId: issue.id,
          data: {
            number: issue.number,
            key: scope.key,
            changes: changed,
            ...(moved ? { from, to: next.status } : {}),
            version: updated.version,
          },
        });
        if (moved) {
          await emitEvent(
            trx,
            ctx.orgId,
            'activity.changed',
            {
              project: project.key,
              issue: issue.number,
              activity: scope.key,
              title: updated.title,
              ownerRole: updated.owner_role,
              from,
              to: next.status,
              version: updated.version,
            },
            now,
          );
          if (next.status === 'done') await onActivityDone(trx, ctx, issue.id, scope.key, now);
        }
        return afterChange(trx, ctx, at, scope.key, now);
      });
    },
  };
}
