import { sql, type Insertable, type Selectable } from 'kysely';
import type { Executor } from '../../db/executor.ts';
import type { GateStateChangesTable, TestRunsTable } from '../../db/types.ts';
import type { WaitingActivity } from '../../domain/gate-activity-cycle.ts';
import type { IssueReport } from '../../domain/gate-report.ts';
import { DEFAULT_CONFIG, type QualityConfig, type RiskSeverity } from '../../domain/quality.ts';
import type { ScheduleActivity } from '../../domain/schedule.ts';
import type { Failure, Observation } from '../../domain/triage.ts';
import type { PhasedIssue } from '../issues/phase.ts';
import { BLOCK, FLAKY, resultId, statusOfCode } from '../runs/run-blocks.ts';
import { ordsOf, probingKeys, testsByKeyStatement, testsByOrd } from '../runs/runs.queries.ts';

export type Run = Selectable<TestRunsTable>;

// Every query here is set-based: re-evaluating a thousand issues costs a handful of
// statements, not a handful per issue.

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

/** Stores a project's configuration (a new version when one exists); returns the version. */
export async function saveQualityConfig(
  db: Executor,
  orgId: string,
  projectId: string,
  config: QualityConfig,
  by: string,
  now: Date,
): Promise<number> {
  const row = await db
    .insertInto('quality_configs')
    .values({
      org_id: orgId,
      project_id: projectId,
      config: JSON.stringify(config),
      updated_by: by,
      updated_at: now,
    })
    .onConflict((oc) =>
      oc.columns(['org_id', 'project_id']).doUpdateSet((eb) => ({
        config: JSON.stringify(config),
        version: eb('quality_configs.version', '+', 1),
        updated_by: by,
        updated_at: now,
      })),
    )
    .returning('version')
    .executeTakeFirstOrThrow();
  return row.version;
}

/** Each issue's latest complete run: the one its gates are judged on. */
export async function latestRunsOfIssues(
  db: Executor,
  orgId: string,
  projectId: string,
  numbers: number[],
): Promise<Map<number, Run>> {
  if (numbers.length === 0) return new Map();
  const rows = await db
    .selectFrom('test_runs')
    .selectAll()
    .distinctOn('issue_number')
    .where('org_id', '=', orgId)
    .where('project_id', '=', projectId)
    .where('issue_number', 'in', numbers)
    .where('status', '=', 'complete')
    .orderBy('issue_number')
    .orderBy('id', 'desc')
    .execute();
  return new Map(rows.map((r) => [r.issue_number!, r]));
}

/** The run's blocks holding the given block numbers, keyed "run:block". */
async function blocksOf(db: Executor, orgId: string, runIds: string[], blocks: number[]) {
  const out = new Map<string, Buffer>();
  if (runIds.length === 0 || blocks.length === 0) return out;
  const { rows } = await sql<{ run_id: string; block: number; statuses: Buffer }>`
    SELECT run_id, block, statuses FROM run_blocks
    WHERE org_id = ${orgId} AND run_id = ANY(${runIds}::uuid[]) AND block = ANY(${blocks}::int[])`.execute(
    db,
  );
  for (const r of rows) out.set(`${r.run_id}:${r.block}`, r.statuses);
  return out;
}

/** The status code of a test (by ord) in a run, from its blocks; 0 when absent. */
const codeIn = (blocks: Map<string, Buffer>, runId: string, ord: number) =>
  blocks.get(`${runId}:${Math.floor(ord / BLOCK)}`)?.[ord % BLOCK] ?? 0;

/** Failed and errored testcases of the runs (all detail rows, by the partial index), by run,
 *  in the order they came. Statements are index lookups whatever the tables' statistics. */
export async function failuresOfRuns(
  db: Executor,
  orgId: string,
  runIds: string[],
): Promise<Map<string, Failure[]>> {
  const out = new Map<string, Failure[]>(runIds.map((id) => [id, []]));
  if (runIds.length === 0) return out;
  const rows = await db
    .selectFrom('result_details')
    .select([
      'run_id',
      'project_id',
      'ord',
      'seq',
      'duplicate',
      'status',
      'failure_type',
      'failure_message',
      'failure_text',
    ])
    .where('org_id', '=', orgId)
    .where(sql<boolean>`run_id = ANY(${runIds}::uuid[])`)
    .where('status', 'in', ['failed', 'error'])
    .orderBy('run_id')
    .orderBy('seq')
    .execute();
  const tests = new Map<string, Awaited<ReturnType<typeof testsByOrd>>>();
  for (const projectId of new Set(rows.map((r) => r.project_id)))
    tests.set(
      projectId,
      await testsByOrd(db, orgId, projectId, [
        ...new Set(rows.filter((r) => r.project_id === projectId).map((r) => r.ord)),
      ]),
    );
  for (const r of rows) {
    const test = tests.get(r.project_id)!.get(r.ord)!;
    const failure = {
      id: resultId(r.ord, r.seq, r.duplicate),
      testKey: test.test_key.toString('hex'),
      classname: test.classname,
      name: test.name,
      type: r.failure_type,
      message: r.failure_message,
      text: r.failure_text,
      status: r.status as 'failed' | 'error',
    };
    out.get(r.run_id)!.push(failure);
  }
  return out;
}

/**
 * What flakiness is judged on, per commit (and per run for runs without a commit): every
 * non-passing or rerun-marked result of the commit's runs, plus the other results of
 * those same tests in those runs. Of the commit's other runs only complete ones count; the
 * runs asked about count whatever their state.
 */
export async function observationsFor(
  db: Executor,
  orgId: string,
  projectId: string,
  runs: Run[],
): Promise<{ byCommit: Map<string, Observation[]>; byRun: Map<string, Observation[]> }> {
  const byCommit = new Map<string, Observation[]>();
  const byRun = new Map<string, Observation[]>();
  const commits = [
    ...new Set(runs.map((r) => r.commit_sha).filter((c): c is string => c !== null)),
  ];
  const loose = runs.filter((r) => r.commit_sha === null).map((r) => r.id);
  const asked = runs.map((r) => r.id);
  const obs = (r: {
    test_key: Buffer;
    run_id: string;
    status: string;
    flaky: boolean;
    classname: string;
    name: string;
  }): Observation => ({
    label: `${r.classname}.${r.name}`,
    testKey: r.test_key.toString('hex'),
    runId: r.run_id,
    status: r.status as Observation['status'],
    flakyMarker: r.flaky,
  });
  if (commits.length > 0) {
    // Suspects come from detail rows (every failure and flaky mark has one); each suspect's
    // first occurrence in a run from its block, its repeats from detail rows again. Each
    // step is an index lookup, whatever the tables' statistics.
    const { rows: runRows } = await sql<{ id: string; commit_sha: string }>`
      SELECT id, commit_sha FROM test_runs
      WHERE org_id = ${orgId} AND project_id = ${projectId} AND commit_sha = ANY(${commits}::text[])
        AND (status = 'complete' OR id = ANY(${asked}::uuid[]))
      ORDER BY id`.execute(db);
    const commitOf = new Map(runRows.map((r) => [r.id, r.commit_sha]));
    const runIds = runRows.map((r) => r.id);
    const flagged =
      runIds.length === 0
        ? []
        : await db
            .selectFrom('result_details')
            .select(['run_id', 'ord'])
            .where('org_id', '=', orgId)
            .where(sql<boolean>`run_id = ANY(${runIds}::uuid[])`)
            .where((eb) => eb.or([eb('status', 'in', ['failed', 'error']), eb('flaky', '=', true)]))
            .execute();
    const suspects = new Map<string, Set<number>>();
    for (const f of flagged) {
      const commit = commitOf.get(f.run_id)!;
      const set = suspects.get(commit) ?? new Set<number>();
      set.add(f.ord);
      suspects.set(commit, set);
    }
    const ords = [...new Set(flagged.map((f) => f.ord))].sort((a, b) => a - b);
    if (ords.length > 0) {
      const blocks = await blocksOf(db, orgId, runIds, [
        ...new Set(ords.map((o) => Math.floor(o / BLOCK))),
      ]);
      const repeats = await db
        .selectFrom('result_details')
        .select(['run_id', 'ord', 'status', 'flaky'])
        .where('org_id', '=', orgId)
        .where(sql<boolean>`run_id = ANY(${runIds}::uuid[])`)
        .where('duplicate', '=', true)
        .where(sql<boolean>`ord = ANY(${ords}::int[])`)
        .orderBy('run_id')
        .orderBy('seq')
        .execute();
      const tests = await testsByOrd(db, orgId, projectId, ords);
      const add = (commit: string, ord: number, runId: string, status: string, flaky: boolean) => {
        const test = tests.get(ord)!;
        const list = byCommit.get(commit) ?? [];
        list.push(obs({ ...test, run_id: runId, status, flaky }));
        byCommit.set(commit, list);
      };
      for (const runId of runIds) {
        const commit = commitOf.get(runId)!;
        for (const ord of [...(suspects.get(commit) ?? [])].sort((a, b) => a - b)) {
          const code = codeIn(blocks, runId, ord);
          const status = statusOfCode(code);
          if (status !== undefined) add(commit, ord, runId, status, (code & FLAKY) !== 0);
        }
      }
      for (const r of repeats) {
        const commit = commitOf.get(r.run_id)!;
        if (suspects.get(commit)?.has(r.ord) === true)
          add(commit, r.ord, r.run_id, r.status, r.flaky);
      }
    }
  }
  if (loose.length > 0) {
    const rows = await db
      .selectFrom('result_details')
      .select(['run_id', 'ord', 'status', 'flaky'])
      .where('org_id', '=', orgId)
      .where(sql<boolean>`run_id = ANY(${loose}::uuid[])`)
      .where('flaky', '=', true)
      .orderBy('run_id')
      .orderBy('seq')
      .execute();
    const tests = await testsByOrd(db, orgId, projectId, [...new Set(rows.map((r) => r.ord))]);
    for (const r of rows) {
      const list = byRun.get(r.run_id) ?? [];
      list.push(obs({ ...tests.get(r.ord)!, ...r }));
      byRun.set(r.run_id, list);
    }
  }
  return { byCommit, byRun };
}

/**
 * Each run's baseline: the previous complete run of its branch, else the latest earlier
 * complete run of the default branch.
 */
export async function baselinesOf(
  db: Executor,
  orgId: string,
  projectId: string,
  runIds: string[],
  defaultBranch: string,
): Promise<Map<string, string>> {
  if (runIds.length === 0) return new Map();
  const { rows } = await sql<{ id: string; baseline: string | null }>`
    SELECT r.id, coalesce(
      (SELECT b.id FROM test_runs b WHERE b.org_id = r.org_id AND b.project_id = r.project_id
         AND b.branch = r.branch AND b.status = 'complete' AND b.id < r.id ORDER BY b.id DESC LIMIT 1),
      (SELECT b.id FROM test_runs b WHERE b.org_id = r.org_id AND b.project_id = r.project_id
         AND b.branch = ${defaultBranch} AND b.status = 'complete' AND b.id < r.id ORDER BY b.id DESC LIMIT 1)) AS baseline
    FROM test_runs r
    WHERE r.org_id = ${orgId} AND r.project_id = ${projectId} AND r.id = ANY(${runIds}::uuid[])`.execute(
    db,
  );
  return new Map(rows.filter((r) => r.baseline !== null).map((r) => [r.id, r.baseline!]));
}

/** Statuses of the given tests in the given runs (their first occurrence), keyed "run:testKey". */
export async function statusesIn(
  db: Executor,
  orgId: string,
  runIds: string[],
  keys: string[],
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (runIds.length === 0 || keys.length === 0) return out;
  const { rows: runs } = await sql<{ id: string; project_id: string }>`
    SELECT id, project_id FROM test_runs WHERE org_id = ${orgId} AND id = ANY(${runIds}::uuid[])`.execute(
    db,
  );
  for (const projectId of new Set(runs.map((r) => r.project_id))) {
    const ords = await ordsOf(db, orgId, projectId, keys);
    const ofProject = runs.filter((r) => r.project_id === projectId).map((r) => r.id);
    const blocks = await blocksOf(db, orgId, ofProject, [
      ...new Set([...ords.values()].map((o) => Math.floor(o / BLOCK))),
    ]);
    for (const runId of ofProject)
      for (const [key, ord] of ords) {
        const status = statusOfCode(codeIn(blocks, runId, ord));
        if (status !== undefined) out.set(`${runId}:${key}`, status);
      }
  }
  return out;
}

export async function latestReviews(db: Executor, orgId: string, issueIds: string[]) {
  if (issueIds.length === 0) return new Map<string, { verdict: string; conditions: unknown }>();
  const rows = await db
    .selectFrom('reviews')
    .select(['issue_id', 'verdict', 'conditions'])
    .distinctOn('issue_id')
    .where('org_id', '=', orgId)
    .where('issue_id', 'in', issueIds)
    .orderBy('issue_id')
    .orderBy('id', 'desc')
    .execute();
  return new Map(rows.map((r) => [r.issue_id, r]));
}

export async function firstSeenRuns(
  db: Executor,
  orgId: string,
  projectId: string,
  signatures: string[],
): Promise<Map<string, string>> {
  if (signatures.length === 0) return new Map();
  const rows = await db
    .selectFrom('result_details')
    .select(['signature', sql<string>`min(run_id::text)`.as('run_id')])
    .where('org_id', '=', orgId)
    .where('project_id', '=', projectId)
    .where('signature', 'in', signatures)
    .groupBy('signature')
    .execute();
  return new Map(rows.map((r) => [r.signature!, r.run_id]));
}

/** Names of a run's tests by test key, for the given keys (names are the project's, once). */
export async function testNamesInRun(
  db: Executor,
  orgId: string,
  projectId: string,
  _runId: string,
  keys: string[],
): Promise<Map<string, { classname: string; name: string }>> {
  const names = new Map<string, { classname: string; name: string }>();
  if (keys.length === 0) return names;
  const { rows } = await probingKeys(db, () =>
    testsByKeyStatement(orgId, projectId, keys).execute(db),
  );
  for (const r of rows)
    names.set(r.test_key.toString('hex'), { classname: r.classname, name: r.name });
  return names;
}

/** Manual criterion checks of the issues, by issue. */
export async function criterionChecks(db: Executor, orgId: string, issueIds: string[]) {
  const out = new Map<string, { criterion: string; checked: boolean; by: string; at: Date }[]>();
  if (issueIds.length === 0) return out;
  const rows = await db
    .selectFrom('criterion_checks')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('issue_id', 'in', issueIds)
    .execute();
  for (const r of rows) {
    const list = out.get(r.issue_id) ?? [];
    list.push({
      criterion: r.criterion_key,
      checked: r.checked,
      by: r.checked_by,
      at: r.checked_at,
    });
    out.set(r.issue_id, list);
  }
  return out;
}

/** The issues' stored reports, locked until the transaction ends (one re-evaluation at a time). */
export async function lockStoredReports(
  db: Executor,
  orgId: string,
  issueIds: string[],
): Promise<Map<string, IssueReport>> {
  if (issueIds.length === 0) return new Map();
  const rows = await db
    .selectFrom('gate_reports')
    .select(['issue_id', 'report'])
    .where('org_id', '=', orgId)
    .where('issue_id', 'in', issueIds)
    .forUpdate()
    .execute();
  return new Map(rows.map((r) => [r.issue_id, r.report as IssueReport]));
}

export async function storedReport(
  db: Executor,
  orgId: string,
  issueId: string,
): Promise<IssueReport | undefined> {
  const row = await db
    .selectFrom('gate_reports')
    .select('report')
    .where('org_id', '=', orgId)
    .where('issue_id', '=', issueId)
    .executeTakeFirst();
  return row?.report as IssueReport | undefined;
}

/** Stores (or replaces) the issues' reports. */
export async function storeReports(
  db: Executor,
  orgId: string,
  reports: { issueId: string; report: IssueReport }[],
  now: Date,
): Promise<void> {
  const rows = reports.map((r) => ({
    org_id: orgId,
    issue_id: r.issueId,
    run_id: r.report.runId,
    report: JSON.stringify(r.report),
    evaluated_at: now,
  }));
  for (let i = 0; i < rows.length; i += 1000) {
    await db
      .insertInto('gate_reports')
      .values(rows.slice(i, i + 1000))
      .onConflict((oc) =>
        oc.columns(['org_id', 'issue_id']).doUpdateSet({
          run_id: sql`excluded.run_id`,
          report: sql`excluded.report`,
          evaluated_at: sql`excluded.evaluated_at`,
        }),
      )
      .execute();
  }
}

export async function insertStateChanges(
  db: Executor,
  rows: Insertable<GateStateChangesTable>[],
): Promise<void> {
  for (let i = 0; i < rows.length; i += 1000)
    await db
      .insertInto('gate_state_changes')
      .values(rows.slice(i, i + 1000))
      .execute();
}

/** What an issue's coordination gates read: its activities, open escalations, open risks. */
export interface CoordinationRows {
  activities: ScheduleActivity[];
  openEscalations: number;
  openRisks: { severity: RiskSeverity; count: number }[];
}

/**
 * The issues' activities (as the schedule sees them), escalations not yet resolved and
 * open risks by severity, by issue: three statements whatever the number of issues.
 */
export async function coordinationOfIssues(
  db: Executor,
  orgId: string,
  issueIds: string[],
): Promise<Map<string, CoordinationRows>> {
  const out = new Map<string, CoordinationRows>(
    issueIds.map((id) => [id, { activities: [], openEscalations: 0, openRisks: [] }]),
  );
  if (issueIds.length === 0) return out;
  const activities = await db
    .selectFrom('activities')
    .select([
      'issue_id',
      'key',
      'status',
      'min_days',
      'max_days',
      'likely_days',
      'depends_on',
      'started_at',
      'done_at',
    ])
    .where('org_id', '=', orgId)
    .where('issue_id', 'in', issueIds)
    .orderBy('issue_id')
    .orderBy('position')
    .orderBy('id')
    .execute();
  for (const a of activities)
    out.get(a.issue_id)!.activities.push({
      key: a.key,
      status: a.status,
      minDays: a.min_days,
      maxDays: a.max_days,
      likelyDays: a.likely_days,
      dependsOn: a.depends_on,
      startedAt: a.started_at,
      doneAt: a.done_at,
    });
  const escalations = await db
    .selectFrom('escalations')
    .select(['issue_id', sql<number>`count(*)::int`.as('open')])
    .where('org_id', '=', orgId)
    .where('issue_id', 'in', issueIds)
    .where('status', '<>', 'resolved')
    .groupBy('issue_id')
    .execute();
  for (const e of escalations) out.get(e.issue_id)!.openEscalations = e.open;
  const risks = await db
    .selectFrom('risks')
    .select(['issue_id', 'severity', sql<number>`count(*)::int`.as('count')])
    .where('org_id', '=', orgId)
    .where('issue_id', 'in', issueIds)
    .where('status', '=', 'open')
    .groupBy(['issue_id', 'severity'])
    .execute();
  for (const r of risks)
    out.get(r.issue_id)!.openRisks.push({ severity: r.severity, count: r.count });
  return out;
}

/** Every activity of the project's issues as the wait graph sees it, by issue number. */
export async function waitingActivitiesOfProject(
  db: Executor,
  orgId: string,
  projectId: string,
): Promise<Map<number, WaitingActivity[]>> {
  const rows = await db
    .selectFrom('activities as a')
    .innerJoin('tracked_issues as i', (j) =>
      j.onRef('i.org_id', '=', 'a.org_id').onRef('i.id', '=', 'a.issue_id'),
    )
    .select(['i.number', 'a.key', 'a.depends_on', 'a.gates'])
    .where('a.org_id', '=', orgId)
    .where('i.project_id', '=', projectId)
    .orderBy('i.number')
    .orderBy('a.position')
    .orderBy('a.id')
    .execute();
  const out = new Map<number, WaitingActivity[]>();
  for (const r of rows) {
    const list = out.get(r.number) ?? [];
    list.push({ key: r.key, dependsOn: r.depends_on, gates: r.gates });
    out.set(r.number, list);
  }
  return out;
}

/** The issues' phases, for the moves their gates cause. */
export async function phasesOfIssues(
  db: Executor,
  orgId: string,
  issueIds: string[],
): Promise<Map<string, PhasedIssue>> {
  if (issueIds.length === 0) return new Map();
  const rows = await db
    .selectFrom('tracked_issues')
    .select(['id', 'number', 'phase', 'phase_before'])
    .where('org_id', '=', orgId)
    .where('id', 'in', issueIds)
    .execute();
  return new Map(rows.map((r) => [r.id, r]));
}
