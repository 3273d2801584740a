import type { Transaction } from 'kysely';
import type { TenantContext } from '../../db/tenant.ts';
import type { DB } from '../../db/types.ts';
import { describeRecurrence, type Recurrence } from '../../domain/recurrence.ts';
import { recordCommunication } from '../communications/communications.queries.ts';
import { emitEvent } from '../webhooks/events.ts';
import { issueSubject, updateCheckpoint, type Checkpoint } from './checkpoints.queries.ts';

/**
 * A checkpoint comes due: its due time is recorded (`last_due_at`), the next one set, the
 * reminder recorded as a communication (channel `checkpoint`, to its owner role) and the
 * `checkpoint.due` webhook event enqueued, all in `trx`. The caller holds the checkpoint's
 * row lock and has decided that this due time has not fired yet.
 */
export async function fireCheckpoint(
  trx: Transaction<DB>,
  ctx: TenantContext,
  checkpoint: Checkpoint,
  due: { dueAt: Date; nextDueAt: Date | null; now: Date; why: string },
): Promise<Checkpoint> {
  const { orgId } = ctx;
  const recurrence = checkpoint.recurrence as Recurrence;
  const subject = await issueSubject(trx, orgId, checkpoint.issue_id);
  const updated = await updateCheckpoint(
    trx,
    orgId,
    checkpoint.id,
    { lastDueAt: due.dueAt, nextDueAt: due.nextDueAt },
    due.now,
  );
  const audience = checkpoint.owner_role ?? 'issue team';
  await recordCommunication(trx, orgId, {
    issueId: checkpoint.issue_id,
    channel: 'checkpoint',
    audience,
    summary: `Checkpoint due: ${checkpoint.title} — ${due.why}`,
    status: 'due',
    ref: { type: 'checkpoint', id: checkpoint.id },
    recordedBy: 'system',
    at: due.now,
  });
  await emitEvent(
    trx,
    orgId,
    'checkpoint.due',
    {
      project: subject.project,
      issue: subject.number,
      checkpoint: {
        id: checkpoint.id,
        title: checkpoint.title,
        ownerRole: checkpoint.owner_role,
        recurrence,
        timeZone: checkpoint.time_zone,
      },
      dueAt: due.dueAt.toISOString(),
      nextDueAt: due.nextDueAt?.toISOString() ?? null,
    },
    due.now,
  );
  await ctx.audit({
    action: 'checkpoint.due',
    targetType: 'checkpoint',
    targetId: checkpoint.id,
    data: {
      project: subject.project,
      number: subject.number,
      dueAt: due.dueAt.toISOString(),
      recurrence: describeRecurrence(recurrence, checkpoint.time_zone),
    },
  });
  return updated;
}
