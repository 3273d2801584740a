import type { Kysely } from 'kysely';
import { withTenant, type Caller, type TenantContext } from '../../db/tenant.ts';
import type { DB } from '../../db/types.ts';
import { canGrant } from '../../domain/permissions.ts';
import { Conflict, Forbidden, NotFound } from '../../errors.ts';
import { decodeCursor, toPage, type PageQuery } from '../../lib/pagination.ts';
import {
  deleteMember,
  findMember,
  listMembers,
  lockOwners,
  setMemberRole,
} from './members.queries.ts';

type Member = NonNullable<Awaited<ReturnType<typeof findMember>>>;

function memberOut(m: Member) {
  return {
    userId: m.user_id,
    email: m.email,
    name: m.name,
    role: m.role,
    joinedAt: m.created_at.toISOString(),
  };
}

/** One may act on a member only if one could have granted that member's role. */
function assertOutranks(ctx: TenantContext, role: string, what: string): void {
  if (!canGrant(ctx.role, role))
    throw new Forbidden(`Your role (${ctx.role}) cannot ${what} a member with the role ${role}`);
}

export function createMemberService(deps: { db: Kysely<DB> }) {
  const { db } = deps;
  return {
    list(caller: Caller, slug: string, page: PageQuery) {
      const after = decodeCursor(page.cursor);
      return withTenant(db, caller, slug, 'members:read', async (trx, ctx) =>
        toPage(
          await listMembers(trx, ctx.orgId, after, page.limit),
          page.limit,
          (m) => m.user_id,
          memberOut,
        ),
      );
    },

    changeRole(caller: Caller, slug: string, userId: string, role: string) {
      return withTenant(db, caller, slug, 'members:manage', async (trx, ctx) => {
        const owners = await lockOwners(trx, ctx.orgId);
        const member = await findMember(trx, ctx.orgId, userId);
        if (member === undefined) throw new NotFound('Member not found');
        assertOutranks(ctx, member.role, 'change');
        assertOutranks(ctx, role, 'grant');
        if (member.role === 'owner' && role !== 'owner' && owners.length <= 1) {
          throw new Conflict('The last owner cannot be demoted; make someone else owner first');
        }
        await setMemberRole(trx, ctx.orgId, userId, role);
        await ctx.audit({
          action: 'member.role_changed',
          targetType: 'user',
          targetId: userId,
          data: { from: member.role, to: role },
        });
        return memberOut({ ...member, role });
      });
    },

    /** Removing someone (or leaving: anyone may remove themselves) takes effect on their next request. */
    remove(caller: Caller, slug: string, userId: string) {
      const self = caller.actor.kind === 'user' && caller.actor.userId === userId;
      return withTenant(
        db,
        caller,
        slug,
        self ? 'org:read' : 'members:manage',
        async (trx, ctx) => {
          const owners = await lockOwners(trx, ctx.orgId);
          const member = await findMember(trx, ctx.orgId, userId);
          if (member === undefined) throw new NotFound('Member not found');
          if (!self) assertOutranks(ctx, member.role, 'remove');
          if (member.role === 'owner' && owners.length <= 1) {
            throw new Conflict('The last owner cannot be removed; make someone else owner first');
          }
          await deleteMember(trx, ctx.orgId, userId);
          await ctx.audit({
            action: 'member.removed',
            targetType: 'user',
            targetId: userId,
            data: { role: member.role },
          });
        },
      );
    },
  };
}
