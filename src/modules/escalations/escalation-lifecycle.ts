import type { Transaction } from 'kysely';
import type { TenantContext } from '../../db/tenant.ts';
import type { DB } from '../../db/types.ts';
import {
  nextDeadline,
  runClock,
  type ClockStep,
  type EscalationClock,
} from '../../domain/escalation-clock.ts';
import { cancelDue, scheduleDue } from '../../jobs/due-work.queries.ts';
import { recordCommunication } from '../communications/communications.queries.ts';
import { emitEvent } from '../webhooks/events.ts';
import {
  chainOfIssue,
  saveClock,
  handResponseActivity,
  type EscalationRow,
} from './escalations.queries.ts';

/** The issue an escalation belongs to, as its events and communications name it. */
export interface EscalatedIssue {
  id: string;
  number: number;
  projectKey: string;
}

export function clockOf(row: EscalationRow): EscalationClock {
  return {
    status: row.status,
    role: row.role,
    level: row.level,
    memberId: row.member_id,
    ackDueAt: row.ack_due_at,
    answerDueAt: row.answer_due_at,
    pausedAt: row.paused_at,
    pausedSeconds: row.paused_seconds,
    acknowledgedAt: row.acknowledged_at,
    answeredAt: row.answered_at,
    resolvedAt: row.resolved_at,
    breachedAt: row.breached_at,
  };
}

/** Due work follows the clock: one item at its next deadline, none while no clock runs. */
export async function scheduleClock(
  trx: Transaction<DB>,
  orgId: string,
  escalationId: string,
  clock: EscalationClock,
): Promise<void> {
  const next = nextDeadline(clock);
  if (next === null) await cancelDue(trx, orgId, 'escalation.clock', escalationId);
  else await scheduleDue(trx, orgId, 'escalation.clock', escalationId, next.at);
}

/**
 * Stores a clock that moved and does what its steps mean, in the caller's transaction: a
 * level-up is told to the new level (a communication) and hands the response activity to
 * it; a breach is announced (`escalation.breached`) and recorded; each is audited. The due
 * work moves to the clock's next deadline.
 */
export async function saveMovedClock(
  trx: Transaction<DB>,
  ctx: TenantContext,
  at: { row: EscalationRow; issue: EscalatedIssue },
  clock: EscalationClock,
  steps: readonly ClockStep[],
  now: Date,
  extra: { answer?: string } = {},
): Promise<EscalationRow> {
  const { row, issue } = at;
  const saved = await saveClock(trx, ctx.orgId, row.id, clock, now, extra);
  const ref = { type: 'escalation', id: row.id };
  for (const step of steps) {
    switch (step.kind) {
      case 'level_up':
        await recordCommunication(trx, ctx.orgId, {
          issueId: issue.id,
          channel: 'escalation',
          audience: step.to,
          summary: `Escalation on issue #${issue.number} not acknowledged by ${step.from} in time; escalated to ${step.to}: ${row.reason}`,
          ref,
          recordedBy: 'system',
          at: step.at,
        });
        if (row.activity_id !== null)
          await handResponseActivity(
            trx,
            ctx.orgId,
            row.activity_id,
            { role: step.to, userId: null },
            now,
          );
        await ctx.audit({
          action: 'escalation.leveled_up',
          targetType: 'escalation',
          targetId: row.id,
          data: { number: issue.number, from: step.from, to: step.to, level: step.level },
        });
        break;
      case 'breached':
        await recordCommunication(trx, ctx.orgId, {
          issueId: issue.id,
          channel: 'escalation',
          audience: step.role,
          summary: `Escalation on issue #${issue.number} breached its target to ${step.target === 'ack' ? 'acknowledge' : 'answer'}: ${row.reason}`,
          ref,
          recordedBy: 'system',
          at: step.at,
        });
        await emitEvent(
          trx,
          ctx.orgId,
          'escalation.breached',
          {
            escalationId: row.id,
            project: issue.projectKey,
            issue: issue.number,
            role: step.role,
            target: step.target,
            breachedAt: step.at.toISOString(),
          },
          now,
        );
        await ctx.audit({
          action: 'escalation.breached',
          targetType: 'escalation',
          targetId: row.id,
          data: { number: issue.number, role: step.role, target: step.target },
        });
        break;
    }
  }
  await scheduleClock(trx, ctx.orgId, row.id, clock);
  return saved;
}

/**
 * Runs a locked escalation's clock up to `now` (the background job's whole work): acts on
 * every deadline reached, or, when none is (a stale item: paused, resumed, answered since),
 * only puts the due work back where the clock says. Idempotent.
 */
export async function advanceEscalation(
  trx: Transaction<DB>,
  ctx: TenantContext,
  at: { row: EscalationRow; issue: EscalatedIssue },
  now: Date,
): Promise<ClockStep[]> {
  const chain = await chainOfIssue(trx, ctx.orgId, at.row.issue_id);
  const { clock, steps } = runClock(clockOf(at.row), chain, now);
  if (steps.length === 0) await scheduleClock(trx, ctx.orgId, at.row.id, clock);
  else await saveMovedClock(trx, ctx, at, clock, steps, now);
  return steps;
}
