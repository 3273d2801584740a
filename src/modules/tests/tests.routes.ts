import type { Module } from '../../http/module.ts';
import { callerOf } from '../../http/types.ts';
import { ProjectParams } from '../projects/projects.schema.ts';
import {
  DeleteRunParams,
  HistoryOut,
  HistoryQuery,
  IssueTrendOut,
  IssueTrendParams,
  QuarantineBody,
  QuarantineOut,
  TestListOut,
  TestListQuery,
  TestParams,
  TrendsOut,
  TrendsQuery,
} from './tests.schema.ts';
import { createTestService } from './tests.service.ts';

export const testRoutes: Module = (app, { database, clock }) => {
  const tests = createTestService({ db: database.db, clock });
  const tags = ['tests'];
  const projectPath = '/api/v1/orgs/:org/projects/:project';

  app.get(
    `${projectPath}/tests`,
    {
      schema: {
        tags,
        summary:
          "The project's tests: last status, failure and flip rates over the default branch's latest complete runs, mean and p95 duration, flaky, quarantined",
        params: ProjectParams,
        querystring: TestListQuery,
        response: { 200: TestListOut },
      },
    },
    (req) => tests.list(callerOf(req), req.params, req.query),
  );
  app.get(
    `${projectPath}/tests/:testId/history`,
    {
      schema: {
        tags,
        summary: "One test's results across runs, newest first",
        params: TestParams,
        querystring: HistoryQuery,
        response: { 200: HistoryOut },
      },
    },
    (req) => tests.history(callerOf(req), req.params, req.params.testId, req.query),
  );
  app.put(
    `${projectPath}/tests/:testId/quarantine`,
    {
      schema: {
        tags,
        summary:
          'Quarantine a test: it still runs and is stored, its failures stop counting against gates (until expiresAt, or until lifted)',
        params: TestParams,
        body: QuarantineBody,
        response: { 200: QuarantineOut },
      },
    },
    (req) => tests.quarantine(callerOf(req), req.params, req.params.testId, req.body),
  );
  app.delete(
    `${projectPath}/tests/:testId/quarantine`,
    {
      schema: {
        tags,
        summary: "Lift a test's quarantine: its failures count again",
        params: TestParams,
        response: { 204: {} },
      },
    },
    async (req, reply) => {
      await tests.unquarantine(callerOf(req), req.params, req.params.testId);
      return reply.code(204).send();
    },
  );
  app.get(
    `${projectPath}/trends`,
    {
      schema: {
        tags,
        summary:
          'Pass rate, counts, mean run duration and flaky count per day or week (default: the default branch, the last 90 days)',
        params: ProjectParams,
        querystring: TrendsQuery,
        response: { 200: TrendsOut },
      },
    },
    (req) => tests.trends(callerOf(req), req.params, req.query),
  );
  app.get(
    `${projectPath}/issues/:number/trend`,
    {
      schema: {
        tags,
        summary:
          "The issue's complete runs, oldest first, with pass rate and the gate state each left",
        params: IssueTrendParams,
        response: { 200: IssueTrendOut },
      },
    },
    (req) => tests.issueTrend(callerOf(req), req.params),
  );
  app.delete(
    `${projectPath}/runs/:runId`,
    {
      schema: {
        tags: ['runs'],
        summary:
          'Delete a run and its results (audited); issues judged on it are judged again on their newest remaining complete run',
        params: DeleteRunParams,
        response: { 204: {} },
      },
    },
    async (req, reply) => {
      await tests.deleteRun(callerOf(req), req.params, req.params.runId);
      return reply.code(204).send();
    },
  );
};
