import { sql, type Kysely } from 'kysely';
import { APP_ROLE, SWEEP_ROLE } from '../app-role.ts';

/**
 * Runs are judged once complete: a run is `open` while shards are still expected, and
 * `complete` once they arrived, it went quiet, or someone closed it. `due_work` is the
 * index of time-based work (a quiet run to close now; escalation clocks and checkpoints
 * next) that the periodic sweep reads across tenants.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE test_runs
      ADD COLUMN status text NOT NULL DEFAULT 'complete' CHECK (status IN ('open', 'complete')),
      ADD COLUMN shards integer CHECK (shards BETWEEN 1 AND 1000),
      ADD COLUMN uploads integer NOT NULL DEFAULT 0,
      ADD COLUMN last_upload_at timestamptz NOT NULL DEFAULT now(),
      ADD COLUMN completed_at timestamptz;
    UPDATE test_runs SET uploads = greatest(files, 1), last_upload_at = updated_at, completed_at = updated_at;
    CREATE INDEX test_runs_issue_complete_idx ON test_runs (org_id, project_id, issue_number, id DESC)
      WHERE status = 'complete';
    CREATE INDEX test_runs_issue_open_idx ON test_runs (org_id, project_id, issue_number, id DESC)
      WHERE status = 'open';

    CREATE TABLE due_work (
      org_id uuid NOT NULL REFERENCES orgs (id),
      kind text NOT NULL,
      ref_id uuid NOT NULL,
      due_at timestamptz NOT NULL,
      PRIMARY KEY (org_id, kind, ref_id)
    );
    CREATE INDEX due_work_due_idx ON due_work (due_at);
  `.execute(db);

  // A tenant table like any other for the app role (forced RLS on org_id). The sweep's one
  // look across tenants is app_claim_due_work, which runs as SWEEP_ROLE: a role that cannot
  // log in, owns no table, and whose only policy is on due_work.
  await sql
    .raw(
      `DO $$ BEGIN
         CREATE ROLE ${SWEEP_ROLE} NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
       EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$;
       DO $$ BEGIN
         EXECUTE format('GRANT ${SWEEP_ROLE} TO %I', current_user);
       EXCEPTION WHEN duplicate_object OR unique_violation OR invalid_grant_operation THEN NULL; END $$;`,
    )
    .execute(db);
  await sql
    .raw(
      `GRANT SELECT, INSERT, UPDATE, DELETE ON due_work TO ${APP_ROLE};
       GRANT SELECT, UPDATE, DELETE ON due_work TO ${SWEEP_ROLE};
       ALTER TABLE due_work ENABLE ROW LEVEL SECURITY;
       ALTER TABLE due_work FORCE ROW LEVEL SECURITY;
       CREATE POLICY tenant_isolation ON due_work
         USING (org_id = app_org_id()) WITH CHECK (org_id = app_org_id());
       CREATE POLICY sweep_claims ON due_work FOR ALL TO ${SWEEP_ROLE} USING (true);

       -- Takes (deletes and returns) the items due by p_before, at most p_max, skipping
       -- rows another sweep holds.
       CREATE FUNCTION app_claim_due_work(p_before timestamptz, p_max integer)
       RETURNS TABLE (org_id uuid, kind text, ref_id uuid, due_at timestamptz)
       LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
         DELETE FROM due_work d USING (
           SELECT w.org_id, w.kind, w.ref_id FROM due_work w
           WHERE w.due_at <= p_before ORDER BY w.due_at LIMIT p_max FOR UPDATE SKIP LOCKED
         ) picked
         WHERE d.org_id = picked.org_id AND d.kind = picked.kind AND d.ref_id = picked.ref_id
         RETURNING d.org_id, d.kind, d.ref_id, d.due_at
       $fn$;
       REVOKE ALL ON FUNCTION app_claim_due_work(timestamptz, integer) FROM PUBLIC;
       GRANT EXECUTE ON FUNCTION app_claim_due_work(timestamptz, integer) TO ${APP_ROLE};
       -- Changing a function's owner needs CREATE on its schema for the new owner, only then.
       GRANT CREATE ON SCHEMA public TO ${SWEEP_ROLE};
       ALTER FUNCTION app_claim_due_work(timestamptz, integer) OWNER TO ${SWEEP_ROLE};
       REVOKE CREATE ON SCHEMA public FROM ${SWEEP_ROLE};`,
    )
    .execute(db);
}
