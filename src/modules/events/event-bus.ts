import { sql, type Transaction } from 'kysely';
import type { DB } from '../../db/types.ts';
import type { OutboundEvent } from '../webhooks/events.ts';

/** The PostgreSQL channel every process listens on for live events. */
export const EVENTS_CHANNEL = 'gatehouse_events';

/** NOTIFY payloads must stay under 8000 bytes; leave room for the channel's bookkeeping. */
const NOTIFY_MAX_BYTES = 7900;

/** What the notification carries: the event, or its identity and a flag when too large. */
export interface NotifiedEvent extends OutboundEvent {
  /** True when `data` was cut down to the issue it names (the full event did not fit). */
  truncated?: true;
}

/**
 * The event as one NOTIFY payload: the whole event when it fits, else the same event with
 * `data` kept to what names its subject (project, issue, issueId, runId) and `truncated`.
 */
export function notifyPayload(event: OutboundEvent): string {
  const whole = JSON.stringify(event);
  if (Buffer.byteLength(whole) <= NOTIFY_MAX_BYTES) return whole;
  const keep = ['project', 'issue', 'issueId', 'runId', 'overall'];
  const data: Record<string, unknown> = {};
  for (const key of keep) {
    const v = event.data[key];
    if (typeof v === 'string' || typeof v === 'number') data[key] = v;
  }
  const cut: NotifiedEvent = { ...event, data, truncated: true };
  return JSON.stringify(cut);
}

/**
 * Tells every process's live streams about the event, inside the transaction of the change:
 * PostgreSQL delivers a NOTIFY only when that transaction commits, and never if it rolls back.
 */
export async function notifyEvent(trx: Transaction<DB>, event: OutboundEvent): Promise<void> {
  await sql`SELECT pg_notify(${EVENTS_CHANNEL}, ${notifyPayload(event)})`.execute(trx);
}
