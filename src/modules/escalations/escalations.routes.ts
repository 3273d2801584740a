import type { Module } from '../../http/module.ts';
import { callerOf } from '../../http/types.ts';
import { Page } from '../../lib/pagination.ts';
import { IssueParams } from '../issues/issues.schema.ts';
import { ProjectParams } from '../projects/projects.schema.ts';
import {
  ChainBody,
  ChainOut,
  EscalateBody,
  EscalationActionBody,
  EscalationOut,
  EscalationParams,
  ListEscalationsQuery,
} from './escalations.schema.ts';
import { createEscalationService } from './escalations.service.ts';

export const escalationRoutes: Module = (app, { database, clock }) => {
  const escalations = createEscalationService({ db: database.db, clock });
  const tags = ['escalations'];
  const projectPath = '/api/v1/orgs/:org/projects/:project';
  const base = `${projectPath}/issues/:number/escalations`;

  app.post(
    base,
    {
      schema: {
        tags,
        summary: 'Escalate the issue to a role, with a request and questions by topic',
        params: IssueParams,
        body: EscalateBody,
        response: { 201: EscalationOut },
      },
    },
    async (req, reply) =>
      reply.code(201).send(await escalations.escalate(callerOf(req), req.params, req.body)),
  );
  app.get(
    base,
    {
      schema: {
        summary: "List an issue's escalations",
        tags,
        params: IssueParams,
        querystring: ListEscalationsQuery,
        response: { 200: Page(EscalationOut) },
      },
    },
    (req) => escalations.list(callerOf(req), req.params, req.query),
  );
  app.get(
    `${base}/:id`,
    {
      schema: {
        summary: 'One escalation with its questions and deadlines',
        tags,
        params: EscalationParams,
        response: { 200: EscalationOut },
      },
    },
    (req) => escalations.get(callerOf(req), req.params),
  );
  app.patch(
    `${base}/:id`,
    {
      schema: {
        tags,
        summary: 'Acknowledge, answer, resolve, pause (waiting on the requester) or resume',
        params: EscalationParams,
        body: EscalationActionBody,
        response: { 200: EscalationOut },
      },
    },
    (req) => escalations.act(callerOf(req), req.params, req.body),
  );
  app.get(
    `${projectPath}/escalation-chain`,
    {
      schema: {
        summary: "The project's escalation chain",
        tags,
        params: ProjectParams,
        response: { 200: ChainOut },
      },
    },
    (req) => escalations.getChain(callerOf(req), req.params),
  );
  app.put(
    `${projectPath}/escalation-chain`,
    {
      schema: {
        tags,
        summary: 'Who an unacknowledged escalation goes to next, level by level',
        params: ProjectParams,
        body: ChainBody,
        response: { 200: ChainOut },
      },
    },
    (req) => escalations.putChain(callerOf(req), req.params, req.body),
  );
};
