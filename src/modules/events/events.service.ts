import type { Kysely } from 'kysely';
import { withOrgAsSystem } from '../../db/system.ts';
import { withTenant, type Caller } from '../../db/tenant.ts';
import type { DB } from '../../db/types.ts';
import { Forbidden, NotFound, Unauthorized } from '../../errors.ts';
import type { Clock } from '../../lib/clock.ts';
import { insertTicket, takeTicket } from './events.queries.ts';
import { newNamedSecret, parseNamedSecret } from './org-secret.ts';

const BAD_TICKET = 'The event stream ticket is invalid, expired or already used';

export function createEventService(deps: { db: Kysely<DB>; clock: Clock; ticketSeconds: number }) {
  const { db, clock } = deps;
  return {
    /** A one-time ticket that opens one stream of the org's events, for a browser's EventSource. */
    ticket(caller: Caller, slug: string) {
      return withTenant(db, caller, slug, 'org:read', async (trx, ctx) => {
        const { actor } = caller;
        if (actor.kind !== 'user')
          throw new Forbidden(
            'Stream tickets are for signed-in users; an API token sends its Authorization header to the stream',
          );
        const now = clock.now();
        const { token, hash } = newNamedSecret('gte', ctx.orgId);
        await insertTicket(trx, ctx.orgId, {
          hash,
          userId: actor.userId,
          sessionId: actor.sessionId,
          expiresAt: new Date(now.getTime() + deps.ticketSeconds * 1000),
          now,
        });
        return { ticket: token, expiresIn: deps.ticketSeconds };
      });
    },

    /** The caller a ticket stands for; the ticket is spent whatever happens next. */
    async redeem(ticket: string, requestId: string): Promise<Caller> {
      const parsed = parseNamedSecret('gte', ticket);
      if (parsed === null) throw new Unauthorized(BAD_TICKET);
      let row: Awaited<ReturnType<typeof takeTicket>>;
      try {
        row = await withOrgAsSystem(db, parsed.orgId, { reason: 'event stream ticket' }, (trx) =>
          takeTicket(trx, parsed.orgId, parsed.hash),
        );
      } catch (err) {
        if (err instanceof NotFound) throw new Unauthorized(BAD_TICKET);
        throw err;
      }
      if (row === undefined || row.expires_at.getTime() <= clock.now().getTime())
        throw new Unauthorized(BAD_TICKET);
      return {
        actor: {
          kind: 'user',
          userId: row.user_id,
          sessionId: row.session_id,
          orgId: parsed.orgId,
        },
        requestId,
      };
    },

    /** The org whose events the caller may watch (live membership and session checked). */
    authorize(caller: Caller, slug: string): Promise<{ orgId: string; userKey: string }> {
      return withTenant(db, caller, slug, 'org:read', (_trx, ctx) =>
        Promise.resolve({
          orgId: ctx.orgId,
          userKey: `${ctx.actorType}:${ctx.actorId}`,
        }),
      );
    },
  };
}
