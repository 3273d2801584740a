import type { Transaction } from 'kysely';
import type { TenantContext } from '../../db/tenant.ts';
import type { DB } from '../../db/types.ts';
import { setIssuePhase } from './issues.queries.ts';

export interface PhasedIssue {
  id: string;
  number: number;
  phase: string;
  phase_before: string | null;
}

/**
 * Moves an issue's phase because of an event (escalated, all gates passed, GitHub issue
 * closed), remembering the phase before so the opposite event can return to it. Audited as
 * `issue.phase_changed` with the reason; a move to the phase it is in does nothing.
 */
export async function movePhase(
  trx: Transaction<DB>,
  ctx: TenantContext,
  issue: PhasedIssue,
  to: string,
  why: { reason: string; now: Date },
): Promise<boolean> {
  if (issue.phase === to) return false;
  await setIssuePhase(trx, ctx.orgId, issue.id, { phase: to, before: issue.phase, at: why.now });
  await ctx.audit({
    action: 'issue.phase_changed',
    targetType: 'issue',
    targetId: issue.id,
    data: { number: issue.number, from: issue.phase, to, reason: why.reason },
  });
  return true;
}

/**
 * Undoes an event's move (escalation resolved, GitHub issue reopened): back to the phase
 * before, if the issue is still in `from`.
 */
export async function returnFromPhase(
  trx: Transaction<DB>,
  ctx: TenantContext,
  issue: PhasedIssue,
  from: string,
  why: { reason: string; now: Date; fallback?: string },
): Promise<boolean> {
  if (issue.phase !== from) return false;
  const to = issue.phase_before ?? why.fallback ?? 'development';
  return movePhase(trx, ctx, issue, to, why);
}
