import { sql, type Kysely, type Transaction } from 'kysely';
import { uuidv7 } from 'uuidv7';
import type { Config } from '../../config.ts';
import { assertLiveSession, withUser, type Caller } from '../../db/tenant.ts';
import type { DB, User } from '../../db/types.ts';
import { Conflict, Forbidden, NotFound, TooManyRequests, Unauthorized } from '../../errors.ts';
import { dummyHash, hashPassword, verifyPassword } from '../../lib/password.ts';
import { newSecret, sha256 } from '../../lib/tokens.ts';
import type { AccessTokens } from './access-tokens.ts';

type Tx = Transaction<DB>;

const INVALID_LOGIN = 'Invalid email or password';

export function userOut(user: Pick<User, 'id' | 'email' | 'name' | 'created_at'>) {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    createdAt: user.created_at.toISOString(),
  };
}

export function createAuthService(deps: {
  db: Kysely<DB>;
  tokens: AccessTokens;
  auth: Config['auth'];
}) {
  const { db, tokens, auth } = deps;

  /** The caller's live role in an org (by id); null when not a member or the org is gone. */
  async function liveRole(trx: Tx, userId: string, orgId: string): Promise<string | null> {
    const row = await trx
      .selectFrom('memberships as m')
      .innerJoin('orgs as o', 'o.id', 'm.org_id')
      .select('m.role')
      .where('m.user_id', '=', userId)
      .where('m.org_id', '=', orgId)
      .where('o.deleted_at', 'is', null)
      .executeTakeFirst();
    return row?.role ?? null;
  }

  async function orgBySlugForUser(trx: Tx, userId: string, slug: string) {
    const row = await trx
      .selectFrom('memberships as m')
      .innerJoin('orgs as o', 'o.id', 'm.org_id')
      .select(['o.id', 'm.role'])
      .where('m.user_id', '=', userId)
      .where('o.slug', '=', slug)
      .where('o.deleted_at', 'is', null)
      .executeTakeFirst();
    if (row === undefined) throw new NotFound('Organization not found');
    return row;
  }

  /** Issues a new refresh token for a session and an access token scoped to `orgId`. */
  async function issuePair(
    trx: Tx,
    userId: string,
    sessionId: string,
    orgId: string | null,
    role: string | null,
  ) {
    const refresh = newSecret('gtr');
    await trx
      .insertInto('refresh_tokens')
      .values({ token_hash: refresh.hash, session_id: sessionId })
      .execute();
    const access = await tokens.issue({ sub: userId, sid: sessionId, org: orgId, role });
    return { ...access, refreshToken: refresh.token, tokenType: 'Bearer' as const };
  }

  async function recordFailure(email: string): Promise<void> {
    await withUser(db, null, (trx) =>
      sql`INSERT INTO login_throttle AS t (email, failures, window_started_at) VALUES (${email}, 1, now())
          ON CONFLICT (email) DO UPDATE SET
            failures = CASE WHEN t.window_started_at > now() - make_interval(secs => ${auth.loginWindowSeconds})
                            THEN t.failures + 1 ELSE 1 END,
            window_started_at = CASE WHEN t.window_started_at > now() - make_interval(secs => ${auth.loginWindowSeconds})
                            THEN t.window_started_at ELSE now() END`.execute(trx),
    );
  }

  return {
    async signup(input: { email: string; password: string; name: string }) {
      const passwordHash = await hashPassword(input.password);
      return withUser(db, null, async (trx) => {
        const existing = await trx
          .selectFrom('users')
          .select('id')
          .where(sql`lower(email)`, '=', input.email.toLowerCase())
          .executeTakeFirst();
        if (existing !== undefined) throw new Conflict('An account with this email already exists');
        const user = await trx
          .insertInto('users')
          .values({
            id: uuidv7(),
            email: input.email,
            name: input.name,
            password_hash: passwordHash,
          })
          .returningAll()
          .executeTakeFirstOrThrow();
        return userOut(user);
      });
    },

    /** Same status, message and (about) time whether or not the email exists. */
    async login(input: { email: string; password: string; org?: string | undefined }) {
      const email = input.email.toLowerCase();
      const { user, throttled } = await withUser(db, null, async (trx) => {
        const throttle = await trx
          .selectFrom('login_throttle')
          .select(['failures', 'window_started_at'])
          .where('email', '=', email)
          .executeTakeFirst();
        const windowEnds = throttle
          ? throttle.window_started_at.getTime() + auth.loginWindowSeconds * 1000
          : 0;
        const throttled =
          throttle !== undefined &&
          throttle.failures >= auth.loginMaxFailures &&
          windowEnds > Date.now()
            ? Math.ceil((windowEnds - Date.now()) / 1000)
            : 0;
        const user = await trx
          .selectFrom('users')
          .selectAll()
          .where(sql`lower(email)`, '=', email)
          .executeTakeFirst();
        return { user, throttled };
      });
      if (throttled > 0) {
        throw new TooManyRequests('Too many failed sign-in attempts; try again later', throttled);
      }
      const ok = await verifyPassword(input.password, user?.password_hash ?? (await dummyHash()));
      if (!ok || user === undefined) {
        await recordFailure(email);
        throw new Unauthorized(INVALID_LOGIN);
      }
      return withUser(db, user.id, async (trx) => {
        await trx.deleteFrom('login_throttle').where('email', '=', email).execute();
        let scope: { id: string; role: string } | undefined;
        if (input.org !== undefined) {
          scope = await orgBySlugForUser(trx, user.id, input.org);
        } else {
          scope = await trx
            .selectFrom('memberships as m')
            .innerJoin('orgs as o', 'o.id', 'm.org_id')
            .select(['o.id', 'm.role'])
            .where('m.user_id', '=', user.id)
            .where('o.deleted_at', 'is', null)
            .orderBy('m.created_at')
            .limit(1)
            .executeTakeFirst();
        }
        const sessionId = uuidv7();
        await trx
          .insertInto('sessions')
          .values({
            id: sessionId,
            user_id: user.id,
            scope_org_id: scope?.id ?? null,
            idle_expires_at: sql<Date>`now() + make_interval(secs => ${auth.sessionIdleSeconds})`,
            expires_at: sql<Date>`now() + make_interval(secs => ${auth.sessionAbsoluteSeconds})`,
          })
          .execute();
        return issuePair(trx, user.id, sessionId, scope?.id ?? null, scope?.role ?? null);
      });
    },

    /** Single use: a spent refresh token presented again revokes its whole session. */
    async refresh(refreshToken: string) {
      const hash = sha256(refreshToken);
      const outcome = await withUser(db, null, async (trx) => {
        const row = await trx
          .selectFrom('refresh_tokens as r')
          .innerJoin('sessions as s', 's.id', 'r.session_id')
          .select([
            'r.used_at',
            's.id as session_id',
            's.user_id',
            's.scope_org_id',
            's.revoked_at',
          ])
          .select(sql<boolean>`s.expires_at > now() AND s.idle_expires_at > now()`.as('live'))
          .where('r.token_hash', '=', hash)
          .forUpdate()
          .executeTakeFirst();
        if (row === undefined || row.revoked_at !== null || !row.live) return null;
        if (row.used_at !== null) {
          await trx
            .updateTable('sessions')
            .set({ revoked_at: sql<Date>`now()`, revoked_reason: 'refresh_token_reuse' })
            .where('id', '=', row.session_id)
            .execute();
          return null;
        }
        await trx
          .updateTable('refresh_tokens')
          .set({ used_at: sql<Date>`now()` })
          .where('token_hash', '=', hash)
          .execute();
        await sql`SELECT set_config('app.user_id', ${row.user_id}, true)`.execute(trx);
        const role =
          row.scope_org_id === null ? null : await liveRole(trx, row.user_id, row.scope_org_id);
        const orgId = role === null ? null : row.scope_org_id;
        await trx
          .updateTable('sessions')
          .set({
            scope_org_id: orgId,
            last_used_at: sql<Date>`now()`,
            idle_expires_at: sql<Date>`now() + make_interval(secs => ${auth.sessionIdleSeconds})`,
          })
          .where('id', '=', row.session_id)
          .execute();
        return issuePair(trx, row.user_id, row.session_id, orgId, role);
      });
      // Reuse revokes in a committed transaction; the caller still gets a 401.
      if (outcome === null)
        throw new Unauthorized('The refresh token is invalid, spent or expired');
      return outcome;
    },

    async logout(refreshToken: string): Promise<void> {
      await withUser(db, null, async (trx) => {
        const row = await trx
          .selectFrom('refresh_tokens')
          .select('session_id')
          .where('token_hash', '=', sha256(refreshToken))
          .executeTakeFirst();
        if (row === undefined) return;
        await trx
          .updateTable('sessions')
          .set({ revoked_at: sql<Date>`now()`, revoked_reason: 'logout' })
          .where('id', '=', row.session_id)
          .where('revoked_at', 'is', null)
          .execute();
      });
    },

    /** A new pair in the same session, scoped to another org the user belongs to;
     *  the session's earlier refresh tokens are retired. */
    async switchOrg(caller: Caller, slug: string) {
      const actor = caller.actor;
      if (actor.kind !== 'user') throw new Forbidden('API tokens are bound to one organization');
      return withUser(db, actor.userId, async (trx) => {
        await assertLiveSession(trx, actor.userId, actor.sessionId);
        const org = await orgBySlugForUser(trx, actor.userId, slug);
        await trx
          .updateTable('refresh_tokens')
          .set({ used_at: sql<Date>`now()` })
          .where('session_id', '=', actor.sessionId)
          .where('used_at', 'is', null)
          .execute();
        await trx
          .updateTable('sessions')
          .set({ scope_org_id: org.id })
          .where('id', '=', actor.sessionId)
          .execute();
        return issuePair(trx, actor.userId, actor.sessionId, org.id, org.role);
      });
    },

    async me(caller: Caller) {
      const actor = caller.actor;
      if (actor.kind !== 'user')
        throw new Forbidden('API tokens act for an organization, not a user');
      return withUser(db, actor.userId, async (trx) => {
        await assertLiveSession(trx, actor.userId, actor.sessionId);
        const user = await trx
          .selectFrom('users')
          .selectAll()
          .where('id', '=', actor.userId)
          .executeTakeFirst();
        if (user === undefined) throw new Unauthorized('Your session has ended; sign in again');
        const memberships = await trx
          .selectFrom('memberships as m')
          .innerJoin('orgs as o', 'o.id', 'm.org_id')
          .select(['o.id', 'o.slug', 'o.name', 'm.role'])
          .where('m.user_id', '=', actor.userId)
          .where('o.deleted_at', 'is', null)
          .orderBy('o.slug')
          .execute();
        return {
          user: userOut(user),
          memberships: memberships.map((m) => ({
            org: { id: m.id, slug: m.slug, name: m.name },
            role: m.role,
          })),
          session: { id: actor.sessionId, org: actor.orgId },
        };
      });
    },
  };
}
export type AuthService = ReturnType<typeof createAuthService>;
