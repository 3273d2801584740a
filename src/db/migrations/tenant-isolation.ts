import { sql, type Kysely } from 'kysely';
import { APP_ROLE } from '../app-role.ts';

/**
 * Makes tables tenant tables: the app role may read and write them, and row-level security,
 * forced even for the owner, limits every row to the org the transaction is in.
 */
export async function isolateTenantTables(
  db: Kysely<unknown>,
  tables: readonly string[],
): Promise<void> {
  for (const table of tables) {
    await sql
      .raw(
        `GRANT SELECT, INSERT, UPDATE, DELETE ON ${table} TO ${APP_ROLE};
         ALTER TABLE ${table} ENABLE ROW LEVEL SECURITY;
         ALTER TABLE ${table} FORCE ROW LEVEL SECURITY;
         CREATE POLICY tenant_isolation ON ${table}
           USING (org_id = app_org_id()) WITH CHECK (org_id = app_org_id());`,
      )
      .execute(db);
  }
}
