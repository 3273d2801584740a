import { sql } from 'kysely';
import type { Executor } from '../../db/executor.ts';
import type { LoginThrottleRow, RefreshTokenRotation } from '../../db/types-auth.ts';

// Users, sessions, refresh tokens and the login throttle are global tables (no org_id):
// these run in `withUser` transactions.

export function emailTaken(db: Executor, email: string) {
  return db
    .selectFrom('users')
    .select('id')
    .where(sql`lower(email)`, '=', email.toLowerCase())
    .executeTakeFirst();
}

/** By email, case-insensitively; `email` must already be lower-case. */
export function findUserByEmail(db: Executor, email: string) {
  return db
    .selectFrom('users')
    .selectAll()
    .where(sql`lower(email)`, '=', email)
    .executeTakeFirst();
}

export function findUser(db: Executor, userId: string) {
  return db.selectFrom('users').selectAll().where('id', '=', userId).executeTakeFirst();
}

export function insertUser(
  db: Executor,
  user: { id: string; email: string; name: string; passwordHash: string },
) {
  return db
    .insertInto('users')
    .values({
      id: user.id,
      email: user.email,
      name: user.name,
      password_hash: user.passwordHash,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export interface LoginLimits {
  /** The app's clock: windows start and end by it, not by the database's. */
  now: Date;
  windowSeconds: number;
  maxFailures: number;
  /** A counted attempt older than this is no longer in flight (its process died mid-hash). */
  pendingSeconds: number;
}

/**
 * Counts a sign-in attempt before its password is evaluated, in one statement (the row is
 * locked by the upsert), unless the failures in the window plus the attempts in flight
 * already reach the limit: however many arrive at once, no more passwords are evaluated
 * than the limit allows. Returns the row when refused, undefined when counted.
 */
export async function reserveLoginAttempt(
  db: Executor,
  email: string,
  limits: LoginLimits,
): Promise<LoginThrottleRow | undefined> {
  const at = sql<Date>`${limits.now}::timestamptz`;
  const inWindow = sql`t.window_started_at > ${at} - make_interval(secs => ${limits.windowSeconds})`;
  const livePending = sql`CASE WHEN t.pending_at > ${at} - make_interval(secs => ${limits.pendingSeconds})
                          THEN t.pending ELSE 0 END`;
  const counted = await sql<{ failures: number }>`
    INSERT INTO login_throttle AS t (email, failures, window_started_at, pending, pending_at)
    VALUES (${email}, 0, ${at}, 1, ${at})
    ON CONFLICT (email) DO UPDATE SET
      failures = CASE WHEN ${inWindow} THEN t.failures ELSE 0 END,
      window_started_at = CASE WHEN ${inWindow} THEN t.window_started_at ELSE ${at} END,
      pending = ${livePending} + 1,
      pending_at = ${at}
    WHERE (CASE WHEN ${inWindow} THEN t.failures ELSE 0 END) + ${livePending} < ${limits.maxFailures}
    RETURNING t.failures`.execute(db);
  if (counted.rows.length > 0) return undefined;
  const refused = await sql<LoginThrottleRow>`
    SELECT failures, window_started_at, pending, pending_at FROM login_throttle
    WHERE email = ${email}`.execute(db);
  return refused.rows[0];
}

/** A counted attempt failed: one more failure in the window, one fewer in flight. */
export async function recordLoginFailure(
  db: Executor,
  email: string,
  limits: Pick<LoginLimits, 'now' | 'windowSeconds'>,
): Promise<void> {
  const at = sql<Date>`${limits.now}::timestamptz`;
  const inWindow = sql`t.window_started_at > ${at} - make_interval(secs => ${limits.windowSeconds})`;
  await sql`
    INSERT INTO login_throttle AS t (email, failures, window_started_at) VALUES (${email}, 1, ${at})
    ON CONFLICT (email) DO UPDATE SET
      failures = CASE WHEN ${inWindow} THEN t.failures + 1 ELSE 1 END,
      window_started_at = CASE WHEN ${inWindow} THEN t.window_started_at ELSE ${at} END,
      pending = GREATEST(t.pending - 1, 0)`.execute(db);
}

/** A counted attempt succeeded: failures are forgiven; attempts still in flight stay counted. */
export async function recordLoginSuccess(db: Executor, email: string): Promise<void> {
  await sql`DELETE FROM login_throttle WHERE email = ${email} AND pending <= 1`.execute(db);
  await sql`UPDATE login_throttle SET failures = 0, pending = GREATEST(pending - 1, 0)
            WHERE email = ${email}`.execute(db);
}

/** The user's live role in an org (by id); null when not a member or the org is gone. */
export async function liveRole(
  db: Executor,
  userId: string,
  orgId: string,
): Promise<string | null> {
  const row = await db
    .selectFrom('memberships as m')
    .innerJoin('orgs as o', 'o.id', 'm.org_id')
    .select('m.role')
    .where('m.user_id', '=', userId)
    .where('m.org_id', '=', orgId)
    .where('o.deleted_at', 'is', null)
    .executeTakeFirst();
  return row?.role ?? null;
}

/** The user's membership in the live org with this slug. */
export function membershipBySlug(db: Executor, userId: string, slug: string) {
  return db
    .selectFrom('memberships as m')
    .innerJoin('orgs as o', 'o.id', 'm.org_id')
    .select(['o.id', 'm.role'])
    .where('m.user_id', '=', userId)
    .where('o.slug', '=', slug)
    .where('o.deleted_at', 'is', null)
    .executeTakeFirst();
}

/** The user's oldest membership in a live org: where a login without an org lands. */
export function firstMembership(db: Executor, userId: string) {
  return db
    .selectFrom('memberships as m')
    .innerJoin('orgs as o', 'o.id', 'm.org_id')
    .select(['o.id', 'm.role'])
    .where('m.user_id', '=', userId)
    .where('o.deleted_at', 'is', null)
    .orderBy('m.created_at')
    .limit(1)
    .executeTakeFirst();
}

export function listMembershipsOfUser(db: Executor, userId: string) {
  return db
    .selectFrom('memberships as m')
    .innerJoin('orgs as o', 'o.id', 'm.org_id')
    .select(['o.id', 'o.slug', 'o.name', 'm.role'])
    .where('m.user_id', '=', userId)
    .where('o.deleted_at', 'is', null)
    .orderBy('o.slug')
    .execute();
}

// Session lifetimes are database time (`now()`), checked in the database too.

export async function insertSession(
  db: Executor,
  s: {
    id: string;
    userId: string;
    scopeOrgId: string | null;
    idleSeconds: number;
    absoluteSeconds: number;
  },
): Promise<void> {
  await db
    .insertInto('sessions')
    .values({
      id: s.id,
      user_id: s.userId,
      scope_org_id: s.scopeOrgId,
      idle_expires_at: sql<Date>`now() + make_interval(secs => ${s.idleSeconds})`,
      expires_at: sql<Date>`now() + make_interval(secs => ${s.absoluteSeconds})`,
    })
    .execute();
}

/** Extends a session's idle life on refresh and records its (possibly narrowed) org. */
export async function touchSession(
  db: Executor,
  sessionId: string,
  scopeOrgId: string | null,
  idleSeconds: number,
): Promise<void> {
  await db
    .updateTable('sessions')
    .set({
      scope_org_id: scopeOrgId,
      last_used_at: sql<Date>`now()`,
      idle_expires_at: sql<Date>`now() + make_interval(secs => ${idleSeconds})`,
    })
    .where('id', '=', sessionId)
    .execute();
}

export async function setSessionScope(
  db: Executor,
  sessionId: string,
  scopeOrgId: string,
): Promise<void> {
  await db
    .updateTable('sessions')
    .set({ scope_org_id: scopeOrgId })
    .where('id', '=', sessionId)
    .execute();
}

export async function revokeSession(
  db: Executor,
  sessionId: string,
  reason: 'logout' | 'refresh_token_reuse',
): Promise<void> {
  await db
    .updateTable('sessions')
    .set({ revoked_at: sql<Date>`now()`, revoked_reason: reason })
    .where('id', '=', sessionId)
    .where('revoked_at', 'is', null)
    .execute();
}

export async function insertRefreshToken(
  db: Executor,
  tokenHash: Buffer,
  sessionId: string,
): Promise<void> {
  await db
    .insertInto('refresh_tokens')
    .values({ token_hash: tokenHash, session_id: sessionId })
    .execute();
}

/** A refresh token with its session, both locked; `live` says whether the session is within its lifetimes. */
export function lockRefreshToken(db: Executor, tokenHash: Buffer) {
  return db
    .selectFrom('refresh_tokens as r')
    .innerJoin('sessions as s', 's.id', 'r.session_id')
    .select(['r.used_at', 's.id as session_id', 's.user_id', 's.scope_org_id', 's.revoked_at'])
    .select(sql<RefreshTokenRotation['rotated_at']>`r.rotated_at`.as('rotated_at'))
    .select(sql<boolean>`s.expires_at > now() AND s.idle_expires_at > now()`.as('live'))
    .where('r.token_hash', '=', tokenHash)
    .forUpdate()
    .executeTakeFirst();
}

export function sessionOfRefreshToken(db: Executor, tokenHash: Buffer) {
  return db
    .selectFrom('refresh_tokens')
    .select('session_id')
    .where('token_hash', '=', tokenHash)
    .executeTakeFirst();
}

/** Spends a refresh token by rotating it: `at` (the app's clock) starts its reuse grace window. */
export async function spendRefreshToken(db: Executor, tokenHash: Buffer, at: Date): Promise<void> {
  await sql`UPDATE refresh_tokens SET used_at = now(), rotated_at = ${at}::timestamptz
            WHERE token_hash = ${tokenHash}`.execute(db);
}

/** Spends every unspent refresh token of a session. */
export async function retireRefreshTokens(db: Executor, sessionId: string): Promise<void> {
  await db
    .updateTable('refresh_tokens')
    .set({ used_at: sql<Date>`now()` })
    .where('session_id', '=', sessionId)
    .where('used_at', 'is', null)
    .execute();
}

/** Lets the rest of a `withUser(db, null, ...)` transaction act as this user (row-level security). */
export async function actAsUser(db: Executor, userId: string): Promise<void> {
  await sql`SELECT set_config('app.user_id', ${userId}, true)`.execute(db);
}

// The demo login (src/demo.ts) at start-up, run as the owner before any request is served.

/** Ends a user's sessions, e.g. those the demo's own set-up signed in with. */
export async function revokeUserSessions(
  db: Executor,
  userId: string,
  reason: 'demo_setup',
): Promise<void> {
  await db
    .updateTable('sessions')
    .set({ revoked_at: sql<Date>`now()`, revoked_reason: reason })
    .where('user_id', '=', userId)
    .where('revoked_at', 'is', null)
    .execute();
}

/** Whether anyone ever signed in as this user, not counting the demo's own set-up. */
export async function hasSignedIn(db: Executor, userId: string): Promise<boolean> {
  const row = await db
    .selectFrom('sessions')
    .select('id')
    .where('user_id', '=', userId)
    .where(sql<boolean>`revoked_reason IS DISTINCT FROM 'demo_setup'`)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

export async function setPasswordHash(
  db: Executor,
  userId: string,
  passwordHash: string,
): Promise<void> {
  await db
    .updateTable('users')
    .set({ password_hash: passwordHash })
    .where('id', '=', userId)
    .execute();
}
