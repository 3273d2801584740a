import type { Module } from '../../http/module.ts';
import { callerOf } from '../../http/types.ts';
import { Page, PageQuery } from '../../lib/pagination.ts';
import { CreateOrgBody, OrgOut, OrgParams, UpdateOrgBody } from './orgs.schema.ts';
import { createOrgService } from './orgs.service.ts';

export const orgRoutes: Module = (app, { database }) => {
  const orgs = createOrgService({ db: database.db });
  const tags = ['orgs'];

  app.post(
    '/api/v1/orgs',
    { schema: { tags, body: CreateOrgBody, response: { 201: OrgOut } } },
    async (req, reply) => reply.code(201).send(await orgs.create(callerOf(req), req.body)),
  );
  app.get(
    '/api/v1/orgs',
    { schema: { tags, querystring: PageQuery, response: { 200: Page(OrgOut) } } },
    (req) => orgs.listMine(callerOf(req), req.query),
  );
  app.get(
    '/api/v1/orgs/:org',
    { schema: { tags, params: OrgParams, response: { 200: OrgOut } } },
    (req) => orgs.get(callerOf(req), req.params.org),
  );
  app.patch(
    '/api/v1/orgs/:org',
    { schema: { tags, params: OrgParams, body: UpdateOrgBody, response: { 200: OrgOut } } },
    (req) => orgs.rename(callerOf(req), req.params.org, req.body),
  );
  app.delete(
    '/api/v1/orgs/:org',
    { schema: { tags, params: OrgParams, response: { 204: {} } } },
    async (req, reply) => {
      await orgs.remove(callerOf(req), req.params.org);
      return reply.code(204).send();
    },
  );
};
