import { Type } from 'typebox';
import { withTenant } from '../../db/tenant.ts';
import type { Module } from '../../http/module.ts';
import { callerOf } from '../../http/types.ts';
import { decodeCursor, Page, PageQuery, toPage } from '../../lib/pagination.ts';
import { Slug, Uuid } from '../../http/schema.ts';

const AuditQuery = Type.Object(
  { ...PageQuery.properties, action: Type.Optional(Type.String({ maxLength: 100 })) },
  { additionalProperties: false },
);
const AuditEventOut = Type.Object({
  id: Uuid,
  actorType: Type.String(),
  actorId: Uuid,
  action: Type.String(),
  targetType: Type.String(),
  targetId: Type.Union([Type.String(), Type.Null()]),
  data: Type.Record(Type.String(), Type.Unknown()),
  requestId: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
});

/** The audit log: newest first, owners and admins only. Writes happen in each service's own transaction. */
export const auditRoutes: Module = (app, { database }) => {
  app.get(
    '/api/v1/orgs/:org/audit-events',
    {
      schema: {
        tags: ['audit'],
        params: Type.Object({ org: Slug }, { additionalProperties: false }),
        querystring: AuditQuery,
        response: { 200: Page(AuditEventOut) },
      },
    },
    (req) => {
      const { limit, cursor, action } = req.query;
      const after = decodeCursor(cursor);
      return withTenant(
        database.db,
        callerOf(req),
        req.params.org,
        'audit:read',
        async (trx, ctx) => {
          let q = trx
            .selectFrom('audit_events')
            .selectAll()
            .where('org_id', '=', ctx.orgId)
            .orderBy('id', 'desc')
            .limit(limit + 1);
          if (after !== undefined) q = q.where('id', '<', after);
          if (action !== undefined) q = q.where('action', '=', action);
          return toPage(
            await q.execute(),
            limit,
            (e) => e.id,
            (e) => ({
              id: e.id,
              actorType: e.actor_type,
              actorId: e.actor_id,
              action: e.action,
              targetType: e.target_type,
              targetId: e.target_id,
              data: e.data as Record<string, unknown>,
              requestId: e.request_id,
              createdAt: e.created_at.toISOString(),
            }),
          );
        },
      );
    },
  );
};
