import { sql, type Kysely } from 'kysely';
import { isolateTenantTables } from './tenant-isolation.ts';

/**
 * History on top of compact results (issue 12): quarantined tests, when each test was first
 * seen flaky over history (for automatic quarantine), and retention per project: how long
 * result details and per-result history are kept, and how far each run has been thinned.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE test_quarantines (
      org_id uuid NOT NULL,
      project_id uuid NOT NULL,
      test_key bytea NOT NULL,
      reason text NOT NULL,
      -- Who quarantined it: a user or token id, or a job's id for automatic quarantine.
      by_type text NOT NULL CHECK (by_type IN ('user', 'token', 'system')),
      by_id text NOT NULL,
      created_at timestamptz NOT NULL,
      expires_at timestamptz,
      PRIMARY KEY (org_id, project_id, test_key),
      FOREIGN KEY (org_id, project_id) REFERENCES projects (org_id, id)
    );

    CREATE TABLE test_flaky_since (
      org_id uuid NOT NULL,
      project_id uuid NOT NULL,
      test_key bytea NOT NULL,
      since timestamptz NOT NULL,
      PRIMARY KEY (org_id, project_id, test_key),
      FOREIGN KEY (org_id, project_id) REFERENCES projects (org_id, id)
    );

    ALTER TABLE projects
      ADD COLUMN details_days integer NOT NULL DEFAULT 30 CHECK (details_days BETWEEN 1 AND 36500),
      ADD COLUMN results_days integer NOT NULL DEFAULT 400 CHECK (results_days BETWEEN 1 AND 36500);

    -- What retention has already removed from a run: its details, then its per-result blocks.
    -- The run's totals stay for good.
    ALTER TABLE test_runs
      ADD COLUMN details_purged_at timestamptz,
      ADD COLUMN results_purged_at timestamptz;
    CREATE INDEX test_runs_retention_idx ON test_runs (org_id, project_id, completed_at)
      WHERE status = 'complete' AND results_purged_at IS NULL;
    -- Trends read a branch's complete runs by completion time.
    CREATE INDEX test_runs_branch_completed_idx ON test_runs (org_id, project_id, branch, completed_at)
      WHERE status = 'complete';
  `.execute(db);

  await isolateTenantTables(db, ['test_quarantines', 'test_flaky_since']);
}
