import { sql } from 'kysely';
import type { Executor } from '../../db/executor.ts';
import type { ProjectRetentionColumns, TestQuarantineRow } from '../../db/types-history-reads.ts';
import type { Quarantine } from '../../domain/history.ts';
import { NotFound } from '../../errors.ts';
import { runNotFound, storedTest } from '../runs/runs.queries.ts';

// Reads of compact results (tests, run_blocks, result_details of migration 0011) and the
// tables of migration 0014, as raw SQL: every statement names org_id first.

const key = (hex: string) => Buffer.from(hex, 'hex');

/**
 * The project's latest complete runs of a branch whose per-result history is still kept,
 * newest first; `updated_at` moves when a later upload joins a run.
 */
export async function latestRunsOfBranch(
  db: Executor,
  orgId: string,
  projectId: string,
  branch: string,
  limit: number,
): Promise<{ id: string; updated_at: Date }[]> {
  const { rows } = await sql<{ id: string; updated_at: Date }>`
    SELECT id, updated_at FROM test_runs
    WHERE org_id = ${orgId} AND project_id = ${projectId} AND branch = ${branch}
      AND status = 'complete' AND results_purged_at IS NULL
    ORDER BY id DESC LIMIT ${limit}`.execute(db);
  return rows;
}

/** The runs' blocks (statuses, and durations when asked), by run. */
export async function blocksOfRuns(
  db: Executor,
  orgId: string,
  runIds: string[],
  withDurations: boolean,
): Promise<{ run_id: string; block: number; statuses: Buffer; durations: Buffer | null }[]> {
  if (runIds.length === 0) return [];
  const { rows } = await sql<{
    run_id: string;
    block: number;
    statuses: Buffer;
    durations: Buffer | null;
  }>`
    SELECT run_id, block, statuses, ${withDurations ? sql`durations` : sql`NULL::bytea AS durations`}
    FROM run_blocks WHERE org_id = ${orgId} AND run_id = ANY(${runIds}::uuid[])`.execute(db);
  return rows;
}

export interface TestRow {
  ord: number;
  test_key: Buffer;
  suite: string;
  classname: string;
  name: string;
}

/** The project's tests whose suite, class or name contains `query` (all without one), by ord. */
export async function testsOfProject(
  db: Executor,
  orgId: string,
  projectId: string,
  query: string | undefined,
): Promise<TestRow[]> {
  const like = query === undefined ? null : `%${query.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  const { rows } = await sql<TestRow>`
    SELECT ord, test_key, suite, classname, name FROM tests t
    WHERE org_id = ${orgId} AND project_id = ${projectId} AND ${storedTest(orgId, projectId, 't')}
      AND (${like}::text IS NULL OR name ILIKE ${like} OR classname ILIKE ${like} OR suite ILIKE ${like})
    ORDER BY ord`.execute(db);
  return rows;
}

/** The 404 of a test the project has never stored. */
export const testNotFound = () => new NotFound('Test not found');

/** One test of the project by its testId, or a 404 (another project's test looks missing). */
export async function requireTest(
  db: Executor,
  orgId: string,
  projectId: string,
  testId: string,
): Promise<TestRow> {
  const { rows } = await sql<TestRow>`
    SELECT ord, test_key, suite, classname, name FROM tests t
    WHERE org_id = ${orgId} AND project_id = ${projectId} AND test_key = ${key(testId)}
      AND ${storedTest(orgId, projectId, 't')}`.execute(db);
  if (rows[0] === undefined) throw testNotFound();
  return rows[0];
}

/** Result counts, summed over a run or over a bucket of runs, as the statements answer them. */
export interface CountSums {
  tests: number;
  passed: number;
  failed: number;
  errored: number;
  skipped: number;
  flaky: number;
  duration_ms: number;
}

export interface RunTotalsRow extends CountSums {
  id: string;
  completed_at: Date;
}

/** An issue's complete runs, oldest first, with their totals. */
export async function completeRunsOfIssue(
  db: Executor,
  orgId: string,
  projectId: string,
  number: number,
  limit: number,
): Promise<(RunTotalsRow & { commit_sha: string | null; branch: string | null })[]> {
  const { rows } = await sql<RunTotalsRow & { commit_sha: string | null; branch: string | null }>`
    SELECT * FROM (
      SELECT id, coalesce(completed_at, created_at) AS completed_at, tests, passed, failed, errored,
        skipped, flaky, duration_ms, commit_sha, branch
      FROM test_runs
      WHERE org_id = ${orgId} AND project_id = ${projectId} AND issue_number = ${number}
        AND status = 'complete'
      ORDER BY id DESC LIMIT ${limit}
    ) AS newest ORDER BY id`.execute(db);
  return rows;
}

/** Every gate state change of the issue, oldest first. */
export async function gateChangesOfIssue(
  db: Executor,
  orgId: string,
  issueId: string,
): Promise<{ gate_key: string; to_state: string; run_id: string | null; created_at: Date }[]> {
  const { rows } = await sql<{
    gate_key: string;
    to_state: string;
    run_id: string | null;
    created_at: Date;
  }>`
    SELECT gate_key, to_state, run_id, created_at FROM gate_state_changes
    WHERE org_id = ${orgId} AND issue_id = ${issueId} ORDER BY id`.execute(db);
  return rows;
}

// --- quarantine ---------------------------------------------------------------------------

const quarantineOf = (r: Pick<TestQuarantineRow, 'test_key' | 'reason' | 'expires_at'>) => ({
  testKey: r.test_key.toString('hex'),
  reason: r.reason,
  expiresAt: r.expires_at,
});

/** The project's quarantines still in force at `now`, by test key. */
export async function activeQuarantines(
  db: Executor,
  orgId: string,
  projectId: string,
  now: Date,
): Promise<Map<string, Quarantine & { row: TestQuarantineRow }>> {
  const { rows } = await sql<TestQuarantineRow>`
    SELECT * FROM test_quarantines
    WHERE org_id = ${orgId} AND project_id = ${projectId}
      AND (expires_at IS NULL OR expires_at > ${now})`.execute(db);
  return new Map(rows.map((r) => [r.test_key.toString('hex'), { ...quarantineOf(r), row: r }]));
}

/** Quarantines a test (or replaces its quarantine); answers the previous one, if any. */
export async function putQuarantine(
  db: Executor,
  row: TestQuarantineRow,
): Promise<TestQuarantineRow | undefined> {
  const { rows: before } = await sql<TestQuarantineRow>`
    SELECT * FROM test_quarantines
    WHERE org_id = ${row.org_id} AND project_id = ${row.project_id} AND test_key = ${row.test_key}
    FOR UPDATE`.execute(db);
  await sql`
    INSERT INTO test_quarantines (org_id, project_id, test_key, reason, by_type, by_id, created_at, expires_at)
    VALUES (${row.org_id}, ${row.project_id}, ${row.test_key}, ${row.reason}, ${row.by_type},
      ${row.by_id}, ${row.created_at}, ${row.expires_at})
    ON CONFLICT (org_id, project_id, test_key) DO UPDATE SET reason = excluded.reason,
      by_type = excluded.by_type, by_id = excluded.by_id, created_at = excluded.created_at,
      expires_at = excluded.expires_at`.execute(db);
  return before[0];
}

/** Lifts a test's quarantine; answers the one lifted (undefined: there was none). */
export async function deleteQuarantine(
  db: Executor,
  orgId: string,
  projectId: string,
  testKey: Buffer,
): Promise<TestQuarantineRow | undefined> {
  const { rows } = await sql<TestQuarantineRow>`
    DELETE FROM test_quarantines
    WHERE org_id = ${orgId} AND project_id = ${projectId} AND test_key = ${testKey}
    RETURNING *`.execute(db);
  return rows[0];
}

/** Since when each test has been flaky over history, by test key. */
export async function flakySince(
  db: Executor,
  orgId: string,
  projectId: string,
): Promise<Map<string, Date>> {
  const { rows } = await sql<{ test_key: Buffer; since: Date }>`
    SELECT test_key, since FROM test_flaky_since
    WHERE org_id = ${orgId} AND project_id = ${projectId}`.execute(db);
  return new Map(rows.map((r) => [r.test_key.toString('hex'), r.since]));
}

/** Records the tests flaky now (keeping the date of those flaky already); forgets the others. */
export async function syncFlakySince(
  db: Executor,
  orgId: string,
  projectId: string,
  flakyKeys: string[],
  now: Date,
): Promise<void> {
  const keys = flakyKeys.map(key);
  await sql`
    DELETE FROM test_flaky_since
    WHERE org_id = ${orgId} AND project_id = ${projectId} AND NOT (test_key = ANY(${keys}::bytea[]))`.execute(
    db,
  );
  if (keys.length === 0) return;
  await sql`
    INSERT INTO test_flaky_since (org_id, project_id, test_key, since)
    SELECT ${orgId}, ${projectId}, k, ${now} FROM unnest(${keys}::bytea[]) AS k
    ON CONFLICT (org_id, project_id, test_key) DO NOTHING`.execute(db);
}

// --- retention and run deletion -----------------------------------------------------------

export async function retentionOf(
  db: Executor,
  orgId: string,
  projectId: string,
): Promise<ProjectRetentionColumns> {
  const { rows } = await sql<ProjectRetentionColumns>`
    SELECT details_days, results_days FROM projects
    WHERE org_id = ${orgId} AND id = ${projectId}`.execute(db);
  return rows[0] ?? { details_days: 30, results_days: 400 };
}

export async function setRetention(
  db: Executor,
  orgId: string,
  projectId: string,
  r: { detailsDays?: number | undefined; resultsDays?: number | undefined },
): Promise<ProjectRetentionColumns> {
  const { rows } = await sql<ProjectRetentionColumns>`
    UPDATE projects SET
      details_days = coalesce(${r.detailsDays ?? null}::int, details_days),
      results_days = coalesce(${r.resultsDays ?? null}::int, results_days),
      updated_at = now()
    WHERE org_id = ${orgId} AND id = ${projectId}
    RETURNING details_days, results_days`.execute(db);
  return rows[0]!;
}

/** A run of the project, or a 404. */
export async function requireProjectRun(
  db: Executor,
  orgId: string,
  projectId: string,
  runId: string,
): Promise<{ id: string; issue_number: number | null; status: string }> {
  const { rows } = await sql<{ id: string; issue_number: number | null; status: string }>`
    SELECT id, issue_number, status FROM test_runs
    WHERE org_id = ${orgId} AND project_id = ${projectId} AND id = ${runId}
    FOR UPDATE`.execute(db);
  if (rows[0] === undefined) throw runNotFound();
  return rows[0];
}

/**
 * Deletes a run with everything stored of it: details, blocks and files (the last two by
 * cascade), its pending close. Gate history that names it is kept.
 */
export async function deleteRun(db: Executor, orgId: string, runId: string): Promise<void> {
  await sql`DELETE FROM result_details WHERE org_id = ${orgId} AND run_id = ${runId}`.execute(db);
  await sql`DELETE FROM due_work WHERE org_id = ${orgId} AND kind = 'run.quiet' AND ref_id = ${runId}`.execute(
    db,
  );
  await sql`DELETE FROM test_runs WHERE org_id = ${orgId} AND id = ${runId}`.execute(db);
}

/** The tracked issues whose stored gate report was judged on the run. */
export async function issuesJudgedOn(
  db: Executor,
  orgId: string,
  runId: string,
): Promise<{ id: string; number: number }[]> {
  const { rows } = await sql<{ id: string; number: number }>`
    SELECT i.id, i.number FROM gate_reports g
    JOIN tracked_issues i ON i.org_id = g.org_id AND i.id = g.issue_id
    WHERE g.org_id = ${orgId} AND g.run_id = ${runId}`.execute(db);
  return rows;
}

/** The project's tests with the given ords. */
export async function testsWithOrds(
  db: Executor,
  orgId: string,
  projectId: string,
  ords: number[],
): Promise<TestRow[]> {
  if (ords.length === 0) return [];
  const { rows } = await sql<TestRow>`
    SELECT ord, test_key, suite, classname, name FROM tests t
    WHERE org_id = ${orgId} AND project_id = ${projectId} AND ord = ANY(${ords}::int[])
      AND ${storedTest(orgId, projectId, 't')}
    ORDER BY ord`.execute(db);
  return rows;
}

/** A project by id, as the gate engine refers to it (for jobs that know only the id). */
export async function projectById(
  db: Executor,
  orgId: string,
  projectId: string,
): Promise<{ id: string; key: string; default_branch: string } | undefined> {
  const { rows } = await sql<{ id: string; key: string; default_branch: string }>`
    SELECT id, key, default_branch FROM projects WHERE org_id = ${orgId} AND id = ${projectId}`.execute(
    db,
  );
  return rows[0];
}

/** Every project of the org with its retention, as jobs walk them. */
export async function projectsOfOrg(
  db: Executor,
  orgId: string,
): Promise<({ id: string; key: string; default_branch: string } & ProjectRetentionColumns)[]> {
  const { rows } = await sql<
    { id: string; key: string; default_branch: string } & ProjectRetentionColumns
  >`
    SELECT id, key, default_branch, details_days, results_days FROM projects
    WHERE org_id = ${orgId} ORDER BY id`.execute(db);
  return rows;
}

/** Runs of the project completed before `before` whose details (or blocks) are still kept. */
export async function runsToThin(
  db: Executor,
  orgId: string,
  projectId: string,
  what: 'details' | 'results',
  before: Date,
  limit: number,
): Promise<string[]> {
  const kept = what === 'details' ? sql`details_purged_at IS NULL` : sql`results_purged_at IS NULL`;
  const { rows } = await sql<{ id: string }>`
    SELECT id FROM test_runs
    WHERE org_id = ${orgId} AND project_id = ${projectId} AND status = 'complete'
      AND results_purged_at IS NULL AND ${kept} AND completed_at < ${before}
    ORDER BY completed_at LIMIT ${limit}`.execute(db);
  return rows.map((r) => r.id);
}

/** Deletes up to `max` of a run's detail rows; answers how many went. */
export async function deleteDetailsBatch(
  db: Executor,
  orgId: string,
  runId: string,
  max: number,
): Promise<number> {
  const result = await sql`
    DELETE FROM result_details d USING (
      SELECT seq FROM result_details WHERE org_id = ${orgId} AND run_id = ${runId} LIMIT ${max}
    ) picked
    WHERE d.org_id = ${orgId} AND d.run_id = ${runId} AND d.seq = picked.seq`.execute(db);
  return Number(result.numAffectedRows ?? 0);
}

/** Deletes up to `max` of a run's blocks; answers how many went. */
export async function deleteBlocksBatch(
  db: Executor,
  orgId: string,
  runId: string,
  max: number,
): Promise<number> {
  const result = await sql`
    DELETE FROM run_blocks b USING (
      SELECT block FROM run_blocks WHERE org_id = ${orgId} AND run_id = ${runId} LIMIT ${max}
    ) picked
    WHERE b.org_id = ${orgId} AND b.run_id = ${runId} AND b.block = picked.block`.execute(db);
  return Number(result.numAffectedRows ?? 0);
}

/** Records what retention has removed of a run. */
export async function markThinned(
  db: Executor,
  orgId: string,
  runId: string,
  what: 'details' | 'results',
  at: Date,
): Promise<void> {
  await sql`
    UPDATE test_runs SET details_purged_at = coalesce(details_purged_at, ${at}),
      results_purged_at = coalesce(results_purged_at, ${what === 'results' ? at : null}::timestamptz)
    WHERE org_id = ${orgId} AND id = ${runId}`.execute(db);
}
