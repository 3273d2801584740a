import { sql, type Kysely } from 'kysely';
import { isolateTenantTables } from './tenant-isolation.ts';

/**
 * Tests awaiting their first stored upload are kept as ranges of ords (one row per
 * registration of new tests) instead of a flag on every test that each upload had to set.
 *
 * An upload registers the tests a project has not seen in a short transaction of its own
 * (their ords are consecutive under the per-project lock) and records the range here; its
 * own transaction deletes the row, so the tests count as the project's exactly when that
 * upload commits, and a refused upload leaves its range behind (its tests stay unlisted).
 * Setting `tests.stored` on every new test instead was an UPDATE of each row just inserted,
 * touching every index of `tests` again: 73-116 ms of every 5,000 new tests (measured with
 * `npm run bench history`'s first-sight uploads), as long as registering them.
 *
 * `tests.stored` stays, for a test another upload stored while its registration was still
 * pending (uploads of the same new tests at once); a test is stored when its flag is set or
 * no pending registration covers its ord (storedTest() in src/modules/runs/runs.queries.ts).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE test_registrations (
      org_id uuid NOT NULL,
      project_id uuid NOT NULL,
      first_ord integer NOT NULL,
      last_ord integer NOT NULL CHECK (last_ord >= first_ord),
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (org_id, project_id, first_ord)
    );
    -- The tests left unstored under the flag's meaning keep that meaning: each is its own
    -- pending registration.
    INSERT INTO test_registrations (org_id, project_id, first_ord, last_ord)
      SELECT org_id, project_id, ord, ord FROM tests WHERE NOT stored;
    DROP INDEX tests_unstored_idx;
  `.execute(db);
  await isolateTenantTables(db, ['test_registrations']);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    UPDATE tests t SET stored = true
    WHERE NOT t.stored AND NOT EXISTS (
      SELECT 1 FROM test_registrations r
      WHERE r.org_id = t.org_id AND r.project_id = t.project_id
        AND t.ord BETWEEN r.first_ord AND r.last_ord);
    CREATE INDEX tests_unstored_idx ON tests (org_id, project_id, ord) WHERE NOT stored;
    DROP TABLE test_registrations;
  `.execute(db);
}
