import { sql, type Kysely } from 'kysely';
import { isolateTenantTables } from './tenant-isolation.ts';

const COUNTS = ['tests', 'passed', 'failed', 'errored', 'skipped', 'flaky'] as const;
const WATCHED = ['status', 'completed_at', 'branch', ...COUNTS, 'duration_ms'] as const;

/**
 * Trends read a branch's complete runs summed per day (UTC) instead of summing every run in
 * the range: a trend over 90 days reads at most 91 rows however many runs a day holds
 * (`npm run bench history` puts 808 runs in the window at 10M results, 80 at 1M, and the
 * read grew with them).
 *
 * The table is kept by a deferred constraint trigger on test_runs, so every change of a
 * complete run's counted columns is counted however it happens — completion, an upload that
 * joins a complete run, reopening, moving to another day, deletion: each event subtracts
 * the row's old contribution and adds its new one. Deferred to the commit, the row lock on a
 * day's totals is held only while the transaction commits, not through the rest of an
 * upload's judging, so concurrent uploads of one branch barely wait for each other.
 *
 * Reads cut a day with `from` or `to` only when a run of that day falls outside the range;
 * that day is then summed from test_runs (see trendsState()).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const sum = (row: 'OLD' | 'NEW', sign: '+' | '-') =>
    COUNTS.map((c) => `${c} = run_day_totals.${c} ${sign} ${row}.${c}`).join(', ');
  const dayOf = (row: 'OLD' | 'NEW') => `(${row}.completed_at AT TIME ZONE 'UTC')::date`;
  const counted = (row: string) =>
    `${row}.status = 'complete' AND ${row}.completed_at IS NOT NULL AND ${row}.branch IS NOT NULL`;
  await sql
    .raw(
      `CREATE TABLE run_day_totals (
         org_id uuid NOT NULL,
         project_id uuid NOT NULL,
         branch text NOT NULL,
         day date NOT NULL,
         runs integer NOT NULL,
         tests bigint NOT NULL,
         passed bigint NOT NULL,
         failed bigint NOT NULL,
         errored bigint NOT NULL,
         skipped bigint NOT NULL,
         flaky bigint NOT NULL,
         duration_ms double precision NOT NULL,
         PRIMARY KEY (org_id, project_id, branch, day),
         FOREIGN KEY (org_id, project_id) REFERENCES projects (org_id, id) ON DELETE CASCADE
       );

       CREATE FUNCTION app_count_run_day() RETURNS trigger
         LANGUAGE plpgsql SET search_path = pg_catalog, public AS $$
       BEGIN
         -- The old contribution goes (a plain UPDATE: nothing to take from totals that are gone
         -- with their project), then the new one comes.
         IF TG_OP <> 'INSERT' AND ${counted('OLD')} THEN
           UPDATE run_day_totals SET runs = runs - 1, ${sum('OLD', '-')},
             duration_ms = CASE WHEN runs = 1 THEN 0 ELSE duration_ms - OLD.duration_ms END
           WHERE org_id = OLD.org_id AND project_id = OLD.project_id AND branch = OLD.branch
             AND day = ${dayOf('OLD')};
         END IF;
         IF TG_OP <> 'DELETE' AND ${counted('NEW')} THEN
           INSERT INTO run_day_totals AS run_day_totals
             VALUES (NEW.org_id, NEW.project_id, NEW.branch, ${dayOf('NEW')}, 1,
               ${COUNTS.map((c) => `NEW.${c}`).join(', ')}, NEW.duration_ms)
           ON CONFLICT (org_id, project_id, branch, day) DO UPDATE SET
             runs = run_day_totals.runs + 1, ${sum('NEW', '+')},
             duration_ms = run_day_totals.duration_ms + NEW.duration_ms;
         END IF;
         RETURN NULL;
       END $$;

       -- Only events that change a counted row are queued: an open run's totals growing with
       -- each upload are not.
       CREATE CONSTRAINT TRIGGER test_runs_day_totals_insert AFTER INSERT ON test_runs
         DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (${counted('NEW')})
         EXECUTE FUNCTION app_count_run_day();
       CREATE CONSTRAINT TRIGGER test_runs_day_totals_update
         AFTER UPDATE OF ${WATCHED.join(', ')} ON test_runs
         DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
         WHEN ((${counted('OLD')} OR ${counted('NEW')})
           AND (${WATCHED.map((c) => `OLD.${c}`).join(', ')})
             IS DISTINCT FROM (${WATCHED.map((c) => `NEW.${c}`).join(', ')}))
         EXECUTE FUNCTION app_count_run_day();
       CREATE CONSTRAINT TRIGGER test_runs_day_totals_delete AFTER DELETE ON test_runs
         DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (${counted('OLD')})
         EXECUTE FUNCTION app_count_run_day();

       -- The runs already complete (creating the triggers holds writers off test_runs until
       -- this commits, so none is counted twice or missed).
       INSERT INTO run_day_totals
         SELECT org_id, project_id, branch, (completed_at AT TIME ZONE 'UTC')::date, count(*),
           ${COUNTS.map((c) => `sum(${c})`).join(', ')}, sum(duration_ms)
         FROM test_runs WHERE ${counted('test_runs')}
         GROUP BY 1, 2, 3, 4;`,
    )
    .execute(db);
  await isolateTenantTables(db, ['run_day_totals']);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    DROP TRIGGER test_runs_day_totals_insert ON test_runs;
    DROP TRIGGER test_runs_day_totals_update ON test_runs;
    DROP TRIGGER test_runs_day_totals_delete ON test_runs;
    DROP FUNCTION app_count_run_day();
    DROP TABLE run_day_totals;
  `.execute(db);
}
