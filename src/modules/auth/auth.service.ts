import type { Kysely, Transaction } from 'kysely';
import { uuidv7 } from 'uuidv7';
import type { Config } from '../../config.ts';
import { assertLiveSession, withUser, type Caller } from '../../db/tenant.ts';
import type { DB, User } from '../../db/types.ts';
import { Conflict, Forbidden, NotFound, TooManyRequests, Unauthorized } from '../../errors.ts';
import type { Clock } from '../../lib/clock.ts';
import { dummyHash, hashPassword, verifyPassword } from '../../lib/password.ts';
import { newSecret, sha256 } from '../../lib/tokens.ts';
import type { AccessTokens } from './access-tokens.ts';
import {
  actAsUser,
  clearLoginThrottle,
  emailTaken,
  findLoginThrottle,
  findUser,
  findUserByEmail,
  firstMembership,
  insertRefreshToken,
  insertSession,
  insertUser,
  listMembershipsOfUser,
  liveRole,
  lockRefreshToken,
  membershipBySlug,
  recordLoginFailure,
  retireRefreshTokens,
  revokeSession,
  sessionOfRefreshToken,
  setSessionScope,
  spendRefreshToken,
  touchSession,
} from './auth.queries.ts';

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
  clock: Clock;
  tokens: AccessTokens;
  auth: Config['auth'];
}) {
  const { db, clock, tokens, auth } = deps;

  async function orgBySlugForUser(trx: Tx, userId: string, slug: string) {
    const row = await membershipBySlug(trx, userId, slug);
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
    await insertRefreshToken(trx, refresh.hash, sessionId);
    const access = await tokens.issue({ sub: userId, sid: sessionId, org: orgId, role });
    return { ...access, refreshToken: refresh.token, tokenType: 'Bearer' as const };
  }

  async function recordFailure(email: string): Promise<void> {
    const now = clock.now();
    await withUser(db, null, (trx) => recordLoginFailure(trx, email, auth.loginWindowSeconds, now));
  }

  return {
    async signup(input: { email: string; password: string; name: string }) {
      const passwordHash = await hashPassword(input.password);
      return withUser(db, null, async (trx) => {
        if ((await emailTaken(trx, input.email)) !== undefined)
          throw new Conflict('An account with this email already exists');
        const user = await insertUser(trx, {
          id: uuidv7(),
          email: input.email,
          name: input.name,
          passwordHash,
        });
        return userOut(user);
      });
    },

    /** Same status, message and (about) time whether or not the email exists. */
    async login(input: { email: string; password: string; org?: string | undefined }) {
      const email = input.email.toLowerCase();
      const { user, throttled } = await withUser(db, null, async (trx) => {
        const throttle = await findLoginThrottle(trx, email);
        // Windows start and end by the app's clock (recordLoginFailure writes it).
        const now = clock.now().getTime();
        const windowEnds = throttle
          ? throttle.window_started_at.getTime() + auth.loginWindowSeconds * 1000
          : 0;
        const throttled =
          throttle !== undefined && throttle.failures >= auth.loginMaxFailures && windowEnds > now
            ? Math.ceil((windowEnds - now) / 1000)
            : 0;
        const user = await findUserByEmail(trx, email);
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
        await clearLoginThrottle(trx, email);
        const scope =
          input.org !== undefined
            ? await orgBySlugForUser(trx, user.id, input.org)
            : await firstMembership(trx, user.id);
        const sessionId = uuidv7();
        await insertSession(trx, {
          id: sessionId,
          userId: user.id,
          scopeOrgId: scope?.id ?? null,
          idleSeconds: auth.sessionIdleSeconds,
          absoluteSeconds: auth.sessionAbsoluteSeconds,
        });
        return issuePair(trx, user.id, sessionId, scope?.id ?? null, scope?.role ?? null);
      });
    },

    /** Single use: a spent refresh token presented again revokes its whole session. */
    async refresh(refreshToken: string) {
      const hash = sha256(refreshToken);
      const outcome = await withUser(db, null, async (trx) => {
        const row = await lockRefreshToken(trx, hash);
        if (row === undefined || row.revoked_at !== null || !row.live) return null;
        if (row.used_at !== null) {
          await revokeSession(trx, row.session_id, 'refresh_token_reuse');
          return null;
        }
        await spendRefreshToken(trx, hash);
        await actAsUser(trx, row.user_id);
        const role =
          row.scope_org_id === null ? null : await liveRole(trx, row.user_id, row.scope_org_id);
        const orgId = role === null ? null : row.scope_org_id;
        await touchSession(trx, row.session_id, orgId, auth.sessionIdleSeconds);
        return issuePair(trx, row.user_id, row.session_id, orgId, role);
      });
      // Reuse revokes in a committed transaction; the caller still gets a 401.
      if (outcome === null)
        throw new Unauthorized('The refresh token is invalid, spent or expired');
      return outcome;
    },

    async logout(refreshToken: string): Promise<void> {
      await withUser(db, null, async (trx) => {
        const row = await sessionOfRefreshToken(trx, sha256(refreshToken));
        if (row === undefined) return;
        await revokeSession(trx, row.session_id, 'logout');
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
        await retireRefreshTokens(trx, actor.sessionId);
        await setSessionScope(trx, actor.sessionId, org.id);
        return issuePair(trx, actor.userId, actor.sessionId, org.id, org.role);
      });
    },

    async me(caller: Caller) {
      const actor = caller.actor;
      if (actor.kind !== 'user')
        throw new Forbidden('API tokens act for an organization, not a user');
      return withUser(db, actor.userId, async (trx) => {
        await assertLiveSession(trx, actor.userId, actor.sessionId);
        const user = await findUser(trx, actor.userId);
        if (user === undefined) throw new Unauthorized('Your session has ended; sign in again');
        const memberships = await listMembershipsOfUser(trx, actor.userId);
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
