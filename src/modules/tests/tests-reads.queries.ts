import { sql, type CompiledQuery, type RawBuilder } from 'kysely';
import type { Executor } from '../../db/executor.ts';
import { bucketStart, DAY } from '../../domain/history.ts';
import type { TestQuarantineRow } from '../../db/types-history-reads.ts';
import { storedTest, unstoredCount } from '../runs/runs.queries.ts';
import type { CountSums, TestRow } from './tests.queries.ts';

// The history reads as one statement each: the project (by key) and everything the read
// needs of it. On 2 busy cores every round trip costs a wake-up of PostgreSQL and of Node
// (socket writes were 40% of the server's busy time on a bare tenant read), more than these
// statements' own execution (0.1-1.3 ms at 1M results), so each is compiled here and sent
// behind the tenant door in the same round trip (readAsTenant); its rows are turned into
// the read's state by a function beside it.

const key = (hex: string) => Buffer.from(hex, 'hex');

/**
 * Active quarantines as parallel arrays (one row, whatever their number), so that they ride
 * along with another read; pg parses each array with the element type's own parser, so the
 * rows rebuilt by quarantineRows are exactly those a `SELECT *` gives.
 */
const QUARANTINE_ARRAYS = sql`array_agg(q.test_key) AS q_keys, array_agg(q.reason) AS q_reasons,
  array_agg(q.by_type) AS q_by_types, array_agg(q.by_id) AS q_by_ids,
  array_agg(q.created_at) AS q_created, array_agg(q.expires_at) AS q_expires`;

interface QuarantineArrays {
  q_keys: Buffer[] | null;
  q_reasons: string[] | null;
  q_by_types: TestQuarantineRow['by_type'][] | null;
  q_by_ids: string[] | null;
  q_created: Date[] | null;
  q_expires: (Date | null)[] | null;
}

/** The quarantines carried by QUARANTINE_ARRAYS, by test key (hex). */
function quarantineRows(
  orgId: string,
  projectId: string,
  a: QuarantineArrays,
): Map<string, TestQuarantineRow> {
  return new Map(
    (a.q_keys ?? []).map((testKey, i) => [
      testKey.toString('hex'),
      {
        org_id: orgId,
        project_id: projectId,
        test_key: testKey,
        reason: a.q_reasons![i]!,
        by_type: a.q_by_types![i]!,
        by_id: a.q_by_ids![i]!,
        created_at: a.q_created![i]!,
        expires_at: a.q_expires![i] ?? null,
      },
    ]),
  );
}

const projectByKey = (orgId: string, projectKey: string): RawBuilder<unknown> =>
  sql`SELECT id, default_branch FROM projects WHERE org_id = ${orgId} AND key = ${projectKey}`;

/** What the test list reads on every request; undefined when there is no such project. */
export interface TestListState {
  project: { id: string; default_branch: string };
  /** The stored quality configuration (undefined: the project uses the default one). */
  config: unknown;
  /** The window's runs, newest first (as latestRunsOfBranch). */
  runs: { id: string; updated_at: Date }[];
  /** The highest test ord and the tests awaiting their first stored upload (as testsFingerprint). */
  fingerprint: string;
  quarantines: Map<string, TestQuarantineRow>;
}

/**
 * The project, its quality configuration, the latest complete runs of its default branch
 * still holding their results (as many as the configured flakiness window, `defaultWindow`
 * when the configuration does not set it and `unconfiguredWindow` when there is none), the
 * tests' fingerprint and the quarantines in force at `now`: one statement.
 */
export function testListStatement(
  db: Executor,
  orgId: string,
  projectKey: string,
  window: { defaultWindow: number; unconfiguredWindow: number },
  now: Date,
): CompiledQuery<TestListRow> {
  return sql<TestListRow>`
    WITH p AS (${projectByKey(orgId, projectKey)}),
    c AS (SELECT config FROM quality_configs WHERE org_id = ${orgId} AND project_id = (SELECT id FROM p))
    SELECT p.id, p.default_branch, (SELECT config FROM c) AS config,
      EXISTS (SELECT 1 FROM c) AS configured, w.run_ids, w.run_updated,
      (SELECT max(ord) FROM tests WHERE org_id = ${orgId} AND project_id = p.id) AS max_ord,
      ${unstoredCount(orgId, sql`p.id`)} AS unstored,
      qa.*
    FROM p
    CROSS JOIN LATERAL (
      SELECT array_agg(r.id ORDER BY r.id DESC) AS run_ids,
        array_agg(r.updated_at ORDER BY r.id DESC) AS run_updated
      FROM (
        SELECT id, updated_at FROM test_runs
        WHERE org_id = ${orgId} AND project_id = p.id AND branch = p.default_branch
          AND status = 'complete' AND results_purged_at IS NULL
        ORDER BY id DESC
        LIMIT (SELECT CASE WHEN EXISTS (SELECT 1 FROM c)
          THEN coalesce(((SELECT config FROM c) #>> '{flakiness,window}')::int, ${window.defaultWindow}::int)
          ELSE ${window.unconfiguredWindow}::int END)
      ) r
    ) w
    CROSS JOIN LATERAL (
      SELECT ${QUARANTINE_ARRAYS} FROM test_quarantines q
      WHERE q.org_id = ${orgId} AND q.project_id = p.id
        AND (q.expires_at IS NULL OR q.expires_at > ${now})
    ) qa`.compile(db);
}

/** The row of testListStatement (none: no such project). */
type TestListRow = {
  id: string;
  default_branch: string;
  config: unknown;
  configured: boolean;
  run_ids: string[] | null;
  run_updated: Date[] | null;
  max_ord: number | null;
  unstored: number;
} & QuarantineArrays;

/** testListStatement's answer as what the test list reads; undefined: no such project. */
export function testListState(orgId: string, rows: TestListRow[]): TestListState | undefined {
  const row = rows[0];
  if (row === undefined) return undefined;
  const updated = row.run_updated ?? [];
  return {
    project: { id: row.id, default_branch: row.default_branch },
    config: row.configured ? row.config : undefined,
    runs: (row.run_ids ?? []).map((id, i) => ({ id, updated_at: updated[i]! })),
    fingerprint: `${row.max_ord ?? -1}/${row.unstored}`,
    quarantines: quarantineRows(orgId, row.id, row),
  };
}

/** One result of a test's history: its run, its status byte, duration and failure. */
export interface HistoryRow {
  id: string;
  commit_sha: string | null;
  branch: string | null;
  build: string | null;
  issue_number: number | null;
  status: string;
  /** When the run completed (when it was created, while it is open). */
  at: Date;
  code: number;
  /** The duration in the run's block, in microseconds (null: the block has none for it). */
  micros: number | null;
  failure_type: string | null;
  failure_message: string | null;
  duration_ms: number | null;
}

/** A HistoryRow as the statement sends it: a JSON array, `at` in epoch milliseconds. */
type HistoryTuple = [
  string,
  string | null,
  string | null,
  string | null,
  number | null,
  string,
  number,
  number,
  number | null,
  string | null,
  string | null,
  number | null,
];

/** One test's page of history, or which of the project and the test is missing. */
export interface TestHistoryState {
  projectFound: boolean;
  test: TestRow | undefined;
  quarantine: TestQuarantineRow | undefined;
  rows: HistoryRow[];
}

/**
 * The project, one of its stored tests by testId, that test's quarantine in force at `now`
 * and its results across runs newest first (as historyOfTest: the status byte and duration
 * of its ord in each run's block, the first detail row's failure when it has details; runs
 * without the test or without blocks are not listed): one statement, one row. The results
 * come as one JSON array of arrays: pg parses it with one JSON.parse, where a row per result
 * repeated the test's columns and cost a parse of each field (timestamps and bytea among
 * them) — the larger part of this read's time in Node under load.
 */
export function testHistoryStatement(
  db: Executor,
  orgId: string,
  projectKey: string,
  testId: string,
  opts: { branch: string | undefined; before: string | undefined; limit: number; now: Date },
): CompiledQuery<TestHistoryStateRow> {
  return sql<TestHistoryStateRow>`
    WITH p AS (${projectByKey(orgId, projectKey)}),
    t AS (
      SELECT ord, test_key, suite, classname, name, ord / 256 AS block, ord % 256 AS pos
      FROM tests
      WHERE org_id = ${orgId} AND project_id = (SELECT id FROM p) AND test_key = ${key(testId)}
        AND ${storedTest(orgId, sql`(SELECT id FROM p)`, 'tests')}
    )
    SELECT p.id AS project_id, t.ord, t.test_key, t.suite, t.classname, t.name,
      q.reason AS q_reason, q.by_type AS q_by_type, q.by_id AS q_by_id,
      q.created_at AS q_created, q.expires_at AS q_expires,
      (SELECT coalesce(json_agg(json_build_array(h.id, h.commit_sha, h.branch, h.build,
          h.issue_number, h.status, h.at_ms, h.code, h.micros, h.failure_type,
          h.failure_message, h.duration_ms) ORDER BY h.id DESC), '[]')
        FROM (
          SELECT r.id, r.commit_sha, r.branch, r.build, r.issue_number, r.status,
            floor(extract(epoch FROM coalesce(r.completed_at, r.created_at)) * 1000) AS at_ms,
            get_byte(b.statuses, t.pos) AS code,
            CASE WHEN length(b.durations) >= t.pos * 4 + 4 THEN
              get_byte(b.durations, t.pos * 4)::bigint * 16777216
              + get_byte(b.durations, t.pos * 4 + 1) * 65536
              + get_byte(b.durations, t.pos * 4 + 2) * 256
              + get_byte(b.durations, t.pos * 4 + 3) END AS micros,
            d.failure_type, d.failure_message, d.duration_ms
          FROM test_runs r
          JOIN run_blocks b ON b.org_id = r.org_id AND b.run_id = r.id AND b.block = t.block
          LEFT JOIN LATERAL (
            SELECT failure_type, failure_message, duration_ms FROM result_details d
            WHERE d.org_id = r.org_id AND d.run_id = r.id AND d.ord = t.ord
              AND (get_byte(b.statuses, t.pos) & 32) <> 0
            ORDER BY d.seq LIMIT 1
          ) d ON true
          WHERE r.org_id = ${orgId} AND r.project_id = p.id
            AND (${opts.branch ?? null}::text IS NULL OR r.branch = ${opts.branch ?? null})
            AND (${opts.before ?? null}::uuid IS NULL OR r.id < ${opts.before ?? null}::uuid)
            AND get_byte(b.statuses, t.pos) <> 0
          ORDER BY r.id DESC
          LIMIT ${opts.limit + 1}
        ) h) AS history
    FROM p
    LEFT JOIN t ON true
    LEFT JOIN test_quarantines q ON q.org_id = ${orgId} AND q.project_id = p.id
      AND q.test_key = t.test_key AND (q.expires_at IS NULL OR q.expires_at > ${opts.now})`.compile(
    db,
  );
}

/** The row of testHistoryStatement. */
type TestHistoryStateRow = { project_id: string; ord: number | null } & Omit<TestRow, 'ord'> & {
    q_reason: string | null;
    q_by_type: TestQuarantineRow['by_type'] | null;
    q_by_id: string | null;
    q_created: Date | null;
    q_expires: Date | null;
    history: HistoryTuple[];
  };

/** testHistoryStatement's answer as the project found, the test, its quarantine, its results. */
export function testHistoryState(orgId: string, rows: TestHistoryStateRow[]): TestHistoryState {
  const first = rows[0];
  if (first === undefined)
    return { projectFound: false, test: undefined, quarantine: undefined, rows: [] };
  if (first.ord === null)
    return { projectFound: true, test: undefined, quarantine: undefined, rows: [] };
  return {
    projectFound: true,
    test: {
      ord: first.ord,
      test_key: first.test_key,
      suite: first.suite,
      classname: first.classname,
      name: first.name,
    },
    quarantine:
      first.q_reason === null
        ? undefined
        : {
            org_id: orgId,
            project_id: first.project_id,
            test_key: first.test_key,
            reason: first.q_reason,
            by_type: first.q_by_type!,
            by_id: first.q_by_id!,
            created_at: first.q_created!,
            expires_at: first.q_expires,
          },
    rows: first.history.map((h) => ({
      id: h[0],
      commit_sha: h[1],
      branch: h[2],
      build: h[3],
      issue_number: h[4],
      status: h[5],
      at: new Date(h[6]),
      code: h[7],
      micros: h[8],
      failure_type: h[9],
      failure_message: h[10],
      duration_ms: h[11],
    })),
  };
}

/**
 * The project's default branch and a branch's complete runs that completed between `from`
 * and `to`, summed per day (UTC); undefined: no such project.
 *
 * Whole days come from run_day_totals (migration 0017), so the read does not grow with the
 * runs a day holds. The first and last day are whole too unless a run of that day completed
 * outside the range (an index probe each); such a day is summed from its runs in the range.
 */
export function trendsStatement(
  db: Executor,
  orgId: string,
  projectKey: string,
  q: { branch: string | undefined; from: Date; to: Date },
): CompiledQuery<TrendsRow> {
  const fromDay = bucketStart(q.from, 'day');
  const toDay = bucketStart(q.to, 'day');
  const afterFromDay = new Date(fromDay.getTime() + DAY);
  const afterToDay = new Date(toDay.getTime() + DAY);
  const [firstDay, lastDay] = [fromDay, toDay].map((d) => d.toISOString().slice(0, 10));
  return sql<TrendsRow>`
    WITH p AS (${projectByKey(orgId, projectKey)}),
    b AS (
      SELECT p.id, p.default_branch,
        coalesce(${q.branch ?? null}::text, p.default_branch) AS branch FROM p
    ),
    runs AS NOT MATERIALIZED (
      SELECT r.completed_at, r.tests, r.passed, r.failed, r.errored, r.skipped, r.flaky,
        r.duration_ms
      FROM test_runs r, b
      WHERE r.org_id = ${orgId} AND r.project_id = b.id AND r.branch = b.branch
        AND r.status = 'complete'
    ),
    cut AS (
      SELECT
        EXISTS (SELECT 1 FROM runs WHERE completed_at >= ${fromDay} AND completed_at < ${q.from})
          AS first_day,
        EXISTS (SELECT 1 FROM runs WHERE completed_at > ${q.to} AND completed_at < ${afterToDay})
          AS last_day
    )
    SELECT b.default_branch, s.* FROM b
    LEFT JOIN LATERAL (
      SELECT d.day::timestamp AT TIME ZONE 'UTC' AS at, d.runs, d.tests::int AS tests,
        d.passed::int AS passed, d.failed::int AS failed, d.errored::int AS errored,
        d.skipped::int AS skipped, d.flaky::int AS flaky, d.duration_ms
      FROM run_day_totals d, cut
      WHERE d.org_id = ${orgId} AND d.project_id = b.id AND d.branch = b.branch
        AND d.day >= ${firstDay}::date AND d.day <= ${lastDay}::date AND d.runs > 0
        AND NOT (cut.first_day AND d.day = ${firstDay}::date)
        AND NOT (cut.last_day AND d.day = ${lastDay}::date)
      UNION ALL
      SELECT date_trunc('day', completed_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC',
        count(*)::int, sum(tests)::int, sum(passed)::int, sum(failed)::int, sum(errored)::int,
        sum(skipped)::int, sum(flaky)::int, sum(duration_ms)::float8
      FROM runs, cut
      WHERE completed_at >= ${q.from} AND completed_at <= ${q.to}
        AND ((cut.first_day AND completed_at < ${afterFromDay})
          OR (cut.last_day AND completed_at >= ${toDay}))
      GROUP BY 1
    ) s ON true
    ORDER BY s.at`.compile(db);
}

/** A row of trendsStatement: the project's default branch and a day's sums (none: no day). */
type TrendsRow = CountSums & { default_branch: string; at: Date | null; runs: number };

/** trendsStatement's answer: the default branch and the sums per day; undefined: no project. */
export function trendsState(rows: TrendsRow[]):
  | {
      defaultBranch: string;
      sums: (CountSums & { at: Date; runs: number })[];
    }
  | undefined {
  const first = rows[0];
  if (first === undefined) return undefined;
  return {
    defaultBranch: first.default_branch,
    sums: rows
      .filter((r) => r.at !== null)
      .map(({ default_branch: _, at, ...sum }) => ({ ...sum, at: at! })),
  };
}
