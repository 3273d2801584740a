import { randomBytes } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import { withTenant, type Caller } from '../../db/tenant.ts';
import type { WebhooksTable } from '../../db/types-coordination.ts';
import type { DB } from '../../db/types.ts';
import { BadInput, NotFound } from '../../errors.ts';
import { assertOutboundUrl, type OutboundPolicy } from '../../integrations/outbound-guard.ts';
import type { Clock } from '../../lib/clock.ts';
import { decodeCursor, toPage, type PageQuery } from '../../lib/pagination.ts';
import type { SecretBox } from '../../lib/secret-box.ts';
import type { EventType } from './events.ts';
import {
  deleteWebhook,
  findWebhook,
  insertWebhook,
  listDeliveries,
  listWebhooks,
} from './webhooks.queries.ts';

/** A Standard Webhooks signing secret: `whsec_` and 32 random bytes in base64. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

function webhookOut(w: Selectable<WebhooksTable>) {
  return {
    id: w.id,
    url: w.url,
    events: w.events,
    format: w.format,
    active: w.active,
    createdBy: w.created_by,
    createdAt: w.created_at.toISOString(),
  };
}

type DeliveryRow = Awaited<ReturnType<typeof listDeliveries>>[number];

function deliveryOut(d: DeliveryRow) {
  return {
    id: d.id,
    webhookId: d.webhook_id,
    eventId: d.event_id,
    eventType: d.event_type,
    status: d.status,
    attempts: d.attempts,
    responseStatus: d.response_status,
    error: d.error,
    createdAt: d.created_at.toISOString(),
    deliveredAt: d.delivered_at === null ? null : d.delivered_at.toISOString(),
  };
}

export function createWebhookService(deps: {
  db: Kysely<DB>;
  clock: Clock;
  box: SecretBox;
  outbound: OutboundPolicy;
}) {
  const { db, clock, box, outbound } = deps;
  return {
    /** Subscribes a URL to events; the signing secret is answered once and stored encrypted. */
    create(
      caller: Caller,
      slug: string,
      input: { url: string; events: EventType[]; format?: 'standard' | 'slack' | undefined },
    ) {
      return withTenant(db, caller, slug, 'webhooks:manage', async (trx, ctx) => {
        const url = assertOutboundUrl(input.url, outbound, 'body/url');
        if (input.events.length === 0) {
          throw new BadInput('body/events must name at least one event', [
            { path: 'body/events', message: 'must name at least one event' },
          ]);
        }
        const secret = newWebhookSecret();
        const format = input.format ?? 'standard';
        const row = await insertWebhook(trx, ctx.orgId, {
          url: url.href,
          events: input.events,
          format,
          sealedSecret: box.seal(secret),
          createdBy: ctx.actorId,
          at: clock.now(),
        });
        // The host only: a Slack URL's path is itself a credential.
        await ctx.audit({
          action: 'webhook.created',
          targetType: 'webhook',
          targetId: row.id,
          data: { host: url.host, events: input.events, format },
        });
        return { ...webhookOut(row), secret };
      });
    },

    list(caller: Caller, slug: string, page: PageQuery) {
      const after = decodeCursor(page.cursor);
      return withTenant(db, caller, slug, 'webhooks:manage', async (trx, ctx) => {
        const rows = await listWebhooks(trx, ctx.orgId, after, page.limit);
        return toPage(rows, page.limit, (w) => w.id, webhookOut);
      });
    },

    get(caller: Caller, slug: string, id: string) {
      return withTenant(db, caller, slug, 'webhooks:manage', async (trx, ctx) => {
        const row = await findWebhook(trx, ctx.orgId, id);
        if (row === undefined) throw new NotFound('Webhook not found');
        return webhookOut(row);
      });
    },

    /** Removes the webhook and its delivery log; deliveries still queued find nothing to send. */
    remove(caller: Caller, slug: string, id: string) {
      return withTenant(db, caller, slug, 'webhooks:manage', async (trx, ctx) => {
        const row = await deleteWebhook(trx, ctx.orgId, id);
        if (row === undefined) throw new NotFound('Webhook not found');
        await ctx.audit({
          action: 'webhook.deleted',
          targetType: 'webhook',
          targetId: id,
          data: { host: new URL(row.url).host },
        });
      });
    },

    deliveries(caller: Caller, slug: string, id: string, page: PageQuery) {
      const after = decodeCursor(page.cursor);
      return withTenant(db, caller, slug, 'webhooks:manage', async (trx, ctx) => {
        if ((await findWebhook(trx, ctx.orgId, id)) === undefined)
          throw new NotFound('Webhook not found');
        const rows = await listDeliveries(trx, ctx.orgId, id, after, page.limit);
        return toPage(rows, page.limit, (d) => d.id, deliveryOut);
      });
    },
  };
}
