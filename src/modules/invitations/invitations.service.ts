import type { Kysely, Selectable } from 'kysely';
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
import type { Clock } from '../../lib/clock.ts';
import { decodeCursor, toPage, type PageQuery } from '../../lib/pagination.ts';
import { newOrgSecret, parseOrgSecret } from '../../lib/tokens.ts';
import { findMembership, insertMembership } from '../members/members.queries.ts';
import {
  insertInvitation,
  listInvitations,
  lockPendingInvitation,
  markInvitationAccepted,
  revokeInvitation,
  userEmail,
} from './invitations.queries.ts';

type Invitation = Selectable<InvitationsTable>;

function stateOf(inv: Invitation, now: Date) {
  if (inv.accepted_at !== null) return 'accepted' as const;
  if (inv.revoked_at !== null) return 'revoked' as const;
  return inv.expires_at.getTime() <= now.getTime() ? ('expired' as const) : ('pending' as const);
}

function invitationOut(inv: Invitation, now: Date) {
  return {
    id: inv.id,
    email: inv.email,
    role: inv.role,
    invitedBy: inv.invited_by,
    createdAt: inv.created_at.toISOString(),
    expiresAt: inv.expires_at.toISOString(),
    state: stateOf(inv, now),
  };
}

const INVALID = 'This invitation is invalid, expired, revoked or already used';

/** Invitations expire by the app's clock: set, shown and enforced with `clock.now()`. */
export function createInvitationService(deps: { db: Kysely<DB>; clock: Clock }) {
  const { db, clock } = deps;
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
        const now = clock.now();
        const inv = await insertInvitation(trx, ctx.orgId, {
          email: input.email,
          role: input.role,
          tokenHash: secret.hash,
          invitedBy: ctx.userId,
          now,
          expiresInDays: input.expiresInDays ?? 7,
        });
        await ctx.audit({
          action: 'invitation.created',
          targetType: 'invitation',
          targetId: inv.id,
          data: { email: inv.email, role: inv.role },
        });
        return { ...invitationOut(inv, now), token: secret.token };
      });
    },

    list(caller: Caller, slug: string, page: PageQuery) {
      const after = decodeCursor(page.cursor);
      return withTenant(db, caller, slug, 'members:manage', async (trx, ctx) => {
        const rows = await listInvitations(trx, ctx.orgId, after, page.limit);
        const now = clock.now();
        return toPage(
          rows,
          page.limit,
          (i) => i.id,
          (i) => invitationOut(i, now),
        );
      });
    },

    revoke(caller: Caller, slug: string, id: string) {
      return withTenant(db, caller, slug, 'members:manage', async (trx, ctx) => {
        const inv = await revokeInvitation(trx, ctx.orgId, id);
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
        const inv = await lockPendingInvitation(trx, parsed.orgId, parsed.hash, clock.now());
        if (inv === undefined) throw new NotFound(INVALID);
        const user = await userEmail(trx, actor.userId);
        if (user.email.toLowerCase() !== inv.email.toLowerCase()) {
          throw new Forbidden('This invitation was sent to a different email address');
        }
        if ((await findMembership(trx, inv.org_id, actor.userId)) !== undefined)
          throw new Conflict('You are already a member of this organization');
        await insertMembership(trx, inv.org_id, actor.userId, inv.role);
        await markInvitationAccepted(trx, inv.org_id, inv.id, actor.userId);
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
