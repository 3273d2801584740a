import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { uuidv7 } from 'uuidv7';
import { enterOrg, withUser, writeAudit } from './db/tenant.ts';
import type { DB } from './db/types.ts';
import { hashPassword } from './lib/password.ts';

export const DEMO_EMAIL = 'demo@gatehouse.local';

/** On a fresh database, a demo organization and a one-time login for it; null if users exist. */
export async function createDemoIfEmpty(
  db: Kysely<DB>,
): Promise<{ email: string; password: string; org: string } | null> {
  const any = await db.selectFrom('users').select('id').limit(1).executeTakeFirst();
  if (any !== undefined) return null;
  const password = randomBytes(12).toString('base64url');
  const passwordHash = await hashPassword(password);
  return withUser(db, null, async (trx) => {
    const userId = uuidv7();
    const orgId = uuidv7();
    await trx
      .insertInto('users')
      .values({ id: userId, email: DEMO_EMAIL, name: 'Demo QA Lead', password_hash: passwordHash })
      .execute();
    await trx
      .insertInto('orgs')
      .values({ id: orgId, slug: 'demo', name: 'Demo Organization' })
      .execute();
    await enterOrg(trx, orgId);
    await trx
      .insertInto('memberships')
      .values({ org_id: orgId, user_id: userId, role: 'owner' })
      .execute();
    await writeAudit(trx, orgId, 'user', userId, null, {
      action: 'org.created',
      targetType: 'org',
      targetId: orgId,
      data: { demo: true },
    });
    return { email: DEMO_EMAIL, password, org: 'demo' };
  });
}
