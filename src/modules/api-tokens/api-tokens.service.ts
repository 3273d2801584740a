import { sql, type Kysely, type Selectable } from 'kysely';
import { uuidv7 } from 'uuidv7';
import { enterOrg, withTenant, withUser, type Caller } from '../../db/tenant.ts';
import type { ApiTokensTable, DB } from '../../db/types.ts';
import { canGrant } from '../../domain/permissions.ts';
import { BadInput, Forbidden, NotFound, Unauthorized } from '../../errors.ts';
import { decodeCursor, toPage, type PageQuery } from '../../lib/pagination.ts';
import { newOrgSecret } from '../../lib/tokens.ts';

const iso = (d: Date | null) => (d === null ? null : d.toISOString());

function tokenOut(t: Selectable<ApiTokensTable>) {
  return {
    id: t.id,
    name: t.name,
    role: t.role,
    createdBy: t.created_by,
    createdAt: t.created_at.toISOString(),
    expiresAt: iso(t.expires_at),
    lastUsedAt: iso(t.last_used_at),
    revokedAt: iso(t.revoked_at),
  };
}

export function createApiTokenService(deps: { db: Kysely<DB> }) {
  const { db } = deps;
  return {
    /** `ci` by default; any other role only up to the creator's own. The secret is returned once. */
    create(
      caller: Caller,
      slug: string,
      input: { name: string; role?: string | undefined; expiresAt?: string | undefined },
    ) {
      return withTenant(db, caller, slug, 'api_tokens:manage', async (trx, ctx) => {
        if (ctx.userId === null)
          throw new Forbidden('API tokens are created by people, not by other tokens');
        const role = input.role ?? 'ci';
        if (role !== 'ci' && !canGrant(ctx.role, role)) {
          throw new Forbidden(
            `Your role (${ctx.role}) cannot create a token with the role ${role}`,
          );
        }
        let expiresAt: Date | null = null;
        if (input.expiresAt !== undefined) {
          expiresAt = new Date(input.expiresAt);
          if (Number.isNaN(expiresAt.getTime()) || expiresAt.getTime() <= Date.now()) {
            throw new BadInput('body/expiresAt must be a time in the future', [
              { path: 'body/expiresAt', message: 'must be in the future' },
            ]);
          }
        }
        const secret = newOrgSecret('gth', ctx.orgId);
        const token = await trx
          .insertInto('api_tokens')
          .values({
            org_id: ctx.orgId,
            id: uuidv7(),
            name: input.name,
            role,
            token_hash: secret.hash,
            created_by: ctx.userId,
            expires_at: expiresAt,
          })
          .returningAll()
          .executeTakeFirstOrThrow();
        await ctx.audit({
          action: 'api_token.created',
          targetType: 'api_token',
          targetId: token.id,
          data: { name: token.name, role },
        });
        return { ...tokenOut(token), token: secret.token };
      });
    },

    list(caller: Caller, slug: string, page: PageQuery) {
      const after = decodeCursor(page.cursor);
      return withTenant(db, caller, slug, 'api_tokens:manage', async (trx, ctx) => {
        let q = trx
          .selectFrom('api_tokens')
          .selectAll()
          .where('org_id', '=', ctx.orgId)
          .orderBy('id', 'desc')
          .limit(page.limit + 1);
        if (after !== undefined) q = q.where('id', '<', after);
        return toPage(await q.execute(), page.limit, (t) => t.id, tokenOut);
      });
    },

    /** What an API token is: lets a CI job learn its organization from the token alone. */
    current(caller: Caller) {
      const actor = caller.actor;
      if (actor.kind !== 'token')
        throw new Forbidden('This describes API tokens; people use /api/v1/me');
      return withUser(db, null, async (trx) => {
        await enterOrg(trx, actor.orgId);
        const row = await trx
          .selectFrom('api_tokens as t')
          .innerJoin('orgs as o', 'o.id', 't.org_id')
          .select(['t.id', 't.name', 't.role', 'o.id as org_id', 'o.slug', 'o.name as org_name'])
          .where('t.org_id', '=', actor.orgId)
          .where('t.token_hash', '=', actor.tokenHash)
          .where('t.revoked_at', 'is', null)
          .where((eb) =>
            eb.or([eb('t.expires_at', 'is', null), eb('t.expires_at', '>', sql<Date>`now()`)]),
          )
          .where('o.deleted_at', 'is', null)
          .executeTakeFirst();
        if (row === undefined)
          throw new Unauthorized('The API token is invalid, expired or revoked');
        return {
          id: row.id,
          name: row.name,
          role: row.role,
          org: { id: row.org_id, slug: row.slug, name: row.org_name },
        };
      });
    },

    revoke(caller: Caller, slug: string, id: string) {
      return withTenant(db, caller, slug, 'api_tokens:manage', async (trx, ctx) => {
        const token = await trx
          .updateTable('api_tokens')
          .set({ revoked_at: sql<Date>`now()` })
          .where('org_id', '=', ctx.orgId)
          .where('id', '=', id)
          .where('revoked_at', 'is', null)
          .returning('id')
          .executeTakeFirst();
        if (token === undefined) throw new NotFound('API token not found or already revoked');
        await ctx.audit({ action: 'api_token.revoked', targetType: 'api_token', targetId: id });
      });
    },
  };
}
