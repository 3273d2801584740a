import { sql } from 'kysely';
import { uuidv7 } from 'uuidv7';
import type { Executor } from '../../db/executor.ts';

export function insertInvitation(
  db: Executor,
  orgId: string,
  inv: {
    email: string;
    role: string;
    tokenHash: Buffer;
    invitedBy: string;
    /** Expiry counts from here (the app's clock). */
    now: Date;
    expiresInDays: number;
  },
) {
  return db
    .insertInto('invitations')
    .values({
      org_id: orgId,
      id: uuidv7(),
      email: inv.email,
      role: inv.role,
      token_hash: inv.tokenHash,
      invited_by: inv.invitedBy,
      expires_at: sql<Date>`${inv.now}::timestamptz + make_interval(days => ${inv.expiresInDays})`,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export function listInvitations(
  db: Executor,
  orgId: string,
  after: string | undefined,
  limit: number,
) {
  let q = db
    .selectFrom('invitations')
    .selectAll()
    .where('org_id', '=', orgId)
    .orderBy('id', 'desc')
    .limit(limit + 1);
  if (after !== undefined) q = q.where('id', '<', after);
  return q.execute();
}

/** Revokes a pending invitation; undefined when there is none. */
export function revokeInvitation(db: Executor, orgId: string, id: string) {
  return db
    .updateTable('invitations')
    .set({ revoked_at: sql<Date>`now()` })
    .where('org_id', '=', orgId)
    .where('id', '=', id)
    .where('accepted_at', 'is', null)
    .where('revoked_at', 'is', null)
    .returning('id')
    .executeTakeFirst();
}

/** The invitation with this hash if it is still pending at `now`, with its org, locked until
 *  the transaction ends. */
export function lockPendingInvitation(db: Executor, orgId: string, tokenHash: Buffer, now: Date) {
  return db
    .selectFrom('invitations as i')
    .innerJoin('orgs as o', 'o.id', 'i.org_id')
    .select(['i.id', 'i.email', 'i.role', 'o.id as org_id', 'o.slug', 'o.name'])
    .where('i.org_id', '=', orgId)
    .where('i.token_hash', '=', tokenHash)
    .where('i.accepted_at', 'is', null)
    .where('i.revoked_at', 'is', null)
    .where('i.expires_at', '>', now)
    .where('o.deleted_at', 'is', null)
    .forUpdate('i')
    .executeTakeFirst();
}

export async function markInvitationAccepted(
  db: Executor,
  orgId: string,
  id: string,
  userId: string,
): Promise<void> {
  await db
    .updateTable('invitations')
    .set({ accepted_at: sql<Date>`now()`, accepted_by: userId })
    .where('org_id', '=', orgId)
    .where('id', '=', id)
    .execute();
}

export function userEmail(db: Executor, userId: string) {
  return db.selectFrom('users').select('email').where('id', '=', userId).executeTakeFirstOrThrow();
}
