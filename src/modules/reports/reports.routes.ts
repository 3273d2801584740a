import { Type } from 'typebox';
import type { Module } from '../../http/module.ts';
import { callerOf } from '../../http/types.ts';
import { IssueParams } from '../issues/issues.schema.ts';
import { ReportOut } from './reports.schema.ts';
import { createReportService } from './reports.service.ts';

export const reportRoutes: Module = (app, { database, clock }) => {
  const reports = createReportService({ db: database.db, clock });
  const tags = ['reports'];
  const base = '/api/v1/orgs/:org/projects/:project/issues/:number';

  app.get(
    `${base}/report.md`,
    {
      schema: {
        tags,
        summary: 'The escalation coordination tracking report, as Markdown',
        params: IssueParams,
        response: {
          200: {
            description: 'The report',
            content: { 'text/markdown': { schema: Type.String() } },
          },
        },
      },
    },
    async (req, reply) =>
      reply
        .type('text/markdown; charset=utf-8')
        .send(await reports.markdown(callerOf(req), req.params)),
  );
  app.get(
    `${base}/report.json`,
    {
      schema: {
        tags,
        summary: 'The escalation coordination tracking report, as its model',
        params: IssueParams,
        response: { 200: ReportOut },
      },
    },
    (req) => reports.model(callerOf(req), req.params),
  );
};
