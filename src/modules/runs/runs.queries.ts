import { hash } from 'node:crypto';
import { sql, type CompiledQuery } from 'kysely';
import type { TestCase, Totals } from '../../domain/junit.ts';
import { signatureOf } from '../../domain/triage.ts';
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

/** A plain result: passed or skipped, nothing captured. Most rows of a large run are plain. */
const isPlain = (c: TestCase) =>
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

/**
 * Suite and class names repeat across a batch: each is sent once, and rows carry its
 * position, which cuts the text PostgreSQL parses per row.
 */
function dictionary(cases: TestCase[], field: 'suitePath' | 'classname') {
  const index = new Map<string, number>();
  const values: string[] = [];
  for (const c of cases) if (!index.has(c[field])) index.set(c[field], values.push(c[field]));
  return { values, position: (c: TestCase) => index.get(c[field])! };
}

/**
 * The statement that inserts a batch of testcases, in file order (built, not run, so the
 * next batch can be prepared while the previous one is written): one array parameter per
 * column, unnested server-side (COPY is not allowed under row-level security). Plain
 * results — most rows of a large run — travel in six narrow arrays; only results with
 * failures, output, reruns or properties carry the wide ones.
 */
export function resultsInsert(
  trx: Executor,
  ids: { orgId: string; runId: string; projectId: string; fileId: string },
  cases: TestCase[],
): CompiledQuery {
  const plain: number[] = [];
  const rich: number[] = [];
  cases.forEach((c, i) => (isPlain(c) ? plain : rich).push(i));
  const suites = dictionary(cases, 'suitePath');
  const classes = dictionary(cases, 'classname');
  const col = <T>(rows: number[], f: (tc: TestCase) => T) => rows.map((i) => f(cases[i]!));
  const json = (v: unknown) => (v === null ? null : JSON.stringify(v));
  const common = (rows: number[]) => sql`${rows}::int[], ${col(rows, suites.position)}::int[],
    ${col(rows, classes.position)}::int[], ${col(rows, (c) => c.name)}::text[],
    ${col(rows, (c) => testKey(ids.projectId, c))}::text[], ${col(rows, (c) => c.durationMs)}::float8[]`;
  return sql`
    INSERT INTO test_results (org_id, run_id, project_id, file_id, suite, classname, name, test_key, status,
      duration_ms, failure_type, failure_message, failure_text, system_out, system_err, truncated, flaky, reruns, properties, signature)
    SELECT ${ids.orgId}::uuid, ${ids.runId}::uuid, ${ids.projectId}::uuid, ${ids.fileId}::uuid,
      (${suites.values}::text[])[u.suite], (${classes.values}::text[])[u.classname], u.name, decode(u.test_key, 'hex'),
      u.status, u.duration_ms, u.failure_type, u.failure_message, u.failure_text, u.system_out, u.system_err,
      u.truncated, u.flaky, u.reruns::jsonb, u.properties::jsonb, u.signature
    FROM (
      SELECT p.*, CASE WHEN p.skipped THEN 'skipped' ELSE 'passed' END AS status, NULL AS failure_type,
        NULL AS failure_message, NULL AS failure_text, NULL AS system_out, NULL AS system_err,
        false AS truncated, false AS flaky, NULL AS reruns, NULL AS properties, NULL AS signature
      FROM unnest(${common(plain)}, ${col(plain, (c) => c.status === 'skipped')}::bool[])
        AS p(ord, suite, classname, name, test_key, duration_ms, skipped)
      UNION ALL
      SELECT r.ord, r.suite, r.classname, r.name, r.test_key, r.duration_ms, false, r.status, r.failure_type,
        r.failure_message, r.failure_text, r.system_out, r.system_err, r.truncated, r.flaky, r.reruns,
        r.properties, r.signature
      FROM unnest(${common(rich)}, ${col(rich, (c) => c.status)}::text[],
        ${col(rich, (c) => c.failureType)}::text[], ${col(rich, (c) => c.failureMessage)}::text[],
        ${col(rich, (c) => c.failureText)}::text[], ${col(rich, (c) => c.systemOut)}::text[],
        ${col(rich, (c) => c.systemErr)}::text[], ${col(rich, (c) => c.truncated)}::bool[],
        ${col(rich, (c) => c.flaky)}::bool[], ${col(rich, (c) => (c.reruns.length > 0 ? json(c.reruns) : null))}::text[],
        ${col(rich, (c) => (Object.keys(c.properties).length > 0 ? json(c.properties) : null))}::text[],
        ${col(rich, (c) => (c.status === 'failed' || c.status === 'error' ? signatureOf({ type: c.failureType, message: c.failureMessage, text: c.failureText }) : null))}::text[])
        AS r(ord, suite, classname, name, test_key, duration_ms, status, failure_type, failure_message,
             failure_text, system_out, system_err, truncated, flaky, reruns, properties, signature)
    ) AS u
    ORDER BY u.ord`.compile(trx);
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
  if (run === undefined) throw new NotFound('Run not found');
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

export function resultsOfRun(
  trx: Executor,
  orgId: string,
  runId: string,
  q: { limit: number; after: string | undefined; status?: string | undefined },
) {
  let query = trx
    .selectFrom('test_results')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('run_id', '=', runId)
    .orderBy('id')
    .limit(q.limit + 1);
  if (q.status !== undefined) query = query.where('status', '=', q.status);
  if (q.after !== undefined) query = query.where('id', '>', q.after);
  return query.execute();
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
