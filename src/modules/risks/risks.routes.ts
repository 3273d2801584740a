import type { Module } from '../../http/module.ts';
import { callerOf } from '../../http/types.ts';
import { Page, PageQuery } from '../../lib/pagination.ts';
import { IssueParams } from '../issues/issues.schema.ts';
import { CreateRiskBody, RiskOut, RiskParams, UpdateRiskBody } from './risks.schema.ts';
import { createRiskService } from './risks.service.ts';

export const riskRoutes: Module = (app, { database, clock }) => {
  const risks = createRiskService({ db: database.db, clock });
  const tags = ['risks'];
  const base = '/api/v1/orgs/:org/projects/:project/issues/:number/risks';

  app.post(
    base,
    {
      schema: {
        tags,
        summary: 'Raise a risk with its links (categories, gates, tests) and mitigations',
        params: IssueParams,
        body: CreateRiskBody,
        response: { 201: RiskOut },
      },
    },
    async (req, reply) =>
      reply.code(201).send(await risks.create(callerOf(req), req.params, req.body)),
  );
  app.get(
    base,
    {
      schema: {
        tags,
        summary: "The issue's risks, each with its live signal",
        params: IssueParams,
        querystring: PageQuery,
        response: { 200: Page(RiskOut) },
      },
    },
    (req) => risks.list(callerOf(req), req.params, req.query),
  );
  app.get(
    `${base}/:id`,
    {
      schema: {
        summary: 'One risk with its mitigation',
        tags,
        params: RiskParams,
        response: { 200: RiskOut },
      },
    },
    (req) => risks.get(callerOf(req), req.params),
  );
  app.patch(
    `${base}/:id`,
    {
      schema: {
        tags,
        summary: 'Change a risk read at `version` (409 when it changed since)',
        params: RiskParams,
        body: UpdateRiskBody,
        response: { 200: RiskOut },
      },
    },
    (req) => risks.update(callerOf(req), req.params, req.body),
  );
};
