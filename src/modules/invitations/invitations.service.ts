import { sql, type Kysely, type Selectable } from 'kysely';
import { uuidv7 } from 'uuidv7';
import {
  assertLiveSession,
  enterOrg,
  withTenant,
  withUser,
  writeAudit,
  type Caller,
} from '../../db/tenant.ts';
import type { DB, InvitationsTable } from '../../db/types.ts';
import { canGrant } from '../../domain/permissions.ts';
import { Conflict, Forbidden, NotFound } from '../../errors.ts';
import { decodeCursor, toPage, type PageQuery } from '../../lib/pagination.ts';
import { newOrgSecret, parseOrgSecret } from '../../lib/tokens.ts';

type Invitation = Selectable<InvitationsTable>;

function stateOf(inv: Invitation, now: number) {
  if (inv.accepted_at !== null) return 'accepted' as const;
  if (inv.revoked_at !== null) return 'revoked' as const;
  return inv.expires_at.getTime() <= now ? ('expired' as const) : ('pending' as const);
}

function invitationOut(inv: Invitation) {
  return {
    id: inv.id,
    email: inv.email,
    role: inv.role,
    invitedBy: inv.invited_by,
    createdAt: inv.created_at.toISOString(),
    expiresAt: inv.expires_at.toISOString(),
    state: stateOf(inv, Date.now()),
  };
}

const INVALID = 'This invitation is invalid, expired, revoked or already used';

export function createInvitationService(deps: { db: Kysely<DB> }) {
  const { db } = deps;
  return {
    create(
      caller: Caller,
      slug: string,
      input: { email: string; role: string; expiresInDays?: number | undefined },
    ) {
      return withTenant(db, caller, slug, 'members:manage', async (trx, ctx) => {
        if (ctx.userId === null)
          throw new Forbidden('Invitations are sent by people, not API tokens');
        if (!canGrant(ctx.role, input.role))
          throw new Forbidden(`Your role (${ctx.role}) cannot grant the role ${input.role}`);
        const secret = newOrgSecret('gti', ctx.orgId);
        const inv = await trx
          .insertInto('invitations')
          .values({
            org_id: ctx.orgId,
            id: uuidv7(),
            email: input.email,
            role: input.role,
            token_hash: secret.hash,
            invited_by: ctx.userId,
            expires_at: sql<Date>`now() + make_interval(days => ${input.expiresInDays ?? 7})`,
          })
          .returningAll()
          .executeTakeFirstOrThrow();
        await ctx.audit({
          action: 'invitation.created',
          targetType: 'invitation',
          targetId: inv.id,
          data: { email: inv.email, role: inv.role },
        });
        return { ...invitationOut(inv), token: secret.token };
      });
    },

    list(caller: Caller, slug: string, page: PageQuery) {
      const after = decodeCursor(page.cursor);
      return withTenant(db, caller, slug, 'members:manage', async (trx, ctx) => {
        let q = trx
          .selectFrom('invitations')
          .selectAll()
          .where('org_id', '=', ctx.orgId)
          .orderBy('id', 'desc')
          .limit(page.limit + 1);
        if (after !== undefined) q = q.where('id', '<', after);
        return toPage(await q.execute(), page.limit, (i) => i.id, invitationOut);
      });
    },

    revoke(caller: Caller, slug: string, id: string) {
      return withTenant(db, caller, slug, 'members:manage', async (trx, ctx) => {
        const inv = await trx
          .updateTable('invitations')
          .set({ revoked_at: sql<Date>`now()` })
          .where('org_id', '=', ctx.orgId)
          .where('id', '=', id)
          .where('accepted_at', 'is', null)
          .where('revoked_at', 'is', null)
          .returning('id')
          .executeTakeFirst();
        if (inv === undefined) throw new NotFound('Invitation not found or no longer pending');
        await ctx.audit({ action: 'invitation.revoked', targetType: 'invitation', targetId: id });
      });
    },

    /** Single use, for a signed-in user whose email is the invited one. */
    accept(caller: Caller, token: string) {
      const actor = caller.actor;
      if (actor.kind !== 'user')
        throw new Forbidden('Sign in as the invited person to accept an invitation');
      const parsed = parseOrgSecret('gti', token);
      if (parsed === null) throw new NotFound(INVALID);
      return withUser(db, actor.userId, async (trx) => {
        await assertLiveSession(trx, actor.userId, actor.sessionId);
        // Entering the token's org is safe: nothing is read there unless the hash matches.
        await enterOrg(trx, parsed.orgId);
        const inv = await trx
          .selectFrom('invitations as i')
          .innerJoin('orgs as o', 'o.id', 'i.org_id')
          .select(['i.id', 'i.email', 'i.role', 'o.id as org_id', 'o.slug', 'o.name'])
          .where('i.org_id', '=', parsed.orgId)
          .where('i.token_hash', '=', parsed.hash)
          .where('i.accepted_at', 'is', null)
          .where('i.revoked_at', 'is', null)
          .where('i.expires_at', '>', sql<Date>`now()`)
          .where('o.deleted_at', 'is', null)
          .forUpdate('i')
          .executeTakeFirst();
        if (inv === undefined) throw new NotFound(INVALID);
        const user = await trx
          .selectFrom('users')
          .select('email')
          .where('id', '=', actor.userId)
          .executeTakeFirstOrThrow();
        if (user.email.toLowerCase() !== inv.email.toLowerCase()) {
          throw new Forbidden('This invitation was sent to a different email address');
        }
        const existing = await trx
          .selectFrom('memberships')
          .select('role')
          .where('org_id', '=', inv.org_id)
          .where('user_id', '=', actor.userId)
          .executeTakeFirst();
        if (existing !== undefined)
          throw new Conflict('You are already a member of this organization');
        await trx
          .insertInto('memberships')
          .values({ org_id: inv.org_id, user_id: actor.userId, role: inv.role })
          .execute();
        await trx
          .updateTable('invitations')
          .set({ accepted_at: sql<Date>`now()`, accepted_by: actor.userId })
          .where('org_id', '=', inv.org_id)
          .where('id', '=', inv.id)
          .execute();
        await writeAudit(trx, inv.org_id, 'user', actor.userId, caller.requestId, {
          action: 'invitation.accepted',
          targetType: 'invitation',
          targetId: inv.id,
          data: { role: inv.role },
        });
        return { org: { id: inv.org_id, slug: inv.slug, name: inv.name }, role: inv.role };
      });
    },
  };
}
