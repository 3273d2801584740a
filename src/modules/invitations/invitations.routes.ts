import type { Module } from '../../http/module.ts';
import { callerOf } from '../../http/types.ts';
import { Page, PageQuery } from '../../lib/pagination.ts';
import { OrgParams } from '../orgs/orgs.schema.ts';
import {
  AcceptedOut,
  AcceptInvitationBody,
  CreatedInvitationOut,
  CreateInvitationBody,
  InvitationOut,
  InvitationParams,
} from './invitations.schema.ts';
import { createInvitationService } from './invitations.service.ts';

export const invitationRoutes: Module = (app, { database, clock }) => {
  const invitations = createInvitationService({ db: database.db, clock });
  const tags = ['invitations'];

  app.post(
    '/api/v1/orgs/:org/invitations',
    {
      schema: {
        summary: 'Invite someone with a role (the token is shown once)',
        tags,
        params: OrgParams,
        body: CreateInvitationBody,
        response: { 201: CreatedInvitationOut },
      },
    },
    async (req, reply) =>
      reply.code(201).send(await invitations.create(callerOf(req), req.params.org, req.body)),
  );
  app.get(
    '/api/v1/orgs/:org/invitations',
    {
      schema: {
        summary: 'List pending invitations',
        tags,
        params: OrgParams,
        querystring: PageQuery,
        response: { 200: Page(InvitationOut) },
      },
    },
    (req) => invitations.list(callerOf(req), req.params.org, req.query),
  );
  app.delete(
    '/api/v1/orgs/:org/invitations/:id',
    {
      schema: {
        summary: 'Withdraw an invitation',
        tags,
        params: InvitationParams,
        response: { 204: {} },
      },
    },
    async (req, reply) => {
      await invitations.revoke(callerOf(req), req.params.org, req.params.id);
      return reply.code(204).send();
    },
  );
  app.post(
    '/api/v1/invitations/accept',
    {
      schema: {
        summary: 'Accept an invitation as the signed-in user',
        tags,
        body: AcceptInvitationBody,
        response: { 200: AcceptedOut },
      },
    },
    (req) => invitations.accept(callerOf(req), req.body.token),
  );
};
