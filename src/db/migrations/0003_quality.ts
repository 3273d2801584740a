import { sql, type Kysely } from 'kysely';
import { isolateTenantTables } from './tenant-isolation.ts';

/** Tracked issues, reviews, quality configuration, stored gate reports and their history. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE tracked_issues (
      org_id uuid NOT NULL,
      id uuid NOT NULL,
      project_id uuid NOT NULL,
      number integer NOT NULL,
      title text NOT NULL,
      phase text NOT NULL DEFAULT 'development',
      github_issue_url text,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (org_id, id),
      UNIQUE (org_id, project_id, number),
      FOREIGN KEY (org_id, project_id) REFERENCES projects (org_id, id)
    );

    CREATE TABLE reviews (
      org_id uuid NOT NULL,
      id uuid NOT NULL,
      issue_id uuid NOT NULL,
      verdict text NOT NULL,
      conditions jsonb NOT NULL DEFAULT '[]',
      notes text,
      reviewer text NOT NULL,
      recorded_by uuid NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (org_id, id),
      FOREIGN KEY (org_id, issue_id) REFERENCES tracked_issues (org_id, id)
    );
    CREATE INDEX reviews_issue_idx ON reviews (org_id, issue_id, id DESC);

    CREATE TABLE quality_configs (
      org_id uuid NOT NULL,
      project_id uuid NOT NULL,
      config jsonb NOT NULL,
      version integer NOT NULL DEFAULT 1,
      updated_by uuid NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (org_id, project_id),
      FOREIGN KEY (org_id, project_id) REFERENCES projects (org_id, id)
    );

    CREATE TABLE criterion_checks (
      org_id uuid NOT NULL,
      issue_id uuid NOT NULL,
      criterion_key text NOT NULL,
      checked boolean NOT NULL,
      checked_by text NOT NULL,
      checked_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (org_id, issue_id, criterion_key),
      FOREIGN KEY (org_id, issue_id) REFERENCES tracked_issues (org_id, id)
    );

    CREATE TABLE gate_reports (
      org_id uuid NOT NULL,
      issue_id uuid NOT NULL,
      run_id uuid,
      report jsonb NOT NULL,
      evaluated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (org_id, issue_id),
      FOREIGN KEY (org_id, issue_id) REFERENCES tracked_issues (org_id, id)
    );

    CREATE TABLE gate_state_changes (
      org_id uuid NOT NULL,
      id uuid NOT NULL,
      issue_id uuid NOT NULL,
      gate_key text NOT NULL,
      from_state text,
      to_state text NOT NULL,
      reason text NOT NULL,
      run_id uuid,
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (org_id, id),
      FOREIGN KEY (org_id, issue_id) REFERENCES tracked_issues (org_id, id)
    );
    CREATE INDEX gate_state_changes_issue_idx ON gate_state_changes (org_id, issue_id, id DESC);

    ALTER TABLE test_results ADD COLUMN signature text;
    CREATE INDEX test_results_signature_idx ON test_results (org_id, project_id, signature, run_id) WHERE signature IS NOT NULL;
  `.execute(db);

  await isolateTenantTables(db, [
    'tracked_issues',
    'reviews',
    'quality_configs',
    'criterion_checks',
    'gate_reports',
    'gate_state_changes',
  ]);
}
