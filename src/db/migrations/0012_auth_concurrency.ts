import { sql, type Kysely } from 'kysely';

/**
 * Sign-in attempts are counted before a password is evaluated (`pending`, decaying after a
 * while so a crash mid-hash cannot lock an account for good), and a refresh token records
 * when it was rotated by the app's clock, which starts its reuse grace window.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE login_throttle
      ADD COLUMN pending integer NOT NULL DEFAULT 0,
      ADD COLUMN pending_at timestamptz;
    ALTER TABLE refresh_tokens ADD COLUMN rotated_at timestamptz;
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE login_throttle DROP COLUMN pending, DROP COLUMN pending_at;
    ALTER TABLE refresh_tokens DROP COLUMN rotated_at;
  `.execute(db);
}
