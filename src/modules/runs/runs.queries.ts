import { hash } from 'node:crypto';
import { sql, type CompiledQuery, type RawBuilder } from 'kysely';
import type { TestCase, Totals } from '../../domain/junit.ts';
import { signatureOf } from '../../domain/triage.ts';
import {
  boolArray,
  byteaArray,
  float8Array,
  hexByteaArray,
  int4Array,
  textArray,
} from '../../db/binary-array.ts';
import type { Executor } from '../../db/executor.ts';
import { NotFound } from '../../errors.ts';

/** A stable identity for a test across runs: hash of project, suite, classname and name. */
export function testKey(
  projectId: string,
  tc: Pick<TestCase, 'suitePath' | 'classname' | 'name'>,
): string {
  // One-shot crypto.hash: ~5x faster than a createHash object per testcase.
  return hash('sha256', `${projectId}\0${tc.suitePath}\0${tc.classname}\0${tc.name}`, 'hex').slice(
    0,
    32,
  );
}

/** A plain result: passed or skipped, nothing captured. Most results of a large run are plain. */
export const isPlain = (c: TestCase) =>
  (c.status === 'passed' || c.status === 'skipped') &&
  c.failureType === null &&
  c.failureMessage === null &&
  c.failureText === null &&
  c.systemOut === null &&
  c.systemErr === null &&
  !c.truncated &&
  !c.flaky &&
  c.reruns.length === 0 &&
  Object.keys(c.properties).length === 0;

/** A project's id: a value, or an expression of the statement (a CTE's id). */
type ProjectIdSql = string | RawBuilder<unknown>;

/**
 * The project's pending registrations (tests registered by an upload that has not committed,
 * or never will) as one int4multirange, computed once per statement (an InitPlan); null when
 * there are none, as usual.
 */
const pendingOrds = (orgId: string, projectId: ProjectIdSql) => sql<string | null>`(
  SELECT range_agg(int4range(r.first_ord, r.last_ord, '[]')) FROM test_registrations r
  WHERE r.org_id = ${orgId} AND r.project_id = ${projectId})`;

/**
 * True for a test the project has stored (an upload holding it committed): its flag is set,
 * or no pending registration covers its ord. `t` names the row of `tests`.
 */
export const storedTest = (orgId: string, projectId: ProjectIdSql, t: string) =>
  sql<boolean>`(${sql.ref(`${t}.stored`)} OR NOT coalesce(${pendingOrds(orgId, projectId)} @> ${sql.ref(`${t}.ord`)}, false))`;

/** How many of the project's tests await their first stored upload (usually none). */
export const unstoredCount = (orgId: string, projectId: ProjectIdSql) => sql<number>`(
  SELECT count(*)::int FROM test_registrations r
  JOIN tests t ON t.org_id = r.org_id AND t.project_id = r.project_id
    AND t.ord BETWEEN r.first_ord AND r.last_ord
  WHERE r.org_id = ${orgId} AND r.project_id = ${projectId} AND NOT t.stored)`;

/** What a lookup of test keys found. */
export interface OrdLookup {
  /** The ords of the keys the project has, by key. */
  ords: Map<string, number>;
  /** The ords of those still awaiting their first stored upload. */
  unstored: number[];
  /** The project's next ord as the lookup saw it (no test registered since while it is still so). */
  next: number;
}

/**
 * Runs a statement that finds tests by key (testsByKeyStatement) with bitmap scans off for
 * it, then puts the setting back. On a table PostgreSQL has no statistics for yet (a new
 * installation's first minute), it guessed the row-level security condition on org_id as
 * selective as the test key and ANDed a bitmap of the org's every test (from the primary
 * key) into each key's probe; without bitmap scans it probes the hash index alone. With
 * statistics it does so on its own.
 */
export async function probingKeys<T>(trx: Executor, statement: () => Promise<T>): Promise<T> {
  const { rows } = await sql<{ was: string }>`
    SELECT current_setting('enable_bitmapscan') AS was,
      set_config('enable_bitmapscan', 'off', true)`.execute(trx);
  const out = await statement();
  await sql`SELECT set_config('enable_bitmapscan', ${rows[0]!.was}, true)`.execute(trx);
  return out;
}

/**
 * The project's tests with the given keys (hex test keys): one probe of the test key's hash
 * index a key (a hash index cannot take `test_key = ANY(array)`). Run it through
 * probingKeys.
 */
export const testsByKeyStatement = (orgId: string, projectId: string, keys: string[]) =>
  sql<{
    ord: number;
    test_key: Buffer;
    suite: string;
    classname: string;
    name: string;
    stored: boolean;
  }>`
    SELECT t.ord, t.test_key, t.suite, t.classname, t.name, t.stored
    FROM unnest(${hexByteaArray(keys)}::bytea[]) AS u(key)
    CROSS JOIN LATERAL (
      SELECT org_id, project_id, ord, test_key, suite, classname, name, stored FROM tests
      WHERE test_key = u.key
      -- Kept out of the probe (OFFSET 0: the conditions below are not pushed into it): on a
      -- table without statistics the planner took the primary key for them and filtered
      -- every test of the project for each key.
      OFFSET 0) AS t
    WHERE t.org_id = ${orgId} AND t.project_id = ${projectId}`;

/**
 * The project's tests among `keys` (hex test keys). Run it with custom plans
 * (plan_cache_mode, as the upload does): a generic plan cannot hash the array, and on a
 * young table it compared every key with every row, seconds per batch.
 */
export async function lookupOrds(
  trx: Executor,
  orgId: string,
  projectId: string,
  keys: string[],
): Promise<OrdLookup> {
  // One row even when no key is found, for the next ord.
  const { rows } = await probingKeys(trx, () =>
    sql<{
      next: number;
      ord: number | null;
      test_key: Buffer | null;
      stored: boolean | null;
    }>`
    SELECT n.next, t.ord, t.test_key, ${storedTest(orgId, projectId, 't')} AS stored
    FROM (SELECT coalesce(max(ord) + 1, 0)::int AS next FROM tests
          WHERE org_id = ${orgId} AND project_id = ${projectId}) n
    LEFT JOIN (${testsByKeyStatement(orgId, projectId, keys)}) t ON true`.execute(trx),
  );
  const found: OrdLookup = { ords: new Map(), unstored: [], next: rows[0]!.next };
  for (const r of rows) {
    if (r.test_key === null) continue;
    found.ords.set(r.test_key.toString('hex'), r.ord!);
    if (r.stored !== true) found.unstored.push(r.ord!);
  }
  return found;
}

/** The ords of the project's tests among `keys` (hex test keys), by key (as lookupOrds). */
export async function ordsOf(
  trx: Executor,
  orgId: string,
  projectId: string,
  keys: string[],
): Promise<Map<string, number>> {
  if (keys.length === 0) return new Map();
  return (await lookupOrds(trx, orgId, projectId, keys)).ords;
}

/**
 * Marks tests as stored one by one, in the upload's transaction: for tests of another
 * upload's registration that is still pending (uploads of the same new tests at once); an
 * upload's own registrations are stored by deleting them (storeRegistrations). A row another
 * upload is marking right now is skipped rather than waited for (uploads of the same new
 * tests never wait for each other's commit); should that upload fail, the next upload of
 * the test marks it.
 */
export async function markStored(
  trx: Executor,
  orgId: string,
  projectId: string,
  ords: number[],
): Promise<void> {
  if (ords.length === 0) return;
  // Joined from the array (index lookups by ord), never `ord = ANY(array)` tested row by
  // row: on a young table without statistics that plan compared every row with every ord.
  await sql`
    WITH mine AS (
      SELECT t.ord FROM unnest(${int4Array(ords)}::int[]) AS u(ord)
      JOIN tests t ON t.org_id = ${orgId} AND t.project_id = ${projectId} AND t.ord = u.ord
      WHERE NOT t.stored
      FOR NO KEY UPDATE OF t SKIP LOCKED)
    UPDATE tests SET stored = true FROM mine
    WHERE tests.org_id = ${orgId} AND tests.project_id = ${projectId} AND tests.ord = mine.ord`.execute(
    trx,
  );
}

/**
 * Stores the tests of an upload's registrations (by their first ords), in that upload's
 * transaction: the registrations are deleted, so their tests count as the project's once
 * the upload commits.
 */
export async function storeRegistrations(
  trx: Executor,
  orgId: string,
  projectId: string,
  firstOrds: number[],
): Promise<void> {
  if (firstOrds.length === 0) return;
  await sql`
    DELETE FROM test_registrations
    WHERE org_id = ${orgId} AND project_id = ${projectId}
      AND first_ord = ANY(${int4Array(firstOrds)}::int[])`.execute(trx);
}

export interface NewTest {
  key: string;
  suite: string;
  classname: string;
  name: string;
}

/**
 * What registering new tests gave: the tests given, those of them another upload had
 * registered meanwhile with their ords, the others numbered from `firstOrd` in order
 * (ordsOfRegistration), and what is left to store of them.
 */
export interface Registration {
  tests: NewTest[];
  /** Those of `tests` registered already (another upload's, meanwhile), by key. */
  found: Map<string, number>;
  /** The first ord of the pending registration this call made (null: nothing was new). */
  firstOrd: number | null;
  /** Its last ord (null with firstOrd). */
  lastOrd: number | null;
  /** Tests another upload registered meanwhile and has not stored yet. */
  unstored: number[];
}

/**
 * Takes the project's registration lock for the rest of the transaction (registerTests
 * needs it): registrations of one project are made one after another. Also sets how the
 * transaction runs: planned per statement, and committed without waiting for its WAL to
 * be flushed — durable enough, as the upload that uses these ords commits synchronously
 * after this and its commit flushes this one's WAL with it.
 */
export async function lockForRegistration(trx: Executor, projectId: string): Promise<void> {
  await sql`SELECT set_config('plan_cache_mode', 'force_custom_plan', true),
    set_config('synchronous_commit', 'off', true),
    pg_advisory_xact_lock(1952805748, hashtext(${projectId}))`.execute(trx);
}

/**
 * Gives tests the project has not seen the next ords, in the order given, and records them
 * as one pending registration (their ords are consecutive): they count as the project's
 * once the upload stores it (storeRegistrations) and commits. Meant for a short transaction
 * of its own that took the project's lock first (lockForRegistration): a concurrent upload
 * waits for these few statements, never for another upload's commit. `seenNext` is
 * the next ord of the lookup that found the tests missing: while it is still the next one,
 * no test has been registered since and the tests are inserted without looking them up
 * again. Every statement is an index lookup or a plain insert (no anti-join for the planner
 * to misjudge on a young table).
 */
export async function registerTests(
  trx: Executor,
  orgId: string,
  projectId: string,
  tests: NewTest[],
  seenNext: number | null,
): Promise<Registration> {
  const none = { tests, found: new Map<string, number>(), firstOrd: null, lastOrd: null };
  if (tests.length === 0) return { ...none, unstored: [] };
  // Read after the lock (a statement's snapshot is taken when it starts).
  const next = await insertTests(trx, orgId, projectId, tests, seenNext ?? -1);
  if (next === seenNext)
    return {
      tests,
      found: new Map(),
      firstOrd: next,
      lastOrd: next + tests.length - 1,
      unstored: [],
    };
  // Another upload registered tests since: some of these may be among them.
  const found = await lookupOrds(
    trx,
    orgId,
    projectId,
    tests.map((t) => t.key),
  );
  const fresh = tests.filter((t) => !found.ords.has(t.key));
  if (fresh.length === 0) return { ...none, found: found.ords, unstored: found.unstored };
  if ((await insertTests(trx, orgId, projectId, fresh, next)) !== next)
    throw new Error('tests were registered while the project lock was held');
  return {
    tests,
    found: found.ords,
    firstOrd: next,
    lastOrd: next + fresh.length - 1,
    unstored: found.unstored,
  };
}

/** Every test's ord in a registration, by key. */
export function ordsOfRegistration(registration: Registration): Map<string, number> {
  const ords = new Map(registration.found);
  let next = registration.firstOrd;
  for (const t of registration.tests) if (!ords.has(t.key)) ords.set(t.key, next!++);
  return ords;
}

/**
 * Inserts `tests` from ord `expected` on, with their pending registration, if `expected` is
 * still the project's next ord; answers the next ord it found (inserted when equal).
 */
async function insertTests(
  trx: Executor,
  orgId: string,
  projectId: string,
  tests: NewTest[],
  expected: number,
): Promise<number> {
  const { rows } = await sql<{ next: number }>`
    WITH n AS (
      SELECT coalesce(max(ord) + 1, 0)::int AS next FROM tests
      WHERE org_id = ${orgId} AND project_id = ${projectId}),
    registered AS (
      INSERT INTO tests (org_id, project_id, ord, test_key, suite, classname, name)
      SELECT ${orgId}::uuid, ${projectId}::uuid, n.next + u.i::int - 1, u.key, u.suite, u.classname, u.name
      FROM n, unnest(${hexByteaArray(tests.map((t) => t.key))}::bytea[],
        ${textArray(tests.map((t) => t.suite))}::text[],
        ${textArray(tests.map((t) => t.classname))}::text[],
        ${textArray(tests.map((t) => t.name))}::text[]) WITH ORDINALITY AS u(key, suite, classname, name, i)
      WHERE n.next = ${expected}),
    pending AS (
      INSERT INTO test_registrations (org_id, project_id, first_ord, last_ord)
      SELECT ${orgId}::uuid, ${projectId}::uuid, n.next, n.next + ${tests.length - 1}::int FROM n
      WHERE n.next = ${expected})
    SELECT next FROM n`.execute(trx);
  return rows[0]!.next;
}

/** A result stored as a row of its own: more than a plain result, or a repeat in the run. */
export interface DetailRow {
  tc: TestCase;
  ord: number;
  seq: number;
  duplicate: boolean;
}

/**
 * The statement that inserts a batch's detail rows (built, not run, so the next batch can
 * be prepared while this one is written): one array parameter per column, unnested
 * server-side (COPY is not allowed under row-level security).
 */
export function detailsInsert(
  trx: Executor,
  ids: { orgId: string; runId: string; projectId: string; fileId: string },
  rows: DetailRow[],
): CompiledQuery {
  const col = <T>(f: (r: DetailRow) => T) => rows.map(f);
  const json = (v: unknown) => JSON.stringify(v);
  return sql`
    INSERT INTO result_details (org_id, run_id, seq, ord, project_id, file_id, duplicate, truncated,
      flaky, duration_ms, status, failure_type, failure_message, failure_text, system_out,
      system_err, reruns, properties, signature)
    SELECT ${ids.orgId}::uuid, ${ids.runId}::uuid, u.seq, u.ord, ${ids.projectId}::uuid,
      ${ids.fileId}::uuid, u.duplicate, u.truncated, u.flaky, u.duration_ms, u.status, u.failure_type,
      u.failure_message, u.failure_text, u.system_out, u.system_err, u.reruns::jsonb,
      u.properties::jsonb, u.signature
    FROM unnest(${int4Array(col((r) => r.seq))}::int[], ${int4Array(col((r) => r.ord))}::int[],
      ${boolArray(col((r) => r.duplicate))}::bool[], ${boolArray(col((r) => r.tc.truncated))}::bool[],
      ${boolArray(col((r) => r.tc.flaky))}::bool[], ${float8Array(col((r) => r.tc.durationMs))}::float8[],
      ${textArray(col((r) => r.tc.status))}::text[], ${textArray(col((r) => r.tc.failureType))}::text[],
      ${textArray(col((r) => r.tc.failureMessage))}::text[], ${textArray(col((r) => r.tc.failureText))}::text[],
      ${textArray(col((r) => r.tc.systemOut))}::text[], ${textArray(col((r) => r.tc.systemErr))}::text[],
      ${textArray(col((r) => (r.tc.reruns.length > 0 ? json(r.tc.reruns) : null)))}::text[],
      ${textArray(col((r) => (Object.keys(r.tc.properties).length > 0 ? json(r.tc.properties) : null)))}::text[],
      ${textArray(col(({ tc: c }) => (c.status === 'failed' || c.status === 'error' ? signatureOf({ type: c.failureType, message: c.failureMessage, text: c.failureText }) : null)))}::text[])
      AS u(seq, ord, duplicate, truncated, flaky, duration_ms, status, failure_type, failure_message,
           failure_text, system_out, system_err, reruns, properties, signature)`.compile(trx);
}

/** Writes blocks of a run whole (a block the run already has is replaced by its new state). */
export function blocksUpsert(
  trx: Executor,
  ids: { orgId: string; runId: string; projectId: string },
  blocks: { block: number; statuses: Buffer; durations: Buffer }[],
): CompiledQuery {
  return sql`
    INSERT INTO run_blocks (org_id, run_id, block, project_id, statuses, durations)
    SELECT ${ids.orgId}::uuid, ${ids.runId}::uuid, u.block, ${ids.projectId}::uuid, u.statuses,
      u.durations
    FROM unnest(${int4Array(blocks.map((b) => b.block))}::int[],
      ${byteaArray(blocks.map((b) => b.statuses))}::bytea[],
      ${byteaArray(blocks.map((b) => b.durations))}::bytea[]) AS u(block, statuses, durations)
    ON CONFLICT (org_id, run_id, block)
      DO UPDATE SET statuses = excluded.statuses, durations = excluded.durations`.compile(trx);
}

/** A run's blocks from `fromBlock` on, in order (all of them without a limit). */
export function blocksOfRun(
  trx: Executor,
  orgId: string,
  runId: string,
  fromBlock = 0,
  limit?: number,
) {
  let query = trx
    .selectFrom('run_blocks')
    .select(['block', 'statuses', 'durations'])
    .where('org_id', '=', orgId)
    .where('run_id', '=', runId)
    .where('block', '>=', fromBlock)
    .orderBy('block');
  if (limit !== undefined) query = query.limit(limit);
  return query.execute();
}

/** Where a result sits in a run's results: by test ord, the first occurrence (seq -1) first. */
export interface ResultPosition {
  ord: number;
  seq: number;
}

/** A detail row's seq as a position in result order: -1 for a test's first occurrence. */
const positionSeq = sql<number>`CASE WHEN duplicate THEN seq ELSE -1 END`;

/**
 * result_details rows after a position in result order. `ord >= p.ord` on its own is what
 * bounds the index scan: the OR alone left the scan starting at the run's first ord, so each
 * page read every row before its cursor.
 */
const afterPosition = (p: ResultPosition) =>
  sql<boolean>`ord >= ${p.ord} AND (ord > ${p.ord} OR ${positionSeq} > ${p.seq})`;

/**
 * A run's detail rows after `after` in result order (ord, then first occurrence, then
 * repeats by seq), up to `toOrd`, of one status or all.
 */
export function detailsOfRun(
  trx: Executor,
  orgId: string,
  runId: string,
  q: {
    after?: ResultPosition | undefined;
    status?: string | undefined;
    toOrd?: number | undefined;
  },
) {
  let query = trx
    .selectFrom('result_details')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('run_id', '=', runId)
    // The order of result_details_ord_idx (ORDER BY ord, duplicate, seq sorted every row
    // after the cursor first). The same order as ord, then
    // first occurrence, then repeats: a test's first occurrence in a run has its lowest seq.
    .orderBy('ord')
    .orderBy('seq');
  if (q.after !== undefined) query = query.where(afterPosition(q.after));
  if (q.status !== undefined) query = query.where('status', '=', q.status);
  if (q.toOrd !== undefined) query = query.where('ord', '<=', q.toOrd);
  return query.execute();
}

/**
 * A page of a run's results of one problem status (failed or error), each rendered as its
 * API item (ResultOut) by PostgreSQL, with its position for the cursor — and, in the same
 * statement, whether the project and the run exist (a read is BEGIN, the tenant check, this,
 * COMMIT). The detail rows come in result order after the cursor (result_details_ord_idx,
 * the status a filter), each with its test's names by primary key. A page of 100 failures with their stack texts is
 * ~76 KB of JSON: rendered here, it reaches Node as one text per row instead of ~20 parsed
 * columns per row to be serialized again (p50 under 10 clients 42 → 24 ms, bench/history.ts).
 */
export function problemItemsOfRun(
  db: Executor,
  orgId: string,
  projectKey: string,
  runId: string,
  q: { status: 'failed' | 'error'; after: ResultPosition | undefined; limit: number },
): CompiledQuery<ProblemItemRow> {
  return sql<ProblemItemRow>`
    WITH p AS (SELECT id FROM projects WHERE org_id = ${orgId} AND key = ${projectKey}),
    r AS (
      SELECT id FROM test_runs
      WHERE org_id = ${orgId} AND project_id = (SELECT id FROM p) AND id = ${runId}
    ),
    d AS (
      SELECT *, ${positionSeq} AS pos_seq FROM result_details
      WHERE org_id = ${orgId} AND run_id = (SELECT id FROM r) AND status = ${q.status}
        AND ${afterPosition(q.after ?? { ord: -1, seq: -1 })}
      ORDER BY ord, seq
      LIMIT ${q.limit}
    )
    SELECT EXISTS (SELECT FROM p) AS project_found, EXISTS (SELECT FROM r) AS run_found,
      x.ord, x.seq, x.item
    FROM (SELECT) AS one
    LEFT JOIN (
      SELECT d.ord, d.seq AS row_seq, d.pos_seq AS seq, row_to_json(i)::text AS item
      FROM d
      CROSS JOIN LATERAL (
        SELECT test_key, suite, classname, name FROM tests
        WHERE org_id = ${orgId} AND project_id = (SELECT id FROM p) AND ord = d.ord
        LIMIT 1) t
      CROSS JOIN LATERAL (
        SELECT CASE WHEN d.duplicate THEN d.ord || '-' || d.seq ELSE d.ord::text END AS "id",
          encode(t.test_key, 'hex') AS "testId", t.suite, t.classname, t.name, d.status,
          d.duration_ms AS "durationMs", d.failure_type AS "failureType",
          d.failure_message AS "failureMessage", d.failure_text AS "failureText",
          d.system_out AS "systemOut", d.system_err AS "systemErr", d.truncated, d.flaky,
          coalesce(d.reruns, '[]') AS reruns, coalesce(d.properties, '{}') AS properties
      ) i
    ) x ON true
    ORDER BY x.ord, x.row_seq`.compile(db);
}

/** A row of problemItemsOfRun: the checks, then (unless there are no items) an item. */
export interface ProblemItemRow {
  project_found: boolean;
  run_found: boolean;
  ord: number | null;
  seq: number | null;
  item: string | null;
}

/** problemItemsOfRun's rows as whether the project and run exist, and the page's items. */
export function problemItems(rows: ProblemItemRow[]): {
  projectFound: boolean;
  runFound: boolean;
  rows: ProblemItem[];
} {
  const first = rows[0]!;
  return {
    projectFound: first.project_found,
    runFound: first.run_found,
    rows: rows.filter((r): r is ProblemItem & typeof r => r.item !== null),
  };
}

/** A result of a page of problems: its position and its item as JSON text. */
export interface ProblemItem {
  ord: number;
  seq: number;
  item: string;
}

export const runNotFound = () => new NotFound('Run not found');

/** A test's identity as testsByOrd reads it. */
export interface TestIdentity {
  ord: number;
  test_key: Buffer;
  suite: string;
  classname: string;
  name: string;
}

/**
 * The statement of testsByOrd: one primary-key lookup per ord, LATERAL with LIMIT 1 so the
 * planner cannot turn it into a join. On a young `tests` table (no statistics yet)
 * `ord = ANY(array)`, generic or custom, and a plain join with the unnested array were all
 * planned as a scan of every test of the project: for 1,000 ords of 100,000 tests, 681 ms
 * (generic), 121 ms (custom), 126 ms (join); 6.6 ms as lookups. That the lookups take the
 * primary key there rests on no other index leading with (org_id, project_id) (migration
 * 0015); test/integration/tests-by-ord-plan.test.ts checks the plan.
 */
export const testsByOrdStatement = (orgId: string, projectId: string, ords: number[]) =>
  sql<TestIdentity>`
    SELECT t.ord, t.test_key, t.suite, t.classname, t.name
    FROM unnest(${ords}::int[]) AS u(ord)
    CROSS JOIN LATERAL (
      SELECT ord, test_key, suite, classname, name FROM tests
      WHERE org_id = ${orgId} AND project_id = ${projectId} AND ord = u.ord
      LIMIT 1) AS t`;

/** The project's tests with the given ords, by ord. */
export async function testsByOrd(trx: Executor, orgId: string, projectId: string, ords: number[]) {
  const out = new Map<number, TestIdentity>();
  if (ords.length === 0) return out;
  const { rows } = await testsByOrdStatement(orgId, projectId, ords).execute(trx);
  for (const r of rows) out.set(r.ord, r);
  return out;
}

export interface RunKeys {
  commit: string | null;
  branch: string | null;
  build: string | null;
  attempt: number;
  issue: number | null;
  /** Uploads the run expects (CI that splits a build across jobs); null: complete per upload. */
  shards: number | null;
}

/**
 * Uploads with the same project + build + attempt join one run; the row stays locked until
 * commit, so concurrent shards of one run take turns. A new run has `uploads = 0`.
 */
export async function openRun(
  trx: Executor,
  orgId: string,
  projectId: string,
  id: string,
  keys: RunKeys,
) {
  const values = {
    org_id: orgId,
    id,
    project_id: projectId,
    commit_sha: keys.commit,
    branch: keys.branch,
    build: keys.build,
    attempt: keys.attempt,
    issue_number: keys.issue,
  };
  if (keys.build === null)
    return trx.insertInto('test_runs').values(values).returningAll().executeTakeFirstOrThrow();
  return trx
    .insertInto('test_runs')
    .values(values)
    .onConflict((oc) =>
      oc
        .columns(['org_id', 'project_id', 'build', 'attempt'])
        .where('build', 'is not', null)
        .doUpdateSet({
          updated_at: sql<Date>`now()`,
          commit_sha: sql<string>`coalesce(test_runs.commit_sha, excluded.commit_sha)`,
          branch: sql<string>`coalesce(test_runs.branch, excluded.branch)`,
          issue_number: sql<number>`coalesce(test_runs.issue_number, excluded.issue_number)`,
        }),
    )
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Adds one upload's files and totals to the run, and settles whether it is now complete. */
export function addToRun(
  trx: Executor,
  orgId: string,
  runId: string,
  upload: { totals: Totals; files: number; shards: number | null; at: Date },
) {
  const t = upload.totals;
  return trx
    .updateTable('test_runs')
    .set((eb) => ({
      tests: eb('tests', '+', t.tests),
      passed: eb('passed', '+', t.passed),
      failed: eb('failed', '+', t.failed),
      errored: eb('errored', '+', t.errored),
      skipped: eb('skipped', '+', t.skipped),
      flaky: eb('flaky', '+', t.flaky),
      duration_ms: eb('duration_ms', '+', t.durationMs),
      files: eb('files', '+', upload.files),
      uploads: eb('uploads', '+', 1),
      shards: sql<number | null>`coalesce(shards, ${upload.shards}::int)`,
      last_upload_at: upload.at,
      updated_at: sql<Date>`now()`,
    }))
    .where('org_id', '=', orgId)
    .where('id', '=', runId)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export function setRunStatus(
  trx: Executor,
  orgId: string,
  runId: string,
  status: 'open' | 'complete',
  at: Date,
) {
  return trx
    .updateTable('test_runs')
    .set({ status, completed_at: status === 'complete' ? at : null, updated_at: sql<Date>`now()` })
    .where('org_id', '=', orgId)
    .where('id', '=', runId)
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** The project's run or a 404 (another project's or org's run looks exactly like a missing one). */
export async function requireRun(
  trx: Executor,
  orgId: string,
  projectId: string,
  runId: string,
  opts: { lock?: boolean } = {},
) {
  let query = trx
    .selectFrom('test_runs')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('project_id', '=', projectId)
    .where('id', '=', runId);
  if (opts.lock === true) query = query.forUpdate();
  const run = await query.executeTakeFirst();
  if (run === undefined) throw runNotFound();
  return run;
}

/** A run by id alone, locked: for the system, which knows the org and run but no project. */
export function lockRunById(trx: Executor, orgId: string, runId: string) {
  return trx
    .selectFrom('test_runs')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('id', '=', runId)
    .forUpdate()
    .executeTakeFirst();
}

/** Claims an Idempotency-Key; a concurrent request with the same key waits until the first commits. */
export async function claimIdempotencyKey(
  trx: Executor,
  orgId: string,
  projectId: string,
  key: string,
): Promise<{ claimed: true } | { claimed: false; response: unknown }> {
  const claimed = await trx
    .insertInto('idempotency_keys')
    .values({ org_id: orgId, project_id: projectId, key })
    .onConflict((oc) => oc.doNothing())
    .returning('key')
    .executeTakeFirst();
  if (claimed !== undefined) return { claimed: true };
  const prior = await trx
    .selectFrom('idempotency_keys')
    .select('response')
    .where('org_id', '=', orgId)
    .where('project_id', '=', projectId)
    .where('key', '=', key)
    .executeTakeFirstOrThrow();
  return { claimed: false, response: prior.response };
}

export async function storeIdempotentResponse(
  trx: Executor,
  orgId: string,
  projectId: string,
  key: string,
  response: unknown,
): Promise<void> {
  await trx
    .updateTable('idempotency_keys')
    .set({ status: 201, response: JSON.stringify(response) })
    .where('org_id', '=', orgId)
    .where('project_id', '=', projectId)
    .where('key', '=', key)
    .execute();
}

export async function insertRunFile(
  trx: Executor,
  orgId: string,
  file: { id: string; runId: string; filename: string },
): Promise<void> {
  await trx
    .insertInto('run_files')
    .values({
      org_id: orgId,
      id: file.id,
      run_id: file.runId,
      filename: file.filename,
      bytes: 0,
      tests: 0,
    })
    .execute();
}

export async function finishRunFile(
  trx: Executor,
  orgId: string,
  fileId: string,
  done: { bytes: number; tests: number },
): Promise<void> {
  await trx
    .updateTable('run_files')
    .set(done)
    .where('org_id', '=', orgId)
    .where('id', '=', fileId)
    .execute();
}

export function listRuns(
  trx: Executor,
  orgId: string,
  projectId: string,
  q: {
    limit: number;
    after: string | undefined;
    branch?: string | undefined;
    commit?: string | undefined;
    issue?: number | undefined;
  },
) {
  let query = trx
    .selectFrom('test_runs')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('project_id', '=', projectId)
    .orderBy('id', 'desc')
    .limit(q.limit + 1);
  if (q.after !== undefined) query = query.where('id', '<', q.after);
  if (q.branch !== undefined) query = query.where('branch', '=', q.branch);
  if (q.commit !== undefined) query = query.where('commit_sha', '=', q.commit);
  if (q.issue !== undefined) query = query.where('issue_number', '=', q.issue);
  return query.execute();
}

export function filesOfRun(trx: Executor, orgId: string, runId: string) {
  return trx
    .selectFrom('run_files')
    .select(['id', 'filename', 'bytes', 'tests', 'created_at'])
    .where('org_id', '=', orgId)
    .where('run_id', '=', runId)
    .orderBy('id')
    .execute();
}

/** The project a run belongs to, with what judging its gates needs. */
export function projectOfRun(trx: Executor, orgId: string, projectId: string) {
  return trx
    .selectFrom('projects')
    .select(['id', 'key', 'default_branch'])
    .where('org_id', '=', orgId)
    .where('id', '=', projectId)
    .executeTakeFirstOrThrow();
}
