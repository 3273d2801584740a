import type { Module } from '../../http/module.ts';
import { callerOf } from '../../http/types.ts';
import { IssueParams } from '../issues/issues.schema.ts';
import { ProjectParams } from '../projects/projects.schema.ts';
import { RunParams } from '../runs/runs.schema.ts';
import { IssueGatesOut, QualityConfigBody, QualityConfigOut, TriageOut } from './gates.schema.ts';
import { createGateService } from './gates.service.ts';

export const gateRoutes: Module = (app, { database, clock }) => {
  const gates = createGateService({ db: database.db, clock });
  const tags = ['gates'];
  const projectPath = '/api/v1/orgs/:org/projects/:project';

  app.get(
    `${projectPath}/quality-config`,
    {
      schema: {
        summary: "The project's quality configuration (the default one until it is set)",
        tags,
        params: ProjectParams,
        response: { 200: QualityConfigOut },
      },
    },
    (req) => gates.getConfig(callerOf(req), req.params),
  );
  app.put(
    `${projectPath}/quality-config`,
    {
      schema: {
        summary:
          "Set the quality configuration (categories, gates, criteria) and re-judge the project's issues",
        tags,
        params: ProjectParams,
        body: QualityConfigBody,
        response: { 200: QualityConfigOut },
      },
    },
    (req) => gates.putConfig(callerOf(req), req.params, req.body),
  );
  app.get(
    `${projectPath}/issues/:number/gates`,
    {
      schema: {
        summary: "An issue's gate states with reasons, and its success criteria",
        tags,
        params: IssueParams,
        response: { 200: IssueGatesOut },
      },
    },
    (req) => gates.report(callerOf(req), req.params),
  );
  app.get(
    `${projectPath}/runs/:runId/triage`,
    {
      schema: {
        summary: "A run's failures by category and cluster, flaky tests and regressions",
        tags,
        params: RunParams,
        response: { 200: TriageOut },
      },
    },
    (req) => gates.triage(callerOf(req), req.params, req.params.runId),
  );
};
