import { sql } from 'kysely';
import type { Executor } from '../db/executor.ts';
import { QUEUES } from './queue.ts';

/** Kinds of time-based work the sweep knows, and the queue whose job handles each. */
export const DUE_QUEUES = {
  'run.quiet': QUEUES.runClose,
  'escalation.clock': QUEUES.escalationClock,
  'checkpoint.due': QUEUES.checkpointDue,
  'activity.overdue': QUEUES.issueRejudge,
  'quarantine.expiry': QUEUES.quarantineExpiry,
} as const;
export type DueKind = keyof typeof DUE_QUEUES;

/** What the sweep hands a due item's job. */
export interface DueJob {
  orgId: string;
  kind: DueKind;
  refId: string;
  dueAt: string;
}

export interface DueItem {
  orgId: string;
  kind: DueKind;
  refId: string;
  dueAt: Date;
}

/** Schedules (or moves) one item of time-based work of a tenant. */
export async function scheduleDue(
  db: Executor,
  orgId: string,
  kind: DueKind,
  refId: string,
  dueAt: Date,
): Promise<void> {
  await db
    .insertInto('due_work')
    .values({ org_id: orgId, kind, ref_id: refId, due_at: dueAt })
    .onConflict((oc) => oc.columns(['org_id', 'kind', 'ref_id']).doUpdateSet({ due_at: dueAt }))
    .execute();
}

export async function cancelDue(
  db: Executor,
  orgId: string,
  kind: DueKind,
  refId: string,
): Promise<void> {
  await db
    .deleteFrom('due_work')
    .where('org_id', '=', orgId)
    .where('kind', '=', kind)
    .where('ref_id', '=', refId)
    .execute();
}

/** Takes the items due by `before` across tenants (the only cross-tenant read; see migration 0004). */
export async function claimDue(db: Executor, before: Date, max: number): Promise<DueItem[]> {
  const { rows } = await sql<{ org_id: string; kind: DueKind; ref_id: string; due_at: Date }>`
    SELECT * FROM app_claim_due_work(${before}, ${max})`.execute(db);
  return rows.map((r) => ({ orgId: r.org_id, kind: r.kind, refId: r.ref_id, dueAt: r.due_at }));
}
