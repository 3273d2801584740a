import type { Module } from '../../http/module.ts';
import { callerOf } from '../../http/types.ts';
import { Page, PageQuery } from '../../lib/pagination.ts';
import { CreateOrgBody, OrgOut, OrgParams, UpdateOrgBody } from './orgs.schema.ts';
import { createOrgService } from './orgs.service.ts';
import { TokenPair } from '../auth/auth.schema.ts';
import { createAuthService } from '../auth/auth.service.ts';
import { Type } from 'typebox';

export const orgRoutes: Module = (app, { database, clock, tokens, config }) => {
  const orgs = createOrgService({ db: database.db });
  const auth = createAuthService({ db: database.db, clock, tokens, auth: config.auth });
  const tags = ['orgs'];

  app.post(
    '/api/v1/orgs',
    {
      schema: {
        tags,
        summary:
          'Create an organization; the creator is its owner, and the answer carries a token pair scoped to it',
        body: CreateOrgBody,
        response: { 201: Type.Intersect([OrgOut, TokenPair]) },
      },
    },
    async (req, reply) => {
      const caller = callerOf(req);
      const org = await orgs.create(caller, req.body);
      // The creator acts in the new org at once (the session is now scoped to it).
      const pair = await auth.switchOrg(caller, org.slug);
      return reply.code(201).send({ ...org, ...pair });
    },
  );
  app.get(
    '/api/v1/orgs',
    {
      schema: {
        summary: 'The organizations you belong to',
        tags,
        querystring: PageQuery,
        response: { 200: Page(OrgOut) },
      },
    },
    (req) => orgs.listMine(callerOf(req), req.query),
  );
  app.get(
    '/api/v1/orgs/:org',
    { schema: { summary: 'One organization', tags, params: OrgParams, response: { 200: OrgOut } } },
    (req) => orgs.get(callerOf(req), req.params.org),
  );
  app.patch(
    '/api/v1/orgs/:org',
    {
      schema: {
        summary: 'Rename an organization',
        tags,
        params: OrgParams,
        body: UpdateOrgBody,
        response: { 200: OrgOut },
      },
    },
    (req) => orgs.rename(callerOf(req), req.params.org, req.body),
  );
  app.delete(
    '/api/v1/orgs/:org',
    {
      schema: {
        summary: 'Delete an organization (owner only)',
        tags,
        params: OrgParams,
        response: { 204: {} },
      },
    },
    async (req, reply) => {
      await orgs.remove(callerOf(req), req.params.org);
      return reply.code(204).send();
    },
  );
};
