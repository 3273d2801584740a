import type { Module } from '../../http/module.ts';
import { callerOf } from '../../http/types.ts';
import { Page, PageQuery } from '../../lib/pagination.ts';
import { OrgParams } from '../orgs/orgs.schema.ts';
import {
  CurrentTokenOut,
  ApiTokenOut,
  ApiTokenParams,
  CreateApiTokenBody,
  CreatedApiTokenOut,
} from './api-tokens.schema.ts';
import { createApiTokenService } from './api-tokens.service.ts';

export const apiTokenRoutes: Module = (app, { database, clock }) => {
  const tokens = createApiTokenService({ db: database.db, clock });
  const tags = ['api-tokens'];

  app.post(
    '/api/v1/orgs/:org/api-tokens',
    {
      schema: {
        summary: 'Create a CI token (its secret is shown once)',
        tags,
        params: OrgParams,
        body: CreateApiTokenBody,
        response: { 201: CreatedApiTokenOut },
      },
    },
    async (req, reply) =>
      reply.code(201).send(await tokens.create(callerOf(req), req.params.org, req.body)),
  );
  app.get(
    '/api/v1/orgs/:org/api-tokens',
    {
      schema: {
        summary: "List the organization's API tokens",
        tags,
        params: OrgParams,
        querystring: PageQuery,
        response: { 200: Page(ApiTokenOut) },
      },
    },
    (req) => tokens.list(callerOf(req), req.params.org, req.query),
  );
  app.delete(
    '/api/v1/orgs/:org/api-tokens/:id',
    {
      schema: {
        summary: 'Revoke an API token',
        tags,
        params: ApiTokenParams,
        response: { 204: {} },
      },
    },
    async (req, reply) => {
      await tokens.revoke(callerOf(req), req.params.org, req.params.id);
      return reply.code(204).send();
    },
  );
  app.get(
    '/api/v1/token',
    {
      schema: {
        summary: 'Describe the API token making the request',
        tags,
        response: { 200: CurrentTokenOut },
      },
    },
    (req) => tokens.current(callerOf(req)),
  );
};
