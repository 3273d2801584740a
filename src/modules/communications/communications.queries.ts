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
