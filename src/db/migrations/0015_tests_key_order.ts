import { sql, type Kysely } from 'kysely';

/**
 * A test's identity is unique as (org_id, test_key, project_id) instead of (org_id,
 * project_id, test_key): the same constraint, its columns in another order, so that the
 * index serves lookups by test key but no longer looks like a way to find a test by its ord.
 *
 * On a `tests` table PostgreSQL has no statistics for yet (a new project's first minute,
 * before autovacuum analyzes it), both unique indexes led with (org_id, project_id) and both
 * were estimated to find one row; the planner took the test-key index for the lookups by
 * ord (testsByOrd, when judging and paging a run's failures) and filtered every test of the
 * project for each ord. Measured: 2,500 ords of a 25,000-test project, 10.6-11.7 s on
 * PostgreSQL 15 (17-27 s on the embedded 18 under `npm run bench load`, where it hit the 30 s
 * statement timeout: a 503 to an upload); with the columns reordered, the primary key is
 * the only index that takes all three conditions: 7 ms.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE tests ADD CONSTRAINT tests_key UNIQUE (org_id, test_key, project_id);
    ALTER TABLE tests DROP CONSTRAINT tests_org_id_project_id_test_key_key;
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE tests ADD CONSTRAINT tests_org_id_project_id_test_key_key
      UNIQUE (org_id, project_id, test_key);
    ALTER TABLE tests DROP CONSTRAINT tests_key;
  `.execute(db);
}
