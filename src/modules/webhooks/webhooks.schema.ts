import { Type } from 'typebox';
import { Slug, Uuid } from '../../http/schema.ts';
import { EVENT_TYPES } from './events.ts';

export const EventTypeSchema = Type.Union(EVENT_TYPES.map((t) => Type.Literal(t)));
export const WebhookFormat = Type.Union([Type.Literal('standard'), Type.Literal('slack')], {
  description:
    'standard: the event as JSON, signed per Standard Webhooks. slack: {text} for a Slack incoming webhook',
});

export const CreateWebhookBody = Type.Object(
  {
    url: Type.String({
      minLength: 1,
      maxLength: 2048,
      description: 'http(s) URL; loopback and private addresses are refused',
    }),
    // At least one event: checked by the service after the access check, like the URL.
    events: Type.Array(EventTypeSchema, { maxItems: EVENT_TYPES.length, uniqueItems: true }),
    format: Type.Optional(WebhookFormat),
  },
  { additionalProperties: false },
);

export const WebhookParams = Type.Object({ org: Slug, id: Uuid }, { additionalProperties: false });

export const WebhookOut = Type.Object({
  id: Uuid,
  url: Type.String(),
  events: Type.Array(Type.String()),
  format: Type.String(),
  active: Type.Boolean(),
  createdBy: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
});

export const CreatedWebhookOut = Type.Object({
  ...WebhookOut.properties,
  secret: Type.String({
    description:
      'The signing secret (whsec_<base64>), shown once: verify webhook-signature with it',
  }),
});

export const DeliveryOut = Type.Object({
  id: Uuid,
  webhookId: Uuid,
  eventId: Type.String(),
  eventType: Type.String(),
  status: Type.Union([Type.Literal('pending'), Type.Literal('delivered'), Type.Literal('failed')]),
  attempts: Type.Integer(),
  responseStatus: Type.Union([Type.Integer(), Type.Null()]),
  error: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
  deliveredAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});
