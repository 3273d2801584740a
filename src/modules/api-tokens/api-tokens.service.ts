import { sql, type Kysely, type Selectable } from 'kysely';
import { uuidv7 } from 'uuidv7';
import { withTenant, type Caller } from '../../db/tenant.ts';
import type { ApiTokensTable, DB } from '../../db/types.ts';
import { canGrant } from '../../domain/permissions.ts';
import { BadInput, Forbidden, NotFound } from '../../errors.ts';
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
