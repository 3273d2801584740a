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
}

/** Uploads with the same project + build + attempt join one run; the row stays locked until commit. */
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

export function addToRun(trx: Executor, orgId: string, runId: string, t: Totals, files: number) {
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
      files: eb('files', '+', files),
      updated_at: sql<Date>`now()`,
    }))
    .where('org_id', '=', orgId)
    .where('id', '=', runId)
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** The project's run or a 404 (another project's or org's run looks exactly like a missing one). */
export async function requireRun(trx: Executor, orgId: string, projectId: string, runId: string) {
  const run = await trx
    .selectFrom('test_runs')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('project_id', '=', projectId)
    .where('id', '=', runId)
    .executeTakeFirst();
  if (run === undefined) throw new NotFound('Run not found');
  return run;
}
