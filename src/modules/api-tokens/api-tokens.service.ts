import type { Kysely, Selectable } from 'kysely';
import { enterOrg, withTenant, withUser, type Caller } from '../../db/tenant.ts';
import type { ApiTokensTable, DB } from '../../db/types.ts';
import { canGrant } from '../../domain/permissions.ts';
import { BadInput, Forbidden, NotFound, Unauthorized } from '../../errors.ts';
import type { Clock } from '../../lib/clock.ts';
import { decodeCursor, toPage, type PageQuery } from '../../lib/pagination.ts';
import { newOrgSecret } from '../../lib/tokens.ts';
import {
  findLiveToken,
  insertApiToken,
  listApiTokens,
  revokeApiToken,
} from './api-tokens.queries.ts';

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

export function createApiTokenService(deps: { db: Kysely<DB>; clock: Clock }) {
  const { db, clock } = deps;
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
          if (Number.isNaN(expiresAt.getTime()) || expiresAt.getTime() <= clock.now().getTime()) {
            throw new BadInput('body/expiresAt must be a time in the future', [
              { path: 'body/expiresAt', message: 'must be in the future' },
            ]);
          }
        }
        const secret = newOrgSecret('gth', ctx.orgId);
        const token = await insertApiToken(trx, ctx.orgId, {
          name: input.name,
          role,
          tokenHash: secret.hash,
          createdBy: ctx.userId,
          expiresAt,
        });
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
        const rows = await listApiTokens(trx, ctx.orgId, after, page.limit);
        return toPage(rows, page.limit, (t) => t.id, tokenOut);
      });
    },

    /** What an API token is: lets a CI job learn its organization from the token alone. */
    current(caller: Caller) {
      const actor = caller.actor;
      if (actor.kind !== 'token')
        throw new Forbidden('This describes API tokens; people use /api/v1/me');
      return withUser(db, null, async (trx) => {
        await enterOrg(trx, actor.orgId);
        const row = await findLiveToken(trx, actor.orgId, actor.tokenHash);
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
        const token = await revokeApiToken(trx, ctx.orgId, id);
        if (token === undefined) throw new NotFound('API token not found or already revoked');
        await ctx.audit({ action: 'api_token.revoked', targetType: 'api_token', targetId: id });
      });
    },
  };
}
