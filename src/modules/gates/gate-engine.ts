import type { Transaction } from 'kysely';
import { uuidv7 } from 'uuidv7';
import type { DB } from '../../db/types.ts';
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
  baselineRun,
  commitObservations,
  failuresOf,
  latestRunOfIssue,
  loadQualityConfig,
  statusesIn,
  type Run,
} from './gates.queries.ts';

type Tx = Transaction<DB>;

export interface IssueRef {
  id: string;
  number: number;
  projectId: string;
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

/** Categorized failures, flaky tests and regressions of one run: the facts gates are judged on. */
export async function analyzeRun(
  trx: Tx,
  orgId: string,
  run: Run,
  config: QualityConfig,
  defaultBranch: string,
): Promise<RunAnalysis> {
  const categorize = createCategorizer(config);
  const failures = await failuresOf(trx, orgId, run.id);
  const groups = triage(failures, categorize);
  const flaky = findFlaky(await commitObservations(trx, orgId, run)).filter(
    // Only tests that are part of this run count against it.
    (f) => f.passedIn.includes(run.id) || f.failedIn.includes(run.id),
  );
  const baseline = await baselineRun(trx, orgId, run, defaultBranch);
  const failingKeys = [...new Set(failures.map((f) => f.testKey))];
  const compared =
    baseline === undefined
      ? { newFailures: [], stillFailing: [] }
      : compareWithBaseline(failingKeys, await statusesIn(trx, orgId, baseline.id, failingKeys));
  const categoryOf = new Map(failures.map((f) => [f.testKey, categorize(f)]));
  const byCategory: Record<string, number> = {};
  for (const key of compared.newFailures) {
    const c = categoryOf.get(key);
    if (c !== null && c !== undefined) byCategory[c] = (byCategory[c] ?? 0) + 1;
  }
  return {
    groups,
    flaky,
    regressions: { baselineRunId: baseline?.id ?? null, ...compared, byCategory },
    failures: failures.length,
  };
}

export function factsFrom(
  issueNumber: number,
  run: Run | undefined,
  analysis: RunAnalysis | null,
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
}

/**
 * Re-evaluates one issue's gates from its latest run, review and checks, stores the report,
 * and records every gate whose state changed (from, to, why).
 */
export async function recomputeIssue(
  trx: Tx,
  orgId: string,
  issue: IssueRef,
  defaultBranch: string,
  loaded?: QualityConfig,
): Promise<StoredReport> {
  const config = loaded ?? (await loadQualityConfig(trx, orgId, issue.projectId)).config;
  const run = await latestRunOfIssue(trx, orgId, issue.projectId, issue.number);
  const analysis =
    run === undefined ? null : await analyzeRun(trx, orgId, run, config, defaultBranch);
  const review = await trx
    .selectFrom('reviews')
    .select(['verdict', 'conditions'])
    .where('org_id', '=', orgId)
    .where('issue_id', '=', issue.id)
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  const checks = await trx
    .selectFrom('criterion_checks')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('issue_id', '=', issue.id)
    .execute();
  const manual = Object.fromEntries(
    checks.map((c) => [
      c.criterion_key,
      { checked: c.checked, by: c.checked_by, at: c.checked_at.toISOString() },
    ]),
  );
  const facts = factsFrom(
    issue.number,
    run,
    analysis,
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
  const stored: StoredReport = {
    ...report,
    issue: issue.number,
    runId: run?.id ?? null,
    evaluatedAt: new Date().toISOString(),
  };

  const previous = await trx
    .selectFrom('gate_reports')
    .select('report')
    .where('org_id', '=', orgId)
    .where('issue_id', '=', issue.id)
    .forUpdate()
    .executeTakeFirst();
  const before = new Map(
    ((previous?.report as StoredReport | undefined)?.gates ?? []).map((g) => [g.key, g.state]),
  );
  const changes = report.gates.filter((g) => before.get(g.key) !== g.state);
  if (changes.length > 0) {
    await trx
      .insertInto('gate_state_changes')
      .values(
        changes.map((g) => ({
          org_id: orgId,
          id: uuidv7(),
          issue_id: issue.id,
          gate_key: g.key,
          from_state: before.get(g.key) ?? null,
          to_state: g.state,
          reason: g.reasons.join('; ') || (g.state === 'passed' ? 'all conditions met' : ''),
          run_id: run?.id ?? null,
        })),
      )
      .execute();
  }
  await trx
    .insertInto('gate_reports')
    .values({
      org_id: orgId,
      issue_id: issue.id,
      run_id: run?.id ?? null,
      report: JSON.stringify(stored),
    })
    .onConflict((oc) =>
      oc.columns(['org_id', 'issue_id']).doUpdateSet({
        run_id: run?.id ?? null,
        report: JSON.stringify(stored),
        evaluated_at: new Date(),
      }),
    )
    .execute();
  return stored;
}
