import type { Kysely } from 'kysely';
import { withOrgAsSystem } from '../db/system.ts';
import type { DB } from '../db/types.ts';
import { NotFound } from '../errors.ts';
import type { Clock } from '../lib/clock.ts';
import { isUuid } from '../lib/tokens.ts';
import { recordCommunication } from '../modules/communications/communications.queries.ts';
import { EVENT_TYPES, type OutboundEvent } from '../modules/webhooks/events.ts';
import { standardPayload } from '../modules/webhooks/webhook-payload.ts';
import {
  insertDelivery,
  issueExists,
  subscribedWebhooks,
} from '../modules/webhooks/webhooks.queries.ts';
import { enqueueJob, QUEUES } from './queue.ts';

/** What a delivery job carries. */
export interface DeliverJob {
  orgId: string;
  deliveryId: string;
}

export type FanOutOutcome =
  { outcome: 'fanned-out'; deliveries: number } | { outcome: 'org-gone' | 'unknown-event' };

/**
 * One event to every active webhook of its org that subscribes to its type: a pending
 * delivery row each, its delivery job, and a communication (channel `webhook`, on the
 * event's issue when the event names one), all in one transaction. Idempotent: deliveries
 * are unique per webhook and event id, so a fan-out that runs again adds nothing.
 */
export async function fanOutEvent(
  deps: { db: Kysely<DB>; clock: Clock },
  job: { id: string; data: OutboundEvent },
): Promise<FanOutOutcome> {
  const event = job.data;
  if (!(EVENT_TYPES as readonly string[]).includes(event.type)) return { outcome: 'unknown-event' };
  const payload = standardPayload(event);
  try {
    return await withOrgAsSystem(
      deps.db,
      event.orgId,
      { reason: `webhook fan-out of ${event.type} ${event.eventId}`, jobId: job.id },
      async (trx) => {
        const hooks = await subscribedWebhooks(trx, event.orgId, event.type);
        if (hooks.length === 0) return { outcome: 'fanned-out', deliveries: 0 };
        const named = event.data['issueId'];
        const issueId =
          typeof named === 'string' && isUuid(named) && (await issueExists(trx, event.orgId, named))
            ? named
            : null;
        const at = deps.clock.now();
        let deliveries = 0;
        for (const hook of hooks) {
          const deliveryId = await insertDelivery(trx, event.orgId, {
            webhookId: hook.id,
            eventId: event.eventId,
            payload,
            at,
          });
          if (deliveryId === undefined) continue;
          const data: DeliverJob = { orgId: event.orgId, deliveryId };
          await enqueueJob(trx, QUEUES.webhookDeliver, data);
          const host = new URL(hook.url).host;
          await recordCommunication(trx, event.orgId, {
            issueId,
            channel: 'webhook',
            audience: `webhook ${host}`,
            summary: `${event.type} sent to ${host}${hook.format === 'slack' ? ' (Slack)' : ''}`,
            status: 'pending',
            ref: { type: 'webhook_delivery', id: deliveryId },
            recordedBy: 'system',
            at,
          });
          deliveries++;
        }
        return { outcome: 'fanned-out', deliveries };
      },
    );
  } catch (err) {
    // The org is gone (deleted): nobody to tell, and retrying will not bring it back.
    if (err instanceof NotFound) return { outcome: 'org-gone' };
    throw err;
  }
}
