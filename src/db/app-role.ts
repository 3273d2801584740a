import { sql, type Kysely } from 'kysely';

/** The role every request runs as: no superuser, no BYPASSRLS, owns nothing. */
export const APP_ROLE = 'gatehouse_app';

/** Owns app_claim_due_work, the sweep's one look across tenants: cannot log in, owns no table. */
export const SWEEP_ROLE = 'gatehouse_sweep';

/**
 * Refuses to serve when the app role could get around row-level security.
 * Returns the problems found (empty when safe).
 */
export async function checkAppRole(db: Kysely<unknown>, role = APP_ROLE): Promise<string[]> {
  const { rows } = await sql<{
    rolsuper: boolean;
    rolbypassrls: boolean;
    owned: number;
  }>`
    SELECT r.rolsuper, r.rolbypassrls,
      (SELECT count(*)::int FROM pg_class c WHERE c.relowner = r.oid
         AND c.relnamespace = 'public'::regnamespace) AS owned
    FROM pg_roles r WHERE r.rolname = ${role}`.execute(db);
  const row = rows[0];
  if (row === undefined) return [`role ${role} does not exist; run "gatehouse migrate"`];
  const problems: string[] = [];
  if (row.rolsuper)
    problems.push(`role ${role} is a superuser and would bypass row-level security`);
  if (row.rolbypassrls)
    problems.push(`role ${role} has BYPASSRLS and would bypass row-level security`);
  if (row.owned > 0)
    problems.push(
      `role ${role} owns ${row.owned} relation(s); table owners can bypass row-level security`,
    );
  return problems;
}
