import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import type { DB, TestRunsTable } from '../../db/types.ts';
import { DEFAULT_CONFIG, type QualityConfig } from '../../domain/quality.ts';
import type { Failure, Observation } from '../../domain/triage.ts';

type Executor = Kysely<DB> | Transaction<DB>;
export type Run = Selectable<TestRunsTable>;

export async function loadQualityConfig(
  db: Executor,
  orgId: string,
  projectId: string,
): Promise<{ config: QualityConfig; custom: boolean; version: number }> {
  const row = await db
    .selectFrom('quality_configs')
    .select(['config', 'version'])
    .where('org_id', '=', orgId)
    .where('project_id', '=', projectId)
    .executeTakeFirst();
  return row === undefined
    ? { config: DEFAULT_CONFIG, custom: false, version: 0 }
    : { config: row.config as QualityConfig, custom: true, version: row.version };
}

export function latestRunOfIssue(
  db: Executor,
  orgId: string,
  projectId: string,
  issueNumber: number,
) {
  return db
    .selectFrom('test_runs')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('project_id', '=', projectId)
    .where('issue_number', '=', issueNumber)
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
}

/** Failed and errored testcases of a run (the partial index covers them). */
export async function failuresOf(db: Executor, orgId: string, runId: string): Promise<Failure[]> {
  const rows = await db
    .selectFrom('test_results')
    .select([
      'id',
      'test_key',
      'classname',
      'name',
      'failure_type',
      'failure_message',
      'failure_text',
    ])
    .where('org_id', '=', orgId)
    .where('run_id', '=', runId)
    .where('status', 'in', ['failed', 'error'])
    .orderBy('id')
    .execute();
  return rows.map((r) => ({
    id: String(r.id),
    testKey: r.test_key.toString('hex'),
    classname: r.classname,
    name: r.name,
    type: r.failure_type,
    message: r.failure_message,
    text: r.failure_text,
  }));
}

/**
 * One commit's results that matter for flakiness: every non-passing or rerun-marked result
 * across the commit's runs, plus the passing results of those same tests.
 */
export async function commitObservations(
  db: Executor,
  orgId: string,
  run: Run,
): Promise<Observation[]> {
  if (run.commit_sha === null) {
    const marked = await db
      .selectFrom('test_results')
      .select(['test_key', 'run_id', 'status', 'flaky'])
      .where('org_id', '=', orgId)
      .where('run_id', '=', run.id)
      .where('flaky', '=', true)
      .execute();
    return marked.map((r) => ({
      testKey: r.test_key.toString('hex'),
      runId: r.run_id,
      status: r.status as Observation['status'],
      flakyMarker: r.flaky,
    }));
  }
  const { rows } = await sql<{ test_key: Buffer; run_id: string; status: string; flaky: boolean }>`
    WITH runs AS (
      SELECT id FROM test_runs WHERE org_id = ${orgId} AND project_id = ${run.project_id} AND commit_sha = ${run.commit_sha}
    ), suspects AS (
      SELECT DISTINCT r.test_key FROM test_results r
      WHERE r.org_id = ${orgId} AND r.run_id IN (SELECT id FROM runs) AND (r.status IN ('failed', 'error') OR r.flaky)
    )
    SELECT r.test_key, r.run_id, r.status, r.flaky FROM test_results r
    WHERE r.org_id = ${orgId} AND r.run_id IN (SELECT id FROM runs) AND r.test_key IN (SELECT test_key FROM suspects)`.execute(
    db,
  );
  return rows.map((r) => ({
    testKey: r.test_key.toString('hex'),
    runId: r.run_id,
    status: r.status as Observation['status'],
    flakyMarker: r.flaky,
  }));
}

/** The run to compare with: the previous run of the same branch, else the latest on the default branch. */
export async function baselineRun(db: Executor, orgId: string, run: Run, defaultBranch: string) {
  const before = db
    .selectFrom('test_runs')
    .select(['id', 'branch', 'commit_sha'])
    .where('org_id', '=', orgId)
    .where('project_id', '=', run.project_id)
    .where('id', '<', run.id)
    .orderBy('id', 'desc')
    .limit(1);
  if (run.branch !== null) {
    const same = await before.where('branch', '=', run.branch).executeTakeFirst();
    if (same !== undefined) return same;
  }
  return before.where('branch', '=', defaultBranch).executeTakeFirst();
}

export async function statusesIn(
  db: Executor,
  orgId: string,
  runId: string,
  keys: string[],
): Promise<Map<string, string>> {
  if (keys.length === 0) return new Map();
  const rows = await db
    .selectFrom('test_results')
    .select(['test_key', 'status'])
    .where('org_id', '=', orgId)
    .where('run_id', '=', runId)
    .where(sql<boolean>`test_key = ANY(${keys.map((k) => Buffer.from(k, 'hex'))}::bytea[])`)
    .execute();
  return new Map(rows.map((r) => [r.test_key.toString('hex'), r.status]));
}

export async function firstSeenRuns(
  db: Executor,
  orgId: string,
  projectId: string,
  signatures: string[],
): Promise<Map<string, string>> {
  if (signatures.length === 0) return new Map();
  const rows = await db
    .selectFrom('test_results')
    .select(['signature', sql<string>`min(run_id::text)`.as('run_id')])
    .where('org_id', '=', orgId)
    .where('project_id', '=', projectId)
    .where('signature', 'in', signatures)
    .groupBy('signature')
    .execute();
  return new Map(rows.map((r) => [r.signature!, r.run_id]));
}
