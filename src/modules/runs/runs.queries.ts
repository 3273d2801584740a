import { hash } from 'node:crypto';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { TestCase, Totals } from '../../domain/junit.ts';
import { signatureOf } from '../../domain/triage.ts';
import type { DB } from '../../db/types.ts';
import { NotFound } from '../../errors.ts';

type Executor = Kysely<DB> | Transaction<DB>;

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

/**
 * Inserts a batch of testcases in one statement: one array parameter per column, unnested
 * server-side (COPY is not allowed under row-level security; this is as fast here).
 */
export async function insertResults(
  trx: Executor,
  ids: { orgId: string; runId: string; projectId: string; fileId: string },
  cases: TestCase[],
): Promise<void> {
  if (cases.length === 0) return;
  const col = <T>(f: (tc: TestCase) => T) => cases.map(f);
  const json = (v: unknown) => (v === null ? null : JSON.stringify(v));
  await sql`
    INSERT INTO test_results (org_id, run_id, project_id, file_id, suite, classname, name, test_key, status,
      duration_ms, failure_type, failure_message, failure_text, system_out, system_err, truncated, flaky, reruns, properties, signature)
    SELECT ${ids.orgId}::uuid, ${ids.runId}::uuid, ${ids.projectId}::uuid, ${ids.fileId}::uuid,
      u.suite, u.classname, u.name, decode(u.test_key, 'hex'), u.status, u.duration_ms, u.failure_type,
      u.failure_message, u.failure_text, u.system_out, u.system_err, u.truncated, u.flaky, u.reruns::jsonb, u.properties::jsonb,
      u.signature
    FROM unnest(
      ${col((c) => c.suitePath)}::text[], ${col((c) => c.classname)}::text[], ${col((c) => c.name)}::text[],
      ${col((c) => testKey(ids.projectId, c))}::text[], ${col((c) => c.status)}::text[], ${col((c) => c.durationMs)}::float8[],
      ${col((c) => c.failureType)}::text[], ${col((c) => c.failureMessage)}::text[], ${col((c) => c.failureText)}::text[],
      ${col((c) => c.systemOut)}::text[], ${col((c) => c.systemErr)}::text[], ${col((c) => c.truncated)}::bool[],
      ${col((c) => c.flaky)}::bool[], ${col((c) => (c.reruns.length > 0 ? json(c.reruns) : null))}::text[],
      ${col((c) => (Object.keys(c.properties).length > 0 ? json(c.properties) : null))}::text[],
      ${col((c) => (c.status === 'failed' || c.status === 'error' ? signatureOf({ type: c.failureType, message: c.failureMessage, text: c.failureText }) : null))}::text[]
    ) AS u(suite, classname, name, test_key, status, duration_ms, failure_type, failure_message, failure_text,
           system_out, system_err, truncated, flaky, reruns, properties, signature)`.execute(trx);
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
