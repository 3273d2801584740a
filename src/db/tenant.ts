import { sql, type Kysely, type Transaction } from 'kysely';
import { uuidv7 } from 'uuidv7';
import { can, refusal, type Permission } from '../domain/permissions.ts';
import { Forbidden, NotFound, Unauthorized } from '../errors.ts';
import { APP_ROLE } from './app-role.ts';
import type { DB } from './types.ts';

/** Who is calling: a signed-in user (JWT) or a CI token. Verified signature, not yet live state. */
export type Actor =
  | { kind: 'user'; userId: string; sessionId: string; orgId: string | null }
  | { kind: 'token'; orgId: string; tokenHash: Buffer };

export interface Caller {
  readonly actor: Actor;
  readonly requestId: string;
}

export interface AuditEntry {
  action: string;
  targetType: string;
  targetId?: string | null;
  data?: Record<string, unknown>;
}

export interface TenantContext {
  readonly orgId: string;
  readonly orgSlug: string;
  readonly role: string;
  /** The user or token id that acts, as recorded in the audit log. */
  readonly actorId: string;
  readonly actorType: 'user' | 'token' | 'system';
  readonly userId: string | null;
  audit(entry: AuditEntry): Promise<void>;
}

type Tx = Transaction<DB>;

/*
 * The doors to the database. Every transaction runs as the app role (never the owner),
 * with `app.*` settings local to it, through exactly one of these:
 *
 * - withTenant (here): a request by a user or CI token inside one org. Checks live state
 *   and the permission, pins `app.org_id`. The usual door.
 * - withUser (here): a request outside any org — sign-up, sign-in, "my orgs". No org is
 *   set, so tenant tables show only what their policies give the user (own memberships).
 *   enterOrg pins an org inside it only right after the caller was proven entitled to it
 *   (creating that org, accepting its invitation; a CI token reading its own org by its
 *   token rather than a slug), where withTenant cannot apply
 *   because the membership is being made in the same transaction.
 * - withOrgAsSystem (src/db/system.ts): background work inside one org without a user;
 *   the org re-checked, audit actor `system` with the reason.
 * - withSystem (src/db/system.ts): background work outside any org; sees no tenant rows,
 *   and only app_claim_due_work looks across tenants.
 */

const SLUG = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** Opens a transaction as the app role; `app.*` settings are local to it, never session-wide. */
/** A transaction as the app role for global (non-tenant) work; `app.*` settings are local
 *  to it. No org is set, so tenant tables show only what their policies allow the user to
 *  see (their own memberships). */
export function withUser<T>(
  db: Kysely<DB>,
  userId: string | null,
  fn: (trx: Tx) => Promise<T>,
): Promise<T> {
  return db.transaction().execute(async (trx) => {
    await sql`SELECT set_config('role', ${APP_ROLE}, true),
                     set_config('app.user_id', ${userId ?? ''}, true),
                     set_config('app.org_id', '', true)`.execute(trx);
    return fn(trx);
  });
}

/** Verifies that a user's session is live; throws 401 otherwise. */
export async function assertLiveSession(trx: Tx, userId: string, sessionId: string): Promise<void> {
  const row = await trx
    .selectFrom('sessions')
    .select('id')
    .where('id', '=', sessionId)
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', sql<Date>`now()`)
    .executeTakeFirst();
  if (row === undefined) throw new Unauthorized('Your session has ended; sign in again');
}

/**
 * The only way to reach tenant tables. Opens a transaction, enters it as the app role
 * (app_enter_as_user / app_enter_as_token, one round trip), checks the
 * caller against live state (session, membership or token, org not deleted), checks the
 * permission, pins `app.org_id` for row-level security, and hands back the transaction.
 * Another org, or one the caller is not in, is a 404 indistinguishable from a missing one.
 */
export async function withTenant<T>(
  db: Kysely<DB>,
  caller: Caller,
  orgSlug: string,
  permission: Permission,
  fn: (trx: Tx, ctx: TenantContext) => Promise<T>,
): Promise<T> {
  const { actor } = caller;
  const userId = actor.kind === 'user' ? actor.userId : null;
  if (!SLUG.test(orgSlug)) throw new NotFound('Organization not found');
  return db.transaction().execute(async (trx) => {
    let orgId: string;
    let role: string;
    let actorId: string;
    if (actor.kind === 'user') {
      const row = await sql<{ status: string; org_id: string | null; role: string | null }>`
        SELECT * FROM app_enter_as_user(${actor.userId}, ${actor.sessionId}, ${orgSlug})`
        .execute(trx)
        .then((r) => r.rows[0]);
      if (row?.status === 'unauthenticated')
        throw new Unauthorized('Your session has ended; sign in again');
      if (row?.status !== 'ok' || row.org_id === null || row.role === null)
        throw new NotFound('Organization not found');
      // A token scoped to one org never reaches another, even one the user belongs to; the
      // user (a member, so nothing leaks) is told how to get one that does.
      if (actor.orgId !== row.org_id)
        throw new NotFound(
          `This access token is scoped to another organization; get one for "${orgSlug}" with POST /api/v1/auth/switch-org {"org": "${orgSlug}"}`,
        );
      orgId = row.org_id;
      role = row.role;
      actorId = actor.userId;
    } else {
      const row = await sql<{
        status: string;
        token_id: string | null;
        role: string | null;
        last_used_at: Date | null;
      }>`
        SELECT * FROM app_enter_as_token(${actor.orgId}, ${actor.tokenHash}, ${orgSlug})`
        .execute(trx)
        .then((r) => r.rows[0]);
      if (row?.status === 'unauthenticated')
        throw new Unauthorized('The API token is invalid, expired or revoked');
      if (row?.status !== 'ok' || row.token_id === null || row.role === null)
        throw new NotFound('Organization not found');
      orgId = actor.orgId;
      role = row.role;
      actorId = row.token_id;
      // lastUsedAt to the minute: one write a minute per token, not one per request. A row
      // another transaction is writing (an upload with the same token, which holds its lock
      // until it commits) is skipped, not waited for: that one records the use.
      if (row.last_used_at === null || Date.now() - row.last_used_at.getTime() > 60_000) {
        await sql`
          UPDATE api_tokens SET last_used_at = now()
          WHERE org_id = ${orgId} AND id = (
            SELECT id FROM api_tokens WHERE org_id = ${orgId} AND id = ${actorId}
            FOR NO KEY UPDATE SKIP LOCKED)`.execute(trx);
      }
    }
    if (!can(role, permission)) {
      const { message, ...extra } = refusal(role, permission);
      throw new Forbidden(message, extra);
    }
    const ctx: TenantContext = {
      orgId,
      orgSlug,
      role,
      actorId,
      actorType: actor.kind,
      userId,
      audit: (entry) => writeAudit(trx, orgId, actor.kind, actorId, caller.requestId, entry),
    };
    return fn(trx, ctx);
  });
}

export async function writeAudit(
  trx: Tx,
  orgId: string,
  actorType: 'user' | 'token' | 'system',
  actorId: string,
  requestId: string | null,
  entry: AuditEntry,
): Promise<void> {
  await trx
    .insertInto('audit_events')
    .values({
      org_id: orgId,
      id: uuidv7(),
      actor_type: actorType,
      actor_id: actorId,
      action: entry.action,
      target_type: entry.targetType,
      target_id: entry.targetId ?? null,
      data: JSON.stringify(entry.data ?? {}),
      request_id: requestId,
    })
    .execute();
}

/** Runs `fn` with `app.org_id` set to an org the caller has just been proven entitled to
 *  (e.g. while creating it or accepting its invitation). */
export async function enterOrg(trx: Tx, orgId: string): Promise<void> {
  await sql`SELECT set_config('app.org_id', ${orgId}, true)`.execute(trx);
}
