import type { Module } from '../../http/module.ts';
import { callerOf } from '../../http/types.ts';
import { Page } from '../../lib/pagination.ts';
import { AuditEventOut, AuditParams, AuditQuery } from './audit.schema.ts';
import { createAuditService } from './audit.service.ts';

/** The audit log: newest first, owners and admins only. */
export const auditRoutes: Module = (app, { database }) => {
  const audit = createAuditService({ db: database.db });

  app.get(
    '/api/v1/orgs/:org/audit-events',
    {
      schema: {
        summary: 'Read the audit log, newest first',
        tags: ['audit'],
        params: AuditParams,
        querystring: AuditQuery,
        response: { 200: Page(AuditEventOut) },
      },
    },
    (req) => audit.list(callerOf(req), req.params.org, req.query),
  );
};
