import { sql, type Kysely } from 'kysely';

/**
 * A test's identity stays unique, enforced by PostgreSQL, as an exclusion constraint over a
 * hash index of its test key instead of a unique btree on (org_id, test_key, project_id).
 *
 * Registering the new tests of an upload inserts one `tests` row per test, one statement
 * after another under the project's lock, and that is what an upload of new tests waits
 * for ("first sight"). The unique btree was the costlier half of each insert: every new
 * key lands on a random leaf of an index of 56-byte tuples, descended and compared column
 * by column. Measured on the embedded PostgreSQL 18, 5,000 new tests into `tests`: 43-47 ms
 * with the btree, 37-38 ms with this constraint, 23-25 ms without either; the whole upload
 * of 10,000 new tests 220 ms against 243 ms (medians of 19, alternating servers).
 *
 * The key is 128 bits of SHA-256 over the project id, suite, class and name, so it is unique
 * on its own across tenants and projects; a hash index has no column order, so "org_id
 * first" (which keeps a tenant's entries together in btree order) has nothing to order here,
 * and every query still names org_id and project_id and runs under row-level security. A
 * hash index answers `test_key = $1` but not `test_key = ANY($keys)`: lookups of many keys
 * join the keys' array to `tests` (lookupOrds, testNamesInRun), one index probe a key.
 *
 * What the unique btree did better: on a `tests` table PostgreSQL has not analyzed yet (an
 * installation's first minute, before autovacuum's first analyze), the planner does not
 * know the key is unique, and a read of one test by key (a test's history, quarantine)
 * takes the primary key and filters the project's tests: measured 6 ms for a project of
 * 10,000 tests, 0.1 ms through the hash index once analyzed. Lookups of many keys avoid
 * that (probingKeys).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE tests ADD CONSTRAINT tests_key_hash EXCLUDE USING hash (test_key WITH =);
    ALTER TABLE tests DROP CONSTRAINT tests_key;
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE tests ADD CONSTRAINT tests_key UNIQUE (org_id, test_key, project_id);
    ALTER TABLE tests DROP CONSTRAINT tests_key_hash;
  `.execute(db);
}
