import { sql, type Insertable, type Transaction } from 'kysely';
import { uuidv7 } from 'uuidv7';
import type { DB, GateStateChangesTable } from '../../db/types.ts';
import { evaluateGates, type GateFacts, type GateReport } from '../../domain/gates.ts';
import type { QualityConfig } from '../../domain/quality.ts';
import {
  compareWithBaseline,
  createCategorizer,
  findFlaky,
  triage,
  type CategoryGroup,
  type FlakyTest,
} from '../../domain/triage.ts';
import {
  baselinesOf,
  failuresOfRuns,
  latestReviews,
  latestRunsOfIssues,
  loadQualityConfig,
  observationsFor,
  statusesIn,
  type Run,
} from './gates.queries.ts';

type Tx = Transaction<DB>;

export interface IssueRef {
  id: string;
  number: number;
}

export interface ProjectRef {
  id: string;
  default_branch: string;
}

export interface RunAnalysis {
  groups: CategoryGroup[];
  flaky: FlakyTest[];
  regressions: {
    baselineRunId: string | null;
    newFailures: string[];
    stillFailing: string[];
    byCategory: Record<string, number>;
  };
  failures: number;
}

/** Categorized failures, flaky tests and regressions of runs: the facts gates are judged on. */
export async function analyzeRuns(
  trx: Tx,
  orgId: string,
  project: ProjectRef,
  runs: Run[],
  config: QualityConfig,
): Promise<Map<string, RunAnalysis>> {
  const categorize = createCategorizer(config);
  const ids = runs.map((r) => r.id);
  const failures = await failuresOfRuns(trx, orgId, ids);
  const observations = await observationsFor(trx, orgId, project.id, runs);
  const baselines = await baselinesOf(trx, orgId, project.id, ids, project.default_branch);
  const failingKeys = [
    ...new Set([...failures.values()].flatMap((list) => list.map((f) => f.testKey))),
  ];
  const before = await statusesIn(trx, orgId, [...new Set(baselines.values())], failingKeys);
  const out = new Map<string, RunAnalysis>();
  for (const run of runs) {
    const list = failures.get(run.id) ?? [];
    const seen =
      run.commit_sha === null
        ? (observations.byRun.get(run.id) ?? [])
        : (observations.byCommit.get(run.commit_sha) ?? []);
    // Only tests that are part of this run count against it.
    const flaky = findFlaky(seen).filter(
      (f) => f.passedIn.includes(run.id) || f.failedIn.includes(run.id),
    );
    const baseline = baselines.get(run.id) ?? null;
    const keys = [...new Set(list.map((f) => f.testKey))];
    const compared =
      baseline === null
        ? { newFailures: [], stillFailing: [] }
        : compareWithBaseline(
            keys,
            new Map(
              keys.flatMap((k) => {
                const s = before.get(`${baseline}:${k}`);
                return s === undefined ? [] : [[k, s] as const];
              }),
            ),
          );
    const categoryOf = new Map(list.map((f) => [f.testKey, categorize(f)]));
    const byCategory: Record<string, number> = {};
    for (const key of compared.newFailures) {
      const c = categoryOf.get(key);
      if (c !== null && c !== undefined) byCategory[c] = (byCategory[c] ?? 0) + 1;
    }
    out.set(run.id, {
      groups: triage(list, categorize),
      flaky,
      regressions: { baselineRunId: baseline, ...compared, byCategory },
      failures: list.length,
    });
  }
  return out;
}

export function factsFrom(
  issueNumber: number,
  run: Run | undefined,
  analysis: RunAnalysis | undefined,
  config: QualityConfig,
  review: { verdict: string; openConditions: number } | null,
  manual: GateFacts['manual'],
): GateFacts {
  const blocking = new Set(config.categories.filter((c) => c.blocking === true).map((c) => c.name));
  const failuresByCategory: Record<string, number> = {};
  let uncategorized = 0;
  let blockingFailures = 0;
  for (const g of analysis?.groups ?? []) {
    if (g.category === null) uncategorized += g.count;
    else {
      failuresByCategory[g.category] = g.count;
      if (blocking.has(g.category)) blockingFailures += g.count;
    }
  }
  return {
    issueNumber,
    run:
      run === undefined
        ? null
        : {
            id: run.id,
            tests: run.tests,
            passed: run.passed,
            failed: run.failed,
            errored: run.errored,
            skipped: run.skipped,
          },
    failuresByCategory,
    uncategorizedFailures: uncategorized,
    blockingFailures,
    flakyTests: analysis?.flaky.length ?? 0,
    regressions: {
      total: analysis?.regressions.newFailures.length ?? 0,
      byCategory: analysis?.regressions.byCategory ?? {},
    },
    review,
    manual,
  };
}

export interface StoredReport extends GateReport {
  issue: number;
  runId: string | null;
  evaluatedAt: string;
  /** The latest run's flaky tests, with the runs as evidence. */
  flaky: { testId: string; test: string; reason: string; passedIn: string[]; failedIn: string[] }[];
}

/**
 * Re-evaluates issues' gates from their latest runs, reviews and checks, stores each
 * report, and records every gate whose state changed (from, to, why). Set-based: the
 * number of statements does not grow with the number of issues.
 */
export async function recomputeIssues(
  trx: Tx,
  orgId: string,
  project: ProjectRef,
  issues: IssueRef[],
  loaded?: QualityConfig,
): Promise<Map<string, StoredReport>> {
  const result = new Map<string, StoredReport>();
  if (issues.length === 0) return result;
  const config = loaded ?? (await loadQualityConfig(trx, orgId, project.id)).config;
  const issueIds = issues.map((i) => i.id);
  const runs = await latestRunsOfIssues(
    trx,
    orgId,
    project.id,
    issues.map((i) => i.number),
  );
  const analyses = await analyzeRuns(trx, orgId, project, [...runs.values()], config);
  const reviews = await latestReviews(trx, orgId, issueIds);
  const checks = await trx
    .selectFrom('criterion_checks')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('issue_id', 'in', issueIds)
    .execute();
  const previous = await trx
    .selectFrom('gate_reports')
    .select(['issue_id', 'report'])
    .where('org_id', '=', orgId)
    .where('issue_id', 'in', issueIds)
    .forUpdate()
    .execute();
  const previousStates = new Map(
    previous.map((p) => [
      p.issue_id,
      new Map(((p.report as StoredReport).gates ?? []).map((g) => [g.key, g.state])),
    ]),
  );
  const evaluatedAt = new Date().toISOString();
  const changes: Insertable<GateStateChangesTable>[] = [];

  for (const issue of issues) {
    const run = runs.get(issue.number);
    const review = reviews.get(issue.id);
    const manual = Object.fromEntries(
      checks
        .filter((c) => c.issue_id === issue.id)
        .map((c) => [
          c.criterion_key,
          { checked: c.checked, by: c.checked_by, at: c.checked_at.toISOString() },
        ]),
    );
    const facts = factsFrom(
      issue.number,
      run,
      run === undefined ? undefined : analyses.get(run.id),
      config,
      review === undefined
        ? null
        : {
            verdict: review.verdict,
            openConditions: (review.conditions as { status: string }[]).filter(
              (c) => c.status !== 'met',
            ).length,
          },
      manual,
    );
    const report = evaluateGates(config, facts);
    const flaky = (run === undefined ? [] : (analyses.get(run.id)?.flaky ?? [])).map((f) => ({
      testId: f.testKey,
      test: f.label ?? f.testKey,
      reason: f.reason,
      passedIn: f.passedIn,
      failedIn: f.failedIn,
    }));
    const stored: StoredReport = {
      ...report,
      issue: issue.number,
      runId: run?.id ?? null,
      evaluatedAt,
      flaky,
    };
    result.set(issue.id, stored);
    const before = previousStates.get(issue.id) ?? new Map<string, string>();
    for (const g of report.gates) {
      if (before.get(g.key) === g.state) continue;
      changes.push({
        org_id: orgId,
        id: uuidv7(),
        issue_id: issue.id,
        gate_key: g.key,
        from_state: before.get(g.key) ?? null,
        to_state: g.state,
        reason: g.reasons.join('; ') || (g.state === 'passed' ? 'all conditions met' : ''),
        run_id: run?.id ?? null,
      });
    }
  }

  for (let i = 0; i < changes.length; i += 1000) {
    await trx
      .insertInto('gate_state_changes')
      .values(changes.slice(i, i + 1000))
      .execute();
  }
  const rows = issues.map((issue) => {
    const r = result.get(issue.id)!;
    return { org_id: orgId, issue_id: issue.id, run_id: r.runId, report: JSON.stringify(r) };
  });
  for (let i = 0; i < rows.length; i += 1000) {
    await trx
      .insertInto('gate_reports')
      .values(rows.slice(i, i + 1000))
      .onConflict((oc) =>
        oc.columns(['org_id', 'issue_id']).doUpdateSet({
          run_id: sql`excluded.run_id`,
          report: sql`excluded.report`,
          evaluated_at: sql`now()`,
        }),
      )
      .execute();
  }
  return result;
}

/** One issue: the same computation as for many. */
export async function recomputeIssue(
  trx: Tx,
  orgId: string,
  project: ProjectRef,
  issue: IssueRef,
  loaded?: QualityConfig,
): Promise<StoredReport> {
  return (await recomputeIssues(trx, orgId, project, [issue], loaded)).get(issue.id)!;
}

export async function analyzeRun(
  trx: Tx,
  orgId: string,
  project: ProjectRef,
  run: Run,
  config: QualityConfig,
): Promise<RunAnalysis> {
  return (await analyzeRuns(trx, orgId, project, [run], config)).get(run.id)!;
}
