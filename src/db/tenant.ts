import { sql, type CompiledQuery, type Kysely, type Transaction } from 'kysely';
import { uuidv7 } from 'uuidv7';
import { refusal, rolesWith, type Permission } from '../domain/permissions.ts';
import { Forbidden, NotFound, Unauthorized } from '../errors.ts';
import { APP_ROLE } from './app-role.ts';
import { runPipelined } from './connection.ts';
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

/** What a tenant door answers: the org the caller entered, their role, who acts. */
interface DoorRow {
  org_id: string;
  role: string;
  actor_id: string;
}

/**
 * The door statement for `caller` (migration 0019_tenant_door): switches to the app role,
 * checks the caller's live state, the org, their org claim and the permission (the roles
 * holding it), pins `app.org_id`, or raises a GA4xx refusal. Its settings are local to the
 * transaction it runs in.
 */
function doorStatement(caller: Caller, orgSlug: string, permission: Permission) {
  const { actor } = caller;
  const roles = rolesWith(permission);
  return actor.kind === 'user'
    ? sql<DoorRow>`SELECT * FROM app_door_as_user(${actor.userId}, ${actor.sessionId}, ${orgSlug},
        ${actor.orgId}, ${roles})`
    : sql<DoorRow>`SELECT * FROM app_door_as_token(${actor.orgId}, ${actor.tokenHash}, ${orgSlug},
        ${roles})`;
}

/** The answer a door's refusal stands for (401, 403, 404); any other error as it is. */
function refused(err: unknown, caller: Caller, orgSlug: string, permission: Permission): unknown {
  const { code, detail } = (err ?? {}) as { code?: unknown; detail?: unknown };
  switch (code) {
    case 'GA401':
      return new Unauthorized(
        caller.actor.kind === 'user'
          ? 'Your session has ended; sign in again'
          : 'The API token is invalid, expired or revoked',
      );
    case 'GA404':
      return new NotFound('Organization not found');
    case 'GA409':
      // A token scoped to one org never reaches another, even one the user belongs to; the
      // user (a member, so nothing leaks) is told how to get one that does.
      return new NotFound(
        `This access token is scoped to another organization; get one for "${orgSlug}" with POST /api/v1/auth/switch-org {"org": "${orgSlug}"}`,
      );
    case 'GA403': {
      const { message, ...extra } = refusal(String(detail), permission);
      return new Forbidden(message, extra);
    }
    default:
      return err;
  }
}

/** Who is in, once the door let them: everything of TenantContext but writing audit. */
export type ReadContext = Omit<TenantContext, 'audit'>;

function readContext(caller: Caller, orgSlug: string, door: DoorRow): ReadContext {
  return {
    orgId: door.org_id,
    orgSlug,
    role: door.role,
    actorId: door.actor_id,
    actorType: caller.actor.kind,
    userId: caller.actor.kind === 'user' ? caller.actor.userId : null,
  };
}

/**
 * The only way to reach tenant tables. Opens a transaction, goes through the tenant door
 * (doorStatement: the caller's live session or token, membership, org, permission; one
 * round trip), which pins `app.org_id` for row-level security, and hands back the
 * transaction. Another org, or one the caller is not in, is a 404 indistinguishable from a
 * missing one.
 */
export async function withTenant<T>(
  db: Kysely<DB>,
  caller: Caller,
  orgSlug: string,
  permission: Permission,
  fn: (trx: Tx, ctx: TenantContext) => Promise<T>,
): Promise<T> {
  if (!SLUG.test(orgSlug)) throw new NotFound('Organization not found');
  return db.transaction().execute(async (trx) => {
    const door = await doorStatement(caller, orgSlug, permission)
      .execute(trx)
      .then(
        (r) => r.rows[0]!,
        (err: unknown) => {
          throw refused(err, caller, orgSlug, permission);
        },
      );
    const base = readContext(caller, orgSlug, door);
    const ctx: TenantContext = {
      ...base,
      audit: (entry) =>
        writeAudit(trx, base.orgId, base.actorType, base.actorId, caller.requestId, entry),
    };
    return fn(trx, ctx);
  });
}

/**
 * A read of one statement in one round trip: the tenant door and `statement` (compiled for
 * the org the caller claims) are sent together as a pipeline (runPipelined), one implicit
 * transaction. When the door refuses, PostgreSQL skips the statement, so it only ever runs
 * for a caller let in, as the app role, with `app.org_id` pinned — the same guarantees as
 * withTenant, three round trips fewer. `answer` turns the rows into the reply (and may throw
 * a 404 of its own). For reads that need one statement and write nothing, audit included.
 */
export async function readAsTenant<R, T>(
  db: Kysely<DB>,
  caller: Caller,
  orgSlug: string,
  permission: Permission,
  statement: (orgId: string) => CompiledQuery<R>,
  answer: (rows: R[], ctx: ReadContext) => T | Promise<T>,
): Promise<T> {
  if (!SLUG.test(orgSlug)) throw new NotFound('Organization not found');
  const claimed = caller.actor.orgId;
  const door = doorStatement(caller, orgSlug, permission).compile(db);
  // A user's access token not scoped to an org: the door refuses it (GA409) on its own.
  const statements = claimed === null ? [door] : [door, statement(claimed)];
  const [doorRows, rows] = await runPipelined(db, statements).catch((err: unknown) => {
    throw refused(err, caller, orgSlug, permission);
  });
  if (rows === undefined) throw new Error('the tenant door let in a caller claiming no org');
  const ctx = readContext(caller, orgSlug, doorRows![0] as unknown as DoorRow);
  return answer(rows as R[], ctx);
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
