import type { Transaction } from 'kysely';
import { uuidv7 } from 'uuidv7';
import type { DB } from '../../db/types.ts';
import { enqueueJob, QUEUES } from '../../jobs/queue.ts';
import { notifyEvent } from '../events/event-bus.ts';

/** What outbound webhooks can subscribe to. */
export const EVENT_TYPES = [
  'gate.changed',
  'escalation.created',
  'escalation.breached',
  'activity.changed',
  'checkpoint.due',
  'run.completed',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** One event, as the fan-out job receives it. */
export interface OutboundEvent {
  orgId: string;
  eventId: string;
  type: EventType;
  occurredAt: string;
  /** What happened, as JSON. About an issue: `project` (key), `issue` (number) and
   *  `issueId` — the Slack message names them, and each delivery's communication is filed
   *  on `issueId`'s issue. Receivers get it as the payload's `data`. */
  data: Record<string, unknown>;
}

/**
 * Announces an event inside the transaction of the change: the fan-out job (one delivery per
 * subscribed webhook) exists only if the change commits. Never calls out from here.
 */
export async function emitEvent(
  trx: Transaction<DB>,
  orgId: string,
  type: EventType,
  data: Record<string, unknown>,
  at: Date,
): Promise<void> {
  const event: OutboundEvent = {
    orgId,
    eventId: uuidv7(),
    type,
    occurredAt: at.toISOString(),
    data,
  };
  await enqueueJob(trx, QUEUES.webhookFanout, event);
  // The same event to open dashboards (server-sent events), on every process, after commit.
  await notifyEvent(trx, event);
}
