import type { Kysely } from 'kysely';
import {
  assertLiveSession,
  readAsTenant,
  withTenant,
  withUser,
  type Caller,
} from '../../db/tenant.ts';
import type { DB, Org } from '../../db/types.ts';
import { Conflict, Forbidden, NotFound } from '../../errors.ts';
import { decodeCursor, toPage, type PageQuery } from '../../lib/pagination.ts';
import {
  findLiveOrg,
  liveOrg,
  insertOrgWithOwner,
  listOrgsOfUser,
  renameOrg,
  slugTaken,
  softDeleteOrg,
} from './orgs.queries.ts';

function orgOut(org: Pick<Org, 'id' | 'slug' | 'name' | 'created_at'>, role: string) {
  return {
    id: org.id,
    slug: org.slug,
    name: org.name,
    createdAt: org.created_at.toISOString(),
    role,
  };
}

export function createOrgService(deps: { db: Kysely<DB> }) {
  const { db } = deps;
  return {
    async create(caller: Caller, input: { name: string; slug: string }) {
      const actor = caller.actor;
      if (actor.kind !== 'user') throw new Forbidden('API tokens cannot create organizations');
      return withUser(db, actor.userId, async (trx) => {
        await assertLiveSession(trx, actor.userId, actor.sessionId);
        if ((await slugTaken(trx, input.slug)) !== undefined) {
          throw new Conflict(`The slug "${input.slug}" is taken`);
        }
        const org = await insertOrgWithOwner(trx, input, actor.userId, caller.requestId, {
          slug: input.slug,
          name: input.name,
        });
        return orgOut(org, 'owner');
      });
    },

    async listMine(caller: Caller, page: PageQuery) {
      const actor = caller.actor;
      if (actor.kind !== 'user') throw new Forbidden('API tokens act for one organization');
      const after = decodeCursor(page.cursor);
      return withUser(db, actor.userId, async (trx) => {
        await assertLiveSession(trx, actor.userId, actor.sessionId);
        const rows = await listOrgsOfUser(trx, actor.userId, after, page.limit);
        return toPage(
          rows,
          page.limit,
          (r) => r.id,
          (r) => orgOut(r, r.role),
        );
      });
    },

    get(caller: Caller, slug: string) {
      return readAsTenant(
        db,
        caller,
        slug,
        'org:read',
        (orgId) => liveOrg(db, orgId).compile(),
        ([org], ctx) => {
          if (org === undefined) throw new NotFound('Organization not found');
          return orgOut(org, ctx.role);
        },
      );
    },

    rename(caller: Caller, slug: string, input: { name: string }) {
      return withTenant(db, caller, slug, 'org:update', async (trx, ctx) => {
        const before = await findLiveOrg(trx, ctx.orgId);
        if (before === undefined) throw new NotFound('Organization not found');
        const org = await renameOrg(trx, ctx.orgId, input.name);
        await ctx.audit({
          action: 'org.renamed',
          targetType: 'org',
          targetId: org.id,
          data: { from: before.name, to: org.name },
        });
        return orgOut(org, ctx.role);
      });
    },

    /** Soft delete: the org and everything in it become unreachable through the API. */
    remove(caller: Caller, slug: string) {
      return withTenant(db, caller, slug, 'org:delete', async (trx, ctx) => {
        await ctx.audit({ action: 'org.deleted', targetType: 'org', targetId: ctx.orgId });
        await softDeleteOrg(trx, ctx.orgId);
      });
    },
  };
}
