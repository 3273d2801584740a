import type { Module } from '../../http/module.ts';
import { callerOf } from '../../http/types.ts';
import { Page, PageQuery } from '../../lib/pagination.ts';
import { OrgParams } from '../orgs/orgs.schema.ts';
import {
  CreatedWebhookOut,
  CreateWebhookBody,
  DeliveryOut,
  WebhookOut,
  WebhookParams,
} from './webhooks.schema.ts';
import { createWebhookService } from './webhooks.service.ts';

export const webhookRoutes: Module = (app, { database, clock, box, config }) => {
  const webhooks = createWebhookService({
    db: database.db,
    clock,
    box,
    outbound: config.outbound,
  });
  const tags = ['webhooks'];

  app.post(
    '/api/v1/orgs/:org/webhooks',
    {
      schema: {
        summary: 'Add an outbound webhook (its signing secret is shown once)',
        tags,
        params: OrgParams,
        body: CreateWebhookBody,
        response: { 201: CreatedWebhookOut },
      },
    },
    async (req, reply) =>
      reply.code(201).send(await webhooks.create(callerOf(req), req.params.org, req.body)),
  );
  app.get(
    '/api/v1/orgs/:org/webhooks',
    {
      schema: {
        summary: 'List outbound webhooks',
        tags,
        params: OrgParams,
        querystring: PageQuery,
        response: { 200: Page(WebhookOut) },
      },
    },
    (req) => webhooks.list(callerOf(req), req.params.org, req.query),
  );
  app.get(
    '/api/v1/orgs/:org/webhooks/:id',
    {
      schema: {
        summary: 'One outbound webhook',
        tags,
        params: WebhookParams,
        response: { 200: WebhookOut },
      },
    },
    (req) => webhooks.get(callerOf(req), req.params.org, req.params.id),
  );
  app.delete(
    '/api/v1/orgs/:org/webhooks/:id',
    {
      schema: {
        summary: 'Delete an outbound webhook',
        tags,
        params: WebhookParams,
        response: { 204: {} },
      },
    },
    async (req, reply) => {
      await webhooks.remove(callerOf(req), req.params.org, req.params.id);
      return reply.code(204).send();
    },
  );
  app.get(
    '/api/v1/orgs/:org/webhooks/:id/deliveries',
    {
      schema: {
        summary: "A webhook's recent deliveries and their outcomes",
        tags,
        params: WebhookParams,
        querystring: PageQuery,
        response: { 200: Page(DeliveryOut) },
      },
    },
    (req) => webhooks.deliveries(callerOf(req), req.params.org, req.params.id, req.query),
  );
};
