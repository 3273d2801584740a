import { sql } from 'kysely';
import { uuidv7 } from 'uuidv7';
import type { Executor } from '../../db/executor.ts';
import type { StandardPayload } from './webhook-payload.ts';

export function insertWebhook(
  db: Executor,
  orgId: string,
  w: {
    url: string;
    events: string[];
    format: 'standard' | 'slack';
    sealedSecret: string;
    createdBy: string;
    at: Date;
  },
) {
  return db
    .insertInto('webhooks')
    .values({
      org_id: orgId,
      id: uuidv7(),
      url: w.url,
      events: w.events,
      format: w.format,
      secret: w.sealedSecret,
      created_by: w.createdBy,
      created_at: w.at,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export function listWebhooks(
  db: Executor,
  orgId: string,
  after: string | undefined,
  limit: number,
) {
  let q = db
    .selectFrom('webhooks')
    .selectAll()
    .where('org_id', '=', orgId)
    .orderBy('id', 'desc')
    .limit(limit + 1);
  if (after !== undefined) q = q.where('id', '<', after);
  return q.execute();
}

export function findWebhook(db: Executor, orgId: string, id: string) {
  return db
    .selectFrom('webhooks')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('id', '=', id)
    .executeTakeFirst();
}

/** Deletes a webhook and (by cascade) its delivery log; undefined when there is none. */
export function deleteWebhook(db: Executor, orgId: string, id: string) {
  return db
    .deleteFrom('webhooks')
    .where('org_id', '=', orgId)
    .where('id', '=', id)
    .returning(['id', 'url'])
    .executeTakeFirst();
}

/** One webhook's deliveries, newest first. */
export function listDeliveries(
  db: Executor,
  orgId: string,
  webhookId: string,
  after: string | undefined,
  limit: number,
) {
  let q = db
    .selectFrom('webhook_deliveries')
    .select([
      'id',
      'webhook_id',
      'event_id',
      'event_type',
      'status',
      'attempts',
      'response_status',
      'error',
      'created_at',
      'delivered_at',
    ])
    .where('org_id', '=', orgId)
    .where('webhook_id', '=', webhookId)
    .orderBy('id', 'desc')
    .limit(limit + 1);
  if (after !== undefined) q = q.where('id', '<', after);
  return q.execute();
}

/** The org's active webhooks that subscribe to an event type. */
export function subscribedWebhooks(db: Executor, orgId: string, type: string) {
  return db
    .selectFrom('webhooks')
    .select(['id', 'url', 'format'])
    .where('org_id', '=', orgId)
    .where('active', '=', true)
    .where('events', '@>', sql<string[]>`ARRAY[${type}]::text[]`)
    .orderBy('id')
    .execute();
}

/**
 * A pending delivery of one event to one webhook; undefined when that webhook already has
 * this event (a fan-out that runs again adds nothing).
 */
export async function insertDelivery(
  db: Executor,
  orgId: string,
  d: { webhookId: string; eventId: string; payload: StandardPayload; at: Date },
): Promise<string | undefined> {
  const row = await db
    .insertInto('webhook_deliveries')
    .values({
      org_id: orgId,
      id: uuidv7(),
      webhook_id: d.webhookId,
      event_id: d.eventId,
      event_type: d.payload.type,
      payload: JSON.stringify(d.payload),
      created_at: d.at,
    })
    .onConflict((oc) => oc.columns(['org_id', 'webhook_id', 'event_id']).doNothing())
    .returning('id')
    .executeTakeFirst();
  return row?.id;
}

/** Whether an issue exists in the org (an event may name one deleted since). */
export async function issueExists(db: Executor, orgId: string, issueId: string) {
  const row = await db
    .selectFrom('tracked_issues')
    .select('id')
    .where('org_id', '=', orgId)
    .where('id', '=', issueId)
    .executeTakeFirst();
  return row !== undefined;
}

/** A delivery with what sending it needs: its webhook's URL, format and sealed secret. */
export function deliveryToSend(db: Executor, orgId: string, id: string) {
  return db
    .selectFrom('webhook_deliveries as d')
    .innerJoin('webhooks as w', (j) =>
      j.onRef('w.org_id', '=', 'd.org_id').onRef('w.id', '=', 'd.webhook_id'),
    )
    .select([
      'd.id',
      'd.event_id',
      'd.payload',
      'd.status',
      'd.attempts',
      'w.url',
      'w.format',
      'w.secret',
      'w.active',
    ])
    .where('d.org_id', '=', orgId)
    .where('d.id', '=', id)
    .executeTakeFirst();
}

/**
 * Records one attempt at a pending delivery: attempts + 1, the answer, and the new status.
 * Undefined when the delivery is gone or no longer pending (a duplicate job ran first).
 */
export function recordAttempt(
  db: Executor,
  orgId: string,
  id: string,
  a: {
    status: 'pending' | 'delivered' | 'failed';
    responseStatus: number | null;
    error: string | null;
    at: Date;
  },
) {
  return db
    .updateTable('webhook_deliveries')
    .set((eb) => ({
      attempts: eb('attempts', '+', 1),
      status: a.status,
      response_status: a.responseStatus,
      error: a.error,
      delivered_at: a.status === 'delivered' ? a.at : null,
    }))
    .where('org_id', '=', orgId)
    .where('id', '=', id)
    .where('status', '=', 'pending')
    .returning(['id', 'attempts', 'status'])
    .executeTakeFirst();
}
