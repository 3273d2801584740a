import type { Module } from '../../http/module.ts';
import { callerOf } from '../../http/types.ts';
import { Page, PageQuery } from '../../lib/pagination.ts';
import { CriterionResultOut } from '../gates/gates.schema.ts';
import { ProjectParams } from '../projects/projects.schema.ts';
import {
  CheckBody,
  CreateIssueBody,
  CriterionParams,
  IssueOut,
  IssueParams,
  ReviewBody,
  ReviewOut,
  UpdateIssueBody,
} from './issues.schema.ts';
import { createIssueService } from './issues.service.ts';

export const issueRoutes: Module = (app, { database, clock }) => {
  const issues = createIssueService({ db: database.db, clock });
  const tags = ['issues'];
  const base = '/api/v1/orgs/:org/projects/:project/issues';

  app.post(
    base,
    {
      schema: {
        summary: 'Track an issue',
        tags,
        params: ProjectParams,
        body: CreateIssueBody,
        response: { 201: IssueOut },
      },
    },
    async (req, reply) =>
      reply.code(201).send(await issues.create(callerOf(req), req.params, req.body)),
  );
  app.get(
    base,
    {
      schema: {
        summary: "List the project's tracked issues",
        tags,
        params: ProjectParams,
        querystring: PageQuery,
        response: { 200: Page(IssueOut) },
      },
    },
    (req) => issues.list(callerOf(req), req.params, req.query),
  );
  app.get(
    `${base}/:number`,
    {
      schema: {
        summary: 'One tracked issue',
        tags,
        params: IssueParams,
        response: { 200: IssueOut },
      },
    },
    (req) => issues.get(callerOf(req), req.params),
  );
  app.patch(
    `${base}/:number`,
    {
      schema: {
        summary: "Change an issue's title, phase or GitHub link",
        tags,
        params: IssueParams,
        body: UpdateIssueBody,
        response: { 200: IssueOut },
      },
    },
    (req) => issues.update(callerOf(req), req.params, req.body),
  );
  app.put(
    `${base}/:number/review`,
    {
      schema: {
        summary: 'Record a code review verdict, its conditions and notes',
        tags,
        params: IssueParams,
        body: ReviewBody,
        response: { 200: ReviewOut },
      },
    },
    (req) => issues.putReview(callerOf(req), req.params, req.body),
  );
  app.get(
    `${base}/:number/reviews`,
    {
      schema: {
        summary: 'Every review verdict recorded on an issue',
        tags,
        params: IssueParams,
        querystring: PageQuery,
        response: { 200: Page(ReviewOut) },
      },
    },
    (req) => issues.reviews(callerOf(req), req.params, req.query),
  );
  app.patch(
    `${base}/:number/criteria/:key`,
    {
      schema: {
        summary: 'Check or uncheck a manual success criterion',
        tags,
        params: CriterionParams,
        body: CheckBody,
        response: { 200: CriterionResultOut },
      },
    },
    (req) => issues.check(callerOf(req), req.params, req.params.key, req.body.checked),
  );
};
