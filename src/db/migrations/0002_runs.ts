import { sql, type Kysely } from 'kysely';
import { isolateTenantTables } from './tenant-isolation.ts';

/** Projects, test runs (one or more uploaded files) and their testcases. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE projects (
      org_id uuid NOT NULL REFERENCES orgs (id),
      id uuid NOT NULL,
      key text NOT NULL,
      name text NOT NULL,
      github_repo text,
      default_branch text NOT NULL DEFAULT 'main',
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (org_id, id),
      UNIQUE (org_id, key)
    );

    CREATE TABLE test_runs (
      org_id uuid NOT NULL,
      id uuid NOT NULL,
      project_id uuid NOT NULL,
      commit_sha text,
      branch text,
      build text,
      attempt integer NOT NULL DEFAULT 1,
      issue_number integer,
      tests integer NOT NULL DEFAULT 0,
      passed integer NOT NULL DEFAULT 0,
      failed integer NOT NULL DEFAULT 0,
      errored integer NOT NULL DEFAULT 0,
      skipped integer NOT NULL DEFAULT 0,
      flaky integer NOT NULL DEFAULT 0,
      duration_ms double precision NOT NULL DEFAULT 0,
      files integer NOT NULL DEFAULT 0,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (org_id, id),
      FOREIGN KEY (org_id, project_id) REFERENCES projects (org_id, id)
    );
    CREATE UNIQUE INDEX test_runs_build_key ON test_runs (org_id, project_id, build, attempt) WHERE build IS NOT NULL;
    CREATE INDEX test_runs_project_idx ON test_runs (org_id, project_id, id DESC);
    CREATE INDEX test_runs_branch_idx ON test_runs (org_id, project_id, branch, id DESC);
    CREATE INDEX test_runs_commit_idx ON test_runs (org_id, project_id, commit_sha);
    CREATE INDEX test_runs_issue_idx ON test_runs (org_id, project_id, issue_number, id DESC);

    CREATE TABLE run_files (
      org_id uuid NOT NULL,
      id uuid NOT NULL,
      run_id uuid NOT NULL,
      filename text NOT NULL,
      bytes bigint NOT NULL,
      tests integer NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (org_id, id),
      FOREIGN KEY (org_id, run_id) REFERENCES test_runs (org_id, id) ON DELETE CASCADE
    );
    CREATE INDEX run_files_run_idx ON run_files (org_id, run_id);

    CREATE TABLE test_results (
      org_id uuid NOT NULL,
      id bigint GENERATED ALWAYS AS IDENTITY,
      run_id uuid NOT NULL,
      project_id uuid NOT NULL,
      file_id uuid NOT NULL,
      suite text NOT NULL,
      classname text NOT NULL,
      name text NOT NULL,
      test_key bytea NOT NULL,
      status text NOT NULL,
      duration_ms double precision,
      failure_type text,
      failure_message text,
      failure_text text,
      system_out text,
      system_err text,
      truncated boolean NOT NULL DEFAULT false,
      flaky boolean NOT NULL DEFAULT false,
      reruns jsonb,
      properties jsonb,
      PRIMARY KEY (org_id, id)
    );
    -- No foreign keys here on purpose: a foreign key check locks the referenced run row
    -- (FOR KEY SHARE) once per inserted testcase, which made ingestion ~10x slower. Rows
    -- are only written by the upload transaction that created their run and file, and
    -- are deleted with them by code.
    -- Few indexes, because every one costs on each of a million inserted rows: results are
    -- read by run (paging, and run-to-run comparison by test_key through hash joins), and
    -- non-passing results by status (a small share, hence a partial index).
    CREATE INDEX test_results_run_idx ON test_results (org_id, run_id, id);
    CREATE INDEX test_results_run_problems_idx ON test_results (org_id, run_id, status, id) WHERE status <> 'passed';

    CREATE TABLE idempotency_keys (
      org_id uuid NOT NULL,
      project_id uuid NOT NULL,
      key text NOT NULL,
      status integer,
      response jsonb,
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (org_id, project_id, key),
      FOREIGN KEY (org_id, project_id) REFERENCES projects (org_id, id)
    );
  `.execute(db);

  await isolateTenantTables(db, [
    'projects',
    'test_runs',
    'run_files',
    'test_results',
    'idempotency_keys',
  ]);
}
