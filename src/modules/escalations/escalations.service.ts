import type { Kysely, Transaction } from 'kysely';
import { uuidv7 } from 'uuidv7';
import type { Caller, TenantContext } from '../../db/tenant.ts';
import type { EscalationLevel } from '../../db/types-coordination.ts';
import type { DB } from '../../db/types.ts';
import {
  applyAction,
  remaining,
  responseTargets,
  runClock,
  startClock,
  type EscalationAction,
  type EscalationStatus,
} from '../../domain/escalation-clock.ts';
import { can } from '../../domain/permissions.ts';
import { BadInput, Conflict, Forbidden, NotFound } from '../../errors.ts';
import type { Clock } from '../../lib/clock.ts';
import { decodeCursor, toPage, type PageQuery } from '../../lib/pagination.ts';
import { recordCommunication } from '../communications/communications.queries.ts';
import { returnFromPhase, movePhase } from '../issues/phase.ts';
import { recomputeIssue } from '../gates/gate-engine.ts';
import { findMembership } from '../members/members.queries.ts';
import {
  inIssue,
  inProject,
  type IssueScope,
  type ProjectScope,
  type ScopedIssue,
  type ScopedProject,
} from '../scope.ts';
import { emitEvent } from '../webhooks/events.ts';
import { clockOf, saveMovedClock, scheduleClock } from './escalation-lifecycle.ts';
import { advanceResponseActivity, openResponseActivity } from './response-activity.ts';
import {
  activityKeys,
  countEscalations,
  findChain,
  findEscalation,
  insertEscalation,
  listEscalations,
  lockEscalation,
  saveChain,
  type EscalationRow,
} from './escalations.queries.ts';

export interface EscalateInput {
  role: string;
  member?: string | undefined;
  reason: string;
  request: string;
  questions: { topic: string; text: string }[];
  ackWithinHours?: number | undefined;
  answerWithinHours?: number | undefined;
  activity?: string | undefined;
}

export type EscalationScope = IssueScope & { readonly id: string };

const iso = (d: Date | null) => (d === null ? null : d.toISOString());

function escalationOut(
  row: EscalationRow,
  issueNumber: number,
  activity: string | null,
  now: Date,
) {
  return {
    id: row.id,
    issue: issueNumber,
    status: row.status,
    level: row.level,
    role: row.role,
    member: row.member_id,
    reason: row.reason,
    request: row.request,
    questions: row.questions,
    ackWithinHours: row.ack_within_hours,
    answerWithinHours: row.answer_within_hours,
    ackDueAt: row.ack_due_at.toISOString(),
    answerDueAt: row.answer_due_at.toISOString(),
    acknowledgedAt: iso(row.acknowledged_at),
    answeredAt: iso(row.answered_at),
    resolvedAt: iso(row.resolved_at),
    breachedAt: iso(row.breached_at),
    paused: row.paused_at !== null,
    pausedAt: iso(row.paused_at),
    pausedSeconds: row.paused_seconds,
    remaining: remaining(clockOf(row), now),
    answer: row.answer,
    activity,
    createdBy: row.created_by,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

function chainOut(levels: EscalationLevel[], updatedAt: Date | null) {
  return {
    levels: levels.map((l) => ({ role: l.role, ackWithinHours: l.ackWithinHours })),
    updatedAt: iso(updatedAt),
  };
}

const whoActs = (ctx: TenantContext) => ctx.userId ?? `token:${ctx.actorId}`;

/** The issue's gates judged again: they may count its open escalations and read its
 *  activities, both of which an escalation's moves change. */
async function rejudge(
  trx: Transaction<DB>,
  ctx: TenantContext,
  at: { project: ScopedProject; issue: ScopedIssue },
  now: Date,
): Promise<void> {
  await recomputeIssue(
    trx,
    ctx.orgId,
    at.project,
    { id: at.issue.id, number: at.issue.number },
    { now, ctx },
  );
}

export function createEscalationService(deps: { db: Kysely<DB>; clock: Clock }) {
  const { db, clock } = deps;

  async function outOne(trx: Transaction<DB>, orgId: string, row: EscalationRow, number: number) {
    const keys = await activityKeys(trx, orgId, row.activity_id === null ? [] : [row.activity_id]);
    const key = row.activity_id === null ? null : (keys.get(row.activity_id) ?? null);
    return escalationOut(row, number, key, clock.now());
  }

  return {
    /**
     * Escalates the issue to a role: starts the response clocks (due work at the first
     * deadline), moves the issue to `escalated`, makes or links the response activity,
     * records the communication and announces `escalation.created`, all in one transaction.
     */
    escalate(caller: Caller, scope: IssueScope, input: EscalateInput) {
      return inIssue(db, caller, scope, 'issues:write', async (trx, ctx, { project, issue }) => {
        if (
          input.member !== undefined &&
          (await findMembership(trx, ctx.orgId, input.member)) === undefined
        )
          throw new BadInput('body/member is not a member of this organization', [
            { path: 'body/member', message: 'is not a member of this organization' },
          ]);
        const chain = (await findChain(trx, ctx.orgId, project.id))?.levels ?? [];
        const hours = responseTargets(chain, input.role, input);
        if (hours.answerWithinHours < hours.ackWithinHours)
          throw new BadInput('body/answerWithinHours is shorter than the time to acknowledge', [
            {
              path: 'body/answerWithinHours',
              message: `must be at least ackWithinHours (${hours.ackWithinHours})`,
            },
          ]);
        const now = clock.now();
        const activity = await openResponseActivity(
          trx,
          ctx,
          { project, issue },
          {
            key:
              input.activity ??
              `escalation-${(await countEscalations(trx, ctx.orgId, issue.id)) + 1}-response`,
            role: input.role,
            member: input.member ?? null,
            reason: input.reason,
            topics: [...new Set(input.questions.map((q) => q.topic))],
            ...hours,
          },
          now,
        );
        const started = startClock(
          chain,
          { role: input.role, memberId: input.member ?? null, ...hours },
          now,
        );
        const row = await insertEscalation(trx, ctx.orgId, {
          id: uuidv7(),
          issueId: issue.id,
          reason: input.reason,
          request: input.request,
          questions: input.questions,
          ...hours,
          activityId: activity.id,
          createdBy: whoActs(ctx),
          clock: started,
          at: now,
        });
        await scheduleClock(trx, ctx.orgId, row.id, started);
        await movePhase(trx, ctx, issue, 'escalated', {
          reason: `escalated to ${input.role}`,
          now,
        });
        await recordCommunication(trx, ctx.orgId, {
          issueId: issue.id,
          channel: 'escalation',
          audience: input.member === undefined ? input.role : `${input.role} (${input.member})`,
          summary: `Issue #${issue.number} escalated to ${input.role}: ${input.reason} (${input.questions.length} question(s))`,
          ref: { type: 'escalation', id: row.id },
          recordedBy: whoActs(ctx),
          at: now,
        });
        await emitEvent(
          trx,
          ctx.orgId,
          'escalation.created',
          {
            escalationId: row.id,
            project: project.key,
            issue: issue.number,
            role: row.role,
            member: row.member_id,
            reason: row.reason,
            questions: input.questions,
            ackDueAt: row.ack_due_at.toISOString(),
            answerDueAt: row.answer_due_at.toISOString(),
          },
          now,
        );
        await ctx.audit({
          action: 'escalation.created',
          targetType: 'escalation',
          targetId: row.id,
          data: { number: issue.number, role: row.role, activity: activity.key },
        });
        await rejudge(trx, ctx, { project, issue }, now);
        return escalationOut(row, issue.number, activity.key, now);
      });
    },

    /** The issue's escalations, newest first, in cursor pages; optionally of one status. */
    list(
      caller: Caller,
      scope: IssueScope,
      query: PageQuery & { status?: EscalationStatus | undefined },
    ) {
      const before = decodeCursor(query.cursor);
      return inIssue(db, caller, scope, 'org:read', async (trx, ctx, { issue }) => {
        const rows = await listEscalations(trx, ctx.orgId, issue.id, {
          limit: query.limit + 1,
          before,
          status: query.status,
        });
        const keys = await activityKeys(
          trx,
          ctx.orgId,
          rows.flatMap((r) => (r.activity_id === null ? [] : [r.activity_id])),
        );
        const now = clock.now();
        return toPage(
          rows,
          query.limit,
          (r) => r.id,
          (r) =>
            escalationOut(
              r,
              issue.number,
              r.activity_id === null ? null : (keys.get(r.activity_id) ?? null),
              now,
            ),
        );
      });
    },

    get(caller: Caller, scope: EscalationScope) {
      return inIssue(db, caller, scope, 'org:read', async (trx, ctx, { issue }) => {
        const row = await findEscalation(trx, ctx.orgId, issue.id, scope.id);
        if (row === undefined) throw new NotFound('Escalation not found');
        return outOne(trx, ctx.orgId, row, issue.number);
      });
    },

    /**
     * Moves an escalation: acknowledge, answer (with the answer's text), resolve, pause while
     * waiting on the requester, resume. The clock first catches up to now (a deadline that
     * passed acts before the move, exactly as the background job would); a move that makes
     * no sense in the resulting state is a 409 naming it. Resolving the issue's last
     * unresolved escalation returns the issue to the phase it had before.
     */
    act(caller: Caller, scope: EscalationScope, input: { action: string; text?: string }) {
      const action = input.action as EscalationAction;
      // Who was escalated to may acknowledge and answer it without coordinating rights
      // (a reviewer holds no issues:write); every other move needs issues:write.
      const refused = () =>
        new Forbidden(
          'Only those it was escalated to may acknowledge or answer it; other moves need the issues:write permission',
        );
      // The access check first: without issues:write, only an acknowledge or answer by a
      // role that can be escalated to goes on to find the escalation.
      const guard = (ctx: TenantContext) => {
        if (can(ctx.role, 'issues:write')) return;
        if (action !== 'acknowledge' && action !== 'answer') throw refused();
        if (ctx.role === 'viewer' || ctx.role === 'ci') throw refused();
      };
      return inIssue(
        db,
        caller,
        scope,
        'org:read',
        async (trx, ctx, { project, issue }) => {
          if (action === 'answer' && input.text === undefined)
            throw new BadInput('body/text is required to answer', [
              { path: 'body/text', message: 'is required to answer' },
            ]);
          const coordinator = can(ctx.role, 'issues:write');
          const row = await lockEscalation(trx, ctx.orgId, scope.id, issue.id);
          if (row === undefined) {
            if (!coordinator) throw refused();
            throw new NotFound('Escalation not found');
          }
          const addressee =
            ctx.role === row.role || (ctx.userId !== null && ctx.userId === row.member_id);
          if (!coordinator && !addressee) throw refused();
          const now = clock.now();
          const chain = (await findChain(trx, ctx.orgId, project.id))?.levels ?? [];
          const caught = runClock(clockOf(row), chain, now);
          const moved = applyAction(caught.clock, action, now);
          if (!moved.ok) throw new Conflict(moved.conflict);
          const at = {
            row,
            issue: { id: issue.id, number: issue.number, projectKey: project.key },
          };
          const saved = await saveMovedClock(
            trx,
            ctx,
            at,
            moved.clock,
            caught.steps,
            now,
            action === 'answer' && input.text !== undefined ? { answer: input.text } : {},
          );
          if (row.activity_id !== null && action !== 'pause' && action !== 'resume')
            await advanceResponseActivity(
              trx,
              ctx,
              { project, issue },
              row.activity_id,
              action === 'acknowledge' ? 'in_progress' : 'done',
              now,
            );
          if (action === 'answer')
            await recordCommunication(trx, ctx.orgId, {
              issueId: issue.id,
              channel: 'escalation',
              audience: row.created_by,
              summary: `${saved.role} answered the escalation on issue #${issue.number}: ${row.reason}`,
              ref: { type: 'escalation', id: row.id },
              recordedBy: whoActs(ctx),
              at: now,
            });
          if (
            action === 'resolve' &&
            (await countEscalations(trx, ctx.orgId, issue.id, { unresolvedExcept: row.id })) === 0
          )
            await returnFromPhase(trx, ctx, issue, 'escalated', {
              reason: 'escalation resolved',
              now,
            });
          await ctx.audit({
            action: `escalation.${action}`,
            targetType: 'escalation',
            targetId: row.id,
            data: {
              number: issue.number,
              from: row.status,
              to: saved.status,
              ...(input.text === undefined || action === 'answer' ? {} : { text: input.text }),
            },
          });
          if (action !== 'pause' && action !== 'resume')
            await rejudge(trx, ctx, { project, issue }, now);
          return outOne(trx, ctx.orgId, saved, issue.number);
        },
        guard,
      );
    },

    getChain(caller: Caller, scope: ProjectScope) {
      return inProject(db, caller, scope, 'org:read', async (trx, ctx, project) => {
        const chain = await findChain(trx, ctx.orgId, project.id);
        return chainOut(chain?.levels ?? [], chain?.updated_at ?? null);
      });
    },

    /**
     * Sets who an unacknowledged escalation goes to next, level by level. Applies to open
     * escalations from their next deadline on; each role at most once on the chain.
     */
    putChain(caller: Caller, scope: ProjectScope, input: { levels: EscalationLevel[] }) {
      return inProject(db, caller, scope, 'projects:write', async (trx, ctx, project) => {
        const seen = new Set<string>();
        input.levels.forEach((l, i) => {
          if (seen.has(l.role))
            throw new BadInput(`body/levels/${i}/role: ${l.role} is already on the chain`, [
              { path: `body/levels/${i}/role`, message: `${l.role} is already on the chain` },
            ]);
          seen.add(l.role);
        });
        const saved = await saveChain(trx, ctx.orgId, project.id, input.levels, clock.now());
        await ctx.audit({
          action: 'escalation_chain.updated',
          targetType: 'project',
          targetId: project.id,
          data: { project: project.key, levels: input.levels },
        });
        return chainOut(saved.levels, saved.updated_at);
      });
    },
  };
}
