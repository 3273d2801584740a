import type { Kysely } from 'kysely';
import type { Config } from '../config.ts';
import { withOrgAsSystem } from '../db/system.ts';
import type { DB } from '../db/types.ts';
import { NotFound } from '../errors.ts';
import type { Resolver } from '../integrations/outbound-guard.ts';
import { postWebhook, signatureHeaders, type PostOutcome } from '../integrations/webhooks.ts';
import type { Clock } from '../lib/clock.ts';
import type { SecretBox } from '../lib/secret-box.ts';
import { setCommunicationStatus } from '../modules/communications/communications.queries.ts';
import { webhookBody, type StandardPayload } from '../modules/webhooks/webhook-payload.ts';
import { deliveryToSend, recordAttempt } from '../modules/webhooks/webhooks.queries.ts';
import type { DeliverJob } from './webhook-fanout.ts';

export type DeliverOutcome =
  'delivered' | 'refused' | 'already-delivered' | 'already-failed' | 'gone' | 'org-gone';

/** A delivery attempt that failed and will be tried again by the queue's backoff. */
export class DeliveryFailed extends Error {
  constructor(deliveryId: string, attempt: number, error: string | null) {
    super(`webhook delivery ${deliveryId} attempt ${attempt} failed: ${error ?? 'unknown'}`);
    this.name = 'DeliveryFailed';
  }
}

/**
 * Sends one delivery: reads it, its webhook and sealed secret in one transaction and
 * commits; signs and POSTs outside any transaction; records the attempt in another
 * (attempts + 1, the answer, status delivered, or failed on the queue's last allowed
 * attempt or when the guard refuses the destination) and sets the delivery's communication
 * to the same status. A failure that may be retried throws, so pg-boss retries it with
 * backoff; on the last attempt it throws too, after recording `failed`, so the job is dead
 * on the queue's books as well. Idempotent: a delivery no longer pending is left alone.
 */
export async function deliverWebhook(
  deps: {
    db: Kysely<DB>;
    clock: Clock;
    box: SecretBox;
    config: Pick<Config, 'outbound'>;
    /** Name resolution for the call (node:dns by default). */
    resolve?: Resolver;
  },
  job: { id: string; data: DeliverJob; retryCount: number; retryLimit: number },
): Promise<DeliverOutcome> {
  const { orgId, deliveryId } = job.data;
  const why = { reason: `webhook delivery ${deliveryId}`, jobId: job.id };
  let row: Awaited<ReturnType<typeof deliveryToSend>>;
  try {
    row = await withOrgAsSystem(deps.db, orgId, why, (trx) =>
      deliveryToSend(trx, orgId, deliveryId),
    );
  } catch (err) {
    if (err instanceof NotFound) return 'org-gone';
    throw err;
  }
  // Deleted with its webhook, or already settled by an earlier run of this job.
  if (row === undefined) return 'gone';
  if (row.status === 'delivered') return 'already-delivered';
  if (row.status === 'failed') return 'already-failed';

  const payload = row.payload as unknown as StandardPayload;
  const body = webhookBody(row.format, payload);
  const sent: PostOutcome = row.active
    ? await postWebhook({
        url: row.url,
        body,
        headers: signatureHeaders(deps.box.open(row.secret), row.event_id, deps.clock.now(), body),
        policy: deps.config.outbound,
        ...(deps.resolve === undefined ? {} : { resolve: deps.resolve }),
      })
    : { outcome: 'refused', responseStatus: null, error: 'the webhook is disabled' };

  const last = job.retryCount >= job.retryLimit;
  const status =
    sent.outcome === 'delivered'
      ? 'delivered'
      : sent.outcome === 'refused' || last
        ? 'failed'
        : 'pending';
  const recorded = await withOrgAsSystem(deps.db, orgId, why, async (trx) => {
    const updated = await recordAttempt(trx, orgId, deliveryId, {
      status,
      responseStatus: sent.responseStatus,
      error: sent.error,
      at: deps.clock.now(),
    });
    if (updated !== undefined && status !== 'pending') {
      await setCommunicationStatus(
        trx,
        orgId,
        { type: 'webhook_delivery', id: deliveryId },
        status,
      );
    }
    return updated;
  });
  if (recorded === undefined) return 'gone';
  if (sent.outcome === 'delivered') return 'delivered';
  if (sent.outcome === 'refused') return 'refused';
  throw new DeliveryFailed(deliveryId, recorded.attempts, sent.error);
}
