import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { uuidv7 } from 'uuidv7';
import { withUser } from './db/tenant.ts';
import type { DB } from './db/types.ts';
import { hashPassword } from './lib/password.ts';
import { insertOrgWithOwner } from './modules/orgs/orgs.queries.ts';

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
    await trx
      .insertInto('users')
      .values({ id: userId, email: DEMO_EMAIL, name: 'Demo QA Lead', password_hash: passwordHash })
      .execute();
    const org = { slug: 'demo', name: 'Demo Organization' };
    await insertOrgWithOwner(trx, org, userId, null, { demo: true });
    return { email: DEMO_EMAIL, password, org: org.slug };
  });
}
