import type { Kysely, Selectable } from 'kysely';
import { withTenant, type Caller } from '../../db/tenant.ts';
import type { AuditEventsTable, DB } from '../../db/types.ts';
import { decodeCursor, toPage, type PageQuery } from '../../lib/pagination.ts';
import { listAuditEvents } from './audit.queries.ts';

function auditEventOut(e: Selectable<AuditEventsTable>) {
  return {
    id: e.id,
    actorType: e.actor_type,
    actorId: e.actor_id,
    action: e.action,
    targetType: e.target_type,
    targetId: e.target_id,
    data: e.data as Record<string, unknown>,
    requestId: e.request_id,
    createdAt: e.created_at.toISOString(),
  };
}

/** Reading the audit log; writes happen in each service's own transaction (`ctx.audit`). */
export function createAuditService(deps: { db: Kysely<DB> }) {
  const { db } = deps;
  return {
    list(caller: Caller, slug: string, query: PageQuery & { action?: string | undefined }) {
      const after = decodeCursor(query.cursor);
      return withTenant(db, caller, slug, 'audit:read', async (trx, ctx) => {
        const rows = await listAuditEvents(trx, ctx.orgId, {
          after,
          action: query.action,
          limit: query.limit,
        });
        return toPage(rows, query.limit, (e) => e.id, auditEventOut);
      });
    },
  };
}
