import { uuidv7 } from 'uuidv7';
import type { Executor } from '../../db/executor.ts';

export interface NewNote {
  issueId: string;
  kind: string;
  text: string;
  author: string;
  at: Date;
}

export function insertNote(db: Executor, orgId: string, n: NewNote) {
  return db
    .insertInto('notes')
    .values({
      org_id: orgId,
      id: uuidv7(),
      issue_id: n.issueId,
      kind: n.kind,
      text: n.text,
      author: n.author,
      created_at: n.at,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** The issue's notes in the order they were written, optionally of one kind. */
export function listNotes(
  db: Executor,
  orgId: string,
  issueId: string,
  page: { limit: number; after?: string | undefined; kind?: string | undefined },
) {
  let q = db
    .selectFrom('notes')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('issue_id', '=', issueId);
  if (page.kind !== undefined) q = q.where('kind', '=', page.kind);
  if (page.after !== undefined) q = q.where('id', '>', page.after);
  return q.orderBy('id').limit(page.limit).execute();
}

/** The name a user signed up with (users are global: no org to scope by). */
export async function userName(db: Executor, userId: string): Promise<string | undefined> {
  const row = await db
    .selectFrom('users')
    .select('name')
    .where('id', '=', userId)
    .executeTakeFirst();
  return row?.name;
}

/** An API token's name in the org. */
export async function tokenName(
  db: Executor,
  orgId: string,
  tokenId: string,
): Promise<string | undefined> {
  const row = await db
    .selectFrom('api_tokens')
    .select('name')
    .where('org_id', '=', orgId)
    .where('id', '=', tokenId)
    .executeTakeFirst();
  return row?.name;
}
