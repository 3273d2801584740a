import type { Executor } from '../../db/executor.ts';

export async function insertTicket(
  db: Executor,
  orgId: string,
  t: { hash: Buffer; userId: string; sessionId: string; expiresAt: Date; now: Date },
): Promise<void> {
  // Spent and expired tickets of the org go as new ones come: the table stays small.
  await db
    .deleteFrom('event_tickets')
    .where('org_id', '=', orgId)
    .where('expires_at', '<=', t.now)
    .execute();
  await db
    .insertInto('event_tickets')
    .values({
      org_id: orgId,
      ticket_hash: t.hash,
      user_id: t.userId,
      session_id: t.sessionId,
      expires_at: t.expiresAt,
    })
    .execute();
}

/** Takes the ticket (it works once): who it was made for and until when, if it existed. */
export function takeTicket(db: Executor, orgId: string, hash: Buffer) {
  return db
    .deleteFrom('event_tickets')
    .where('org_id', '=', orgId)
    .where('ticket_hash', '=', hash)
    .returning(['user_id', 'session_id', 'expires_at'])
    .executeTakeFirst();
}
