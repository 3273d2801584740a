import type { Module } from '../../http/module.ts';
import { callerOf } from '../../http/types.ts';
import { Page, PageQuery } from '../../lib/pagination.ts';
import { OrgParams } from '../orgs/orgs.schema.ts';
import { MemberOut, MemberParams, UpdateMemberBody } from './members.schema.ts';
import { createMemberService } from './members.service.ts';

export const memberRoutes: Module = (app, { database }) => {
  const members = createMemberService({ db: database.db });
  const tags = ['members'];

  app.get(
    '/api/v1/orgs/:org/members',
    {
      schema: {
        summary: "List the organization's members",
        tags,
        params: OrgParams,
        querystring: PageQuery,
        response: { 200: Page(MemberOut) },
      },
    },
    (req) => members.list(callerOf(req), req.params.org, req.query),
  );
  app.patch(
    '/api/v1/orgs/:org/members/:userId',
    {
      schema: {
        summary: "Change a member's role",
        tags,
        params: MemberParams,
        body: UpdateMemberBody,
        response: { 200: MemberOut },
      },
    },
    (req) => members.changeRole(callerOf(req), req.params.org, req.params.userId, req.body.role),
  );
  app.delete(
    '/api/v1/orgs/:org/members/:userId',
    { schema: { summary: 'Remove a member', tags, params: MemberParams, response: { 204: {} } } },
    async (req, reply) => {
      await members.remove(callerOf(req), req.params.org, req.params.userId);
      return reply.code(204).send();
    },
  );
};
