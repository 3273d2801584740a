import { sql, type Kysely, type Transaction } from 'kysely';
import { NotFound } from '../errors.ts';
import { APP_ROLE } from './app-role.ts';
import { writeAudit, type TenantContext } from './tenant.ts';
import type { DB } from './types.ts';

/** Audit entries of work nobody asked for in a request carry this actor id unless a job's. */
export const SYSTEM_ACTOR = '00000000-0000-0000-0000-000000000000';

export interface SystemContext extends TenantContext {
  readonly actorType: 'system';
  readonly reason: string;
}

/**
 * The system door: background work acting inside one tenant without a user. The same
 * transaction-local app role and `app.org_id` as a request (so row-level security holds
 * exactly as for users), the org re-checked live (a job naming a deleted or unknown org
 * does nothing but fail with NotFound), and audit entries with actor type `system`, the
 * job as actor and the reason in their data.
 */
export function withOrgAsSystem<T>(
  db: Kysely<DB>,
  orgId: string,
  why: { reason: string; jobId?: string },
  fn: (trx: Transaction<DB>, ctx: SystemContext) => Promise<T>,
): Promise<T> {
  return db.transaction().execute(async (trx) => {
    await sql`SELECT set_config('role', ${APP_ROLE}, true),
                     set_config('app.user_id', '', true),
                     set_config('app.org_id', ${orgId}, true)`.execute(trx);
    const org = await trx
      .selectFrom('orgs')
      .select('slug')
      .where('id', '=', orgId)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    if (org === undefined) throw new NotFound('Organization not found');
    const actorId = why.jobId ?? SYSTEM_ACTOR;
    const ctx: SystemContext = {
      orgId,
      orgSlug: org.slug,
      role: 'system',
      actorId,
      actorType: 'system',
      userId: null,
      reason: why.reason,
      audit: (entry) =>
        writeAudit(trx, orgId, 'system', actorId, why.jobId ?? null, {
          ...entry,
          data: { ...entry.data, reason: why.reason },
        }),
    };
    return fn(trx, ctx);
  });
}

/** The system outside any tenant: the app role with no org set, so tenant tables show
 *  nothing; only functions made for it (app_claim_due_work) look across tenants. */
export function withSystem<T>(db: Kysely<DB>, fn: (trx: Transaction<DB>) => Promise<T>) {
  return db.transaction().execute(async (trx) => {
    await sql`SELECT set_config('role', ${APP_ROLE}, true),
                     set_config('app.user_id', '', true),
                     set_config('app.org_id', '', true)`.execute(trx);
    return fn(trx);
  });
}
