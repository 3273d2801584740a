import type { Kysely, Transaction } from 'kysely';
import { uuidv7 } from 'uuidv7';
import type { Config } from '../../config.ts';
import { assertLiveSession, withUser, type Caller } from '../../db/tenant.ts';
import type { DB, User } from '../../db/types.ts';
import { Conflict, Forbidden, NotFound, TooManyRequests, Unauthorized } from '../../errors.ts';
import type { Clock } from '../../lib/clock.ts';
import { createHashQueue, dummyHash, verifyPassword, type HashQueue } from '../../lib/password.ts';
import { newSecret, sha256 } from '../../lib/tokens.ts';
import type { AccessTokens } from './access-tokens.ts';
import {
  actAsUser,
  emailTaken,
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
  recordLoginSuccess,
  reserveLoginAttempt,
  retireRefreshTokens,
  revokeSession,
  sessionOfRefreshToken,
  setSessionScope,
  spendRefreshToken,
  touchSession,
} from './auth.queries.ts';

type Tx = Transaction<DB>;

const INVALID_LOGIN = 'Invalid email or password';
/** A counted sign-in attempt still pending after this long died with its process. */
const PENDING_ATTEMPT_SECONDS = 120;

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
  /** Defaults to a queue of its own sized by `auth`; sign-up and sign-in share it. */
  hashing?: HashQueue;
}) {
  const { db, clock, tokens, auth } = deps;
  const hashing =
    deps.hashing ?? createHashQueue({ concurrency: auth.hashConcurrency, queue: auth.hashQueue });

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

  /** Why an attempt was not counted: the window is spent, or enough attempts are in flight. */
  function refusal(row: { failures: number; window_started_at: Date } | undefined): never {
    const now = clock.now().getTime();
    const windowEnds = (row?.window_started_at.getTime() ?? now) + auth.loginWindowSeconds * 1000;
    if (row !== undefined && row.failures >= auth.loginMaxFailures && windowEnds > now) {
      throw new TooManyRequests(
        'Too many failed sign-in attempts; try again later',
        Math.ceil((windowEnds - now) / 1000),
      );
    }
    throw new TooManyRequests(
      'Too many sign-in attempts for this account at once; try again shortly',
      1,
    );
  }

  return {
    async signup(input: { email: string; password: string; name: string }) {
      const passwordHash = await hashing.hash(input.password);
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

    /**
     * Same status, message and (about) time whether or not the email exists. The attempt is
     * counted before its password is evaluated, and no connection is held while it is.
     */
    async login(input: { email: string; password: string; org?: string | undefined }) {
      const email = input.email.toLowerCase();
      // A full hashing queue refuses before the database is touched.
      const ticket = hashing.admit();
      let user: User | undefined;
      try {
        user = await withUser(db, null, async (trx) => {
          const refused = await reserveLoginAttempt(trx, email, {
            now: clock.now(),
            windowSeconds: auth.loginWindowSeconds,
            maxFailures: auth.loginMaxFailures,
            pendingSeconds: PENDING_ATTEMPT_SECONDS,
          });
          if (refused !== undefined) refusal(refused);
          return findUserByEmail(trx, email);
        });
      } catch (err) {
        ticket.cancel();
        throw err;
      }
      const stored = user?.password_hash ?? (await dummyHash());
      const ok = await ticket.run(() => verifyPassword(input.password, stored));
      if (!ok || user === undefined) {
        const limits = { now: clock.now(), windowSeconds: auth.loginWindowSeconds };
        await withUser(db, null, (trx) => recordLoginFailure(trx, email, limits));
        throw new Unauthorized(INVALID_LOGIN);
      }
      // Settled on its own, so that a refused org below still takes the attempt out of flight.
      await withUser(db, null, (trx) => recordLoginSuccess(trx, email));
      const userId = user.id;
      return withUser(db, userId, async (trx) => {
        const scope =
          input.org !== undefined
            ? await orgBySlugForUser(trx, userId, input.org)
            : await firstMembership(trx, userId);
        const sessionId = uuidv7();
        await insertSession(trx, {
          id: sessionId,
          userId,
          scopeOrgId: scope?.id ?? null,
          idleSeconds: auth.sessionIdleSeconds,
          absoluteSeconds: auth.sessionAbsoluteSeconds,
        });
        return issuePair(trx, userId, sessionId, scope?.id ?? null, scope?.role ?? null);
      });
    },

    /**
     * Single use: a spent refresh token presented again revokes its whole session, except
     * within a few seconds of its rotation (two tabs refreshing at once), when it gets a
     * fresh pair on the same session and the successor issued first stays valid.
     */
    async refresh(refreshToken: string) {
      const hash = sha256(refreshToken);
      const outcome = await withUser(db, null, async (trx) => {
        const row = await lockRefreshToken(trx, hash);
        if (row === undefined || row.revoked_at !== null || !row.live) return null;
        const now = clock.now();
        if (row.used_at !== null) {
          const graceEnds =
            row.rotated_at === null
              ? 0
              : row.rotated_at.getTime() + auth.refreshReuseGraceSeconds * 1000;
          if (now.getTime() >= graceEnds) {
            await revokeSession(trx, row.session_id, 'refresh_token_reuse');
            return null;
          }
        } else {
          await spendRefreshToken(trx, hash, now);
        }
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
