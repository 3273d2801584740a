import { uuidv7 } from 'uuidv7';
import type { Executor } from '../../db/executor.ts';

/** Channels a communication went through. */
export const CHANNELS = [
  'github_comment',
  'github_status',
  'webhook',
  'escalation',
  'checkpoint',
  'note',
  'email',
  'chat',
  'meeting',
  'other',
] as const;
export type Channel = (typeof CHANNELS)[number];

export interface NewCommunication {
  issueId: string | null;
  channel: Channel;
  externalId?: string | null;
  audience: string;
  summary: string;
  status?: string | null;
  /** What it was about, e.g. ('escalation', id), ('webhook_delivery', id). */
  ref?: { type: string; id: string };
  /** A user id, `token:<id>`, or `system`. */
  recordedBy: string;
  at: Date;
}

/** Records who was told what, through which channel; one row per notification. */
export async function recordCommunication(
  db: Executor,
  orgId: string,
  c: NewCommunication,
): Promise<string> {
  const id = uuidv7();
  await db
    .insertInto('communications')
    .values({
      org_id: orgId,
      id,
      issue_id: c.issueId,
      channel: c.channel,
      external_id: c.externalId ?? null,
      audience: c.audience,
      summary: c.summary,
      status: c.status ?? null,
      ref_type: c.ref?.type ?? null,
      ref_id: c.ref?.id ?? null,
      recorded_by: c.recordedBy,
      created_at: c.at,
    })
    .execute();
  return id;
}

/** Updates a communication's status (a webhook delivery that succeeded or failed). */
export async function setCommunicationStatus(
  db: Executor,
  orgId: string,
  ref: { type: string; id: string },
  status: string,
): Promise<void> {
  await db
    .updateTable('communications')
    .set({ status })
    .where('org_id', '=', orgId)
    .where('ref_type', '=', ref.type)
    .where('ref_id', '=', ref.id)
    .execute();
}

/**
 * The issue's communications, newest first (by when they happened, then id), before the
 * cursor's position.
 */
export function listCommunications(
  db: Executor,
  orgId: string,
  issueId: string,
  page: { limit: number; before?: { at: Date; id: string } | undefined },
) {
  let q = db
    .selectFrom('communications')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('issue_id', '=', issueId);
  const before = page.before;
  if (before !== undefined)
    q = q.where((eb) => eb(eb.refTuple('created_at', 'id'), '<', eb.tuple(before.at, before.id)));
  return q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(page.limit).execute();
}
