import type { Kysely, Selectable } from 'kysely';
import type { Caller, TenantContext } from '../../db/tenant.ts';
import type { DB } from '../../db/types.ts';
import type { NotesTable } from '../../db/types-coordination.ts';
import type { Executor } from '../../db/executor.ts';
import type { Clock } from '../../lib/clock.ts';
import { decodeCursor, toPage, type PageQuery } from '../../lib/pagination.ts';
import { recordCommunication } from '../communications/communications.queries.ts';
import { inIssue, type IssueScope } from '../scope.ts';
import { insertNote, listNotes, tokenName, userName } from './notes.queries.ts';

function noteOut(n: Selectable<NotesTable>) {
  return {
    id: n.id,
    kind: n.kind,
    text: n.text,
    author: n.author,
    createdAt: n.created_at.toISOString(),
  };
}

/** Who is writing: the signed-in user's name, else the CI token's. */
async function actorName(db: Executor, ctx: TenantContext): Promise<string> {
  if (ctx.userId !== null) return (await userName(db, ctx.userId)) ?? 'unknown user';
  return `token ${(await tokenName(db, ctx.orgId, ctx.actorId)) ?? ctx.actorId}`;
}

const KIND_LABELS: Record<string, string> = {
  lesson: 'Lesson learned',
  decision: 'Decision',
  process: 'Process improvement',
  status: 'Status',
  priority: 'Priority',
  other: 'Note',
};

const SUMMARY_CHARS = 200;

export function createNoteService(deps: { db: Kysely<DB>; clock: Clock }) {
  const { db, clock } = deps;

  return {
    /**
     * Writes a note on the issue and records it among the issue's communications (channel
     * `note`, for the issue team) in the same transaction.
     */
    create(
      caller: Caller,
      scope: IssueScope,
      input: { kind: string; text: string; author?: string | undefined },
    ) {
      return inIssue(db, caller, scope, 'issues:write', async (trx, ctx, { issue }) => {
        const now = clock.now();
        const note = await insertNote(trx, ctx.orgId, {
          issueId: issue.id,
          kind: input.kind,
          text: input.text,
          author: input.author ?? (await actorName(trx, ctx)),
          at: now,
        });
        const text = note.text.replace(/\s+/g, ' ').trim();
        await recordCommunication(trx, ctx.orgId, {
          issueId: issue.id,
          channel: 'note',
          audience: 'issue team',
          summary: `${KIND_LABELS[note.kind] ?? 'Note'} by ${note.author}: ${
            text.length > SUMMARY_CHARS ? `${text.slice(0, SUMMARY_CHARS - 1)}…` : text
          }`,
          ref: { type: 'note', id: note.id },
          recordedBy: ctx.userId ?? `token:${ctx.actorId}`,
          at: now,
        });
        await ctx.audit({
          action: 'note.created',
          targetType: 'note',
          targetId: note.id,
          data: { number: scope.number, kind: note.kind },
        });
        return noteOut(note);
      });
    },

    /** The issue's notes, oldest first, optionally of one kind. */
    list(caller: Caller, scope: IssueScope, query: PageQuery & { kind?: string | undefined }) {
      const after = decodeCursor(query.cursor);
      return inIssue(db, caller, scope, 'org:read', async (trx, ctx, { issue }) => {
        const rows = await listNotes(trx, ctx.orgId, issue.id, {
          limit: query.limit + 1,
          after,
          kind: query.kind,
        });
        return toPage(rows, query.limit, (n) => n.id, noteOut);
      });
    },
  };
}
