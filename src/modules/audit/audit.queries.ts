import type { Executor } from '../../db/executor.ts';

/** Newest first; `after` is the id of the last event of the previous page. */
export function listAuditEvents(
  db: Executor,
  orgId: string,
  filter: { after: string | undefined; action: string | undefined; limit: number },
) {
  let q = db
    .selectFrom('audit_events')
    .selectAll()
    .where('org_id', '=', orgId)
    .orderBy('id', 'desc')
    .limit(filter.limit + 1);
  if (filter.after !== undefined) q = q.where('id', '<', filter.after);
  if (filter.action !== undefined) q = q.where('action', '=', filter.action);
  return q.execute();
}
