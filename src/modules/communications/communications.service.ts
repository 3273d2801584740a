import type { Kysely, Selectable } from 'kysely';
import type { Caller } from '../../db/tenant.ts';
import type { DB } from '../../db/types.ts';
import type { CommunicationsTable } from '../../db/types-coordination.ts';
import { BadInput } from '../../errors.ts';
import type { Clock } from '../../lib/clock.ts';
import { decodeCursor, toPage, type PageQuery } from '../../lib/pagination.ts';
import { isUuid } from '../../lib/tokens.ts';
import { inIssue, type IssueScope } from '../scope.ts';
import { listCommunications, recordCommunication, type Channel } from './communications.queries.ts';

type Communication = Selectable<CommunicationsTable>;

function communicationOut(c: Communication) {
  return {
    id: c.id,
    channel: c.channel,
    externalId: c.external_id,
    audience: c.audience,
    summary: c.summary,
    status: c.status,
    ref: c.ref_type === null || c.ref_id === null ? null : { type: c.ref_type, id: c.ref_id },
    recordedBy: c.recorded_by,
    at: c.created_at.toISOString(),
  };
}

// Newest first by when it happened: the cursor carries the last row's time and id.
const cursorKey = (c: Communication) => `${c.created_at.toISOString()}|${c.id}`;

function cursorPosition(cursor: string | undefined): { at: Date; id: string } | undefined {
  const key = decodeCursor(cursor, 'text');
  if (key === undefined) return undefined;
  const [iso, id] = key.split('|');
  const at = new Date(iso ?? '');
  if (id === undefined || !isUuid(id) || Number.isNaN(at.getTime()))
    throw new BadInput('querystring/cursor is not a cursor this API issued', [
      { path: 'querystring/cursor', message: 'is not a valid cursor' },
    ]);
  return { at, id };
}

/** A notification recorded by hand may be dated back, not ahead (a little clock skew aside). */
const FUTURE_SLACK_MS = 5 * 60_000;

export function createCommunicationService(deps: { db: Kysely<DB>; clock: Clock }) {
  const { db, clock } = deps;

  return {
    /** Who was told what, newest first, in cursor pages. */
    list(caller: Caller, scope: IssueScope, page: PageQuery) {
      const before = cursorPosition(page.cursor);
      return inIssue(db, caller, scope, 'org:read', async (trx, ctx, { issue }) => {
        const rows = await listCommunications(trx, ctx.orgId, issue.id, {
          limit: page.limit + 1,
          before,
        });
        return toPage(rows, page.limit, cursorKey, communicationOut);
      });
    },

    /** Records a notification made outside Gatehouse (a GitHub comment, a meeting, a mail). */
    record(
      caller: Caller,
      scope: IssueScope,
      input: {
        channel: Channel;
        externalId?: string | undefined;
        audience: string;
        summary: string;
        status?: string | undefined;
        at?: string | undefined;
      },
    ) {
      return inIssue(db, caller, scope, 'issues:write', async (trx, ctx, { issue }) => {
        const now = clock.now();
        const at = input.at === undefined ? now : new Date(input.at);
        if (at.getTime() > now.getTime() + FUTURE_SLACK_MS)
          throw new BadInput('body/at is in the future', [
            { path: 'body/at', message: 'is in the future' },
          ]);
        const id = await recordCommunication(trx, ctx.orgId, {
          issueId: issue.id,
          channel: input.channel,
          externalId: input.externalId ?? null,
          audience: input.audience,
          summary: input.summary,
          status: input.status ?? null,
          recordedBy: ctx.userId ?? `token:${ctx.actorId}`,
          at,
        });
        await ctx.audit({
          action: 'communication.recorded',
          targetType: 'communication',
          targetId: id,
          data: {
            number: scope.number,
            channel: input.channel,
            externalId: input.externalId ?? null,
          },
        });
        return communicationOut({
          org_id: ctx.orgId,
          id,
          issue_id: issue.id,
          channel: input.channel,
          external_id: input.externalId ?? null,
          audience: input.audience,
          summary: input.summary,
          status: input.status ?? null,
          ref_type: null,
          ref_id: null,
          recorded_by: ctx.userId ?? `token:${ctx.actorId}`,
          created_at: at,
        });
      });
    },
  };
}
