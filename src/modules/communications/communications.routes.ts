import type { Module } from '../../http/module.ts';
import { callerOf } from '../../http/types.ts';
import { Page, PageQuery } from '../../lib/pagination.ts';
import { IssueParams } from '../issues/issues.schema.ts';
import { CommunicationOut, RecordCommunicationBody } from './communications.schema.ts';
import { createCommunicationService } from './communications.service.ts';

export const communicationRoutes: Module = (app, { database, clock }) => {
  const communications = createCommunicationService({ db: database.db, clock });
  const tags = ['communications'];
  const base = '/api/v1/orgs/:org/projects/:project/issues/:number/communications';

  app.get(
    base,
    {
      schema: {
        tags,
        summary:
          'Who was told what, when and through which channel (GitHub comments, webhook deliveries, escalations, checkpoints, notes), newest first',
        params: IssueParams,
        querystring: PageQuery,
        response: { 200: Page(CommunicationOut) },
      },
    },
    (req) => communications.list(callerOf(req), req.params, req.query),
  );
  app.post(
    base,
    {
      schema: {
        tags,
        summary: 'Record a notification made outside Gatehouse',
        params: IssueParams,
        body: RecordCommunicationBody,
        response: { 201: CommunicationOut },
      },
    },
    async (req, reply) =>
      reply.code(201).send(await communications.record(callerOf(req), req.params, req.body)),
  );
};
