import type { Insertable, Transaction } from 'kysely';
import { uuidv7 } from 'uuidv7';
import type { Executor } from '../../db/executor.ts';
import type { TenantContext } from '../../db/tenant.ts';
import type { DB, GateStateChangesTable } from '../../db/types.ts';
import {
  diffGateStates,
  judgeIssue,
  type GateStateChange,
  type IssueReport,
} from '../../domain/gate-report.ts';
import { flakinessSettings } from '../../domain/history.ts';
import type { QualityConfig } from '../../domain/quality.ts';
import {
  analyzeRun as analyze,
  coordinationFacts,
  knownCategories,
  type Excusal,
  type RunAnalysis,
} from '../../domain/run-analysis.ts';
import { createCategorizer } from '../../domain/triage.ts';
import { enqueueGithubSync } from '../github/github.hooks.ts';
import { movePhase, returnFromPhase } from '../issues/phase.ts';
import { flakyOnBranch, type FlakyTestOverHistory } from '../tests/test-window.ts';
import { activeQuarantines } from '../tests/tests.queries.ts';
import { emitEvent } from '../webhooks/events.ts';
import {
  baselinesOf,
  coordinationOfIssues,
  criterionChecks,
  failuresOfRuns,
  insertStateChanges,
  latestReviews,
  latestRunsOfIssues,
  loadQualityConfig,
  lockStoredReports,
  observationsFor,
  phasesOfIssues,
  statusesIn,
  storeReports,
  type Run,
} from './gates.queries.ts';

// Load → evaluate → store. The rules themselves live in src/domain (run-analysis,
// gate-report, gates); this file only gathers their inputs and keeps their outputs.

type Tx = Transaction<DB>;

export type { RunAnalysis } from '../../domain/run-analysis.ts';
/** What the gates endpoint and an upload answer with; kept under its old name for callers. */
export type StoredReport = IssueReport;

export interface IssueRef {
  id: string;
  number: number;
}

export interface ProjectRef {
  id: string;
  /** Named in the events the judging emits. */
  key: string;
  default_branch: string;
}

/** What recomputing needs: the time it happens at, who acts (for the audit of phase moves),
 *  and the configuration when the caller has it at hand. */
export interface RecomputeOptions {
  now: Date;
  ctx: TenantContext;
  config?: QualityConfig;
}

/**
 * What excuses failures at `now`: the project's quarantines in force and the categories
 * marked known. Without `now`, only known categories (quarantines depend on the time).
 */
export async function excusalOf(
  db: Executor,
  orgId: string,
  projectId: string,
  config: QualityConfig,
  now: Date | undefined,
): Promise<Excusal> {
  return {
    quarantines: now === undefined ? new Map() : await activeQuarantines(db, orgId, projectId, now),
    known: knownCategories(config),
    now: now ?? new Date(0),
  };
}

/** Whether a gate or criterion of the configuration reads flaky_over_history. */
const readsHistory = (config: QualityConfig) =>
  config.gates.some((g) => g.conditions.some((c) => c.metric === 'flaky_over_history')) ||
  config.criteria.some((c) => c.condition?.metric === 'flaky_over_history');

/**
 * The tests flaky over the default branch's history that are not quarantined, read only
 * when the configuration uses flaky_over_history (it reads the window's blocks).
 */
export async function flakyOverHistoryOf(
  db: Executor,
  orgId: string,
  project: ProjectRef,
  config: QualityConfig,
  excusal: Excusal,
): Promise<FlakyTestOverHistory[] | null> {
  if (!readsHistory(config)) return null;
  const flaky = await flakyOnBranch(
    db,
    orgId,
    project.id,
    project.default_branch,
    flakinessSettings(config.flakiness),
  );
  return flaky.filter((f) => !excusal.quarantines.has(f.testKey));
}

/**
 * Loads each run's evidence (failures, same-commit observations, baseline) and analyzes it;
 * failures of quarantined tests (at `now`) and of known categories are excused.
 */
export async function analyzeRuns(
  db: Executor,
  orgId: string,
  project: ProjectRef,
  runs: Run[],
  config: QualityConfig,
  now?: Date,
  given?: Excusal,
): Promise<Map<string, RunAnalysis>> {
  const categorize = createCategorizer(config);
  const excusal = given ?? (await excusalOf(db, orgId, project.id, config, now));
  const ids = runs.map((r) => r.id);
  const failures = await failuresOfRuns(db, orgId, ids);
  const observations = await observationsFor(db, orgId, project.id, runs);
  const baselines = await baselinesOf(db, orgId, project.id, ids, project.default_branch);
  const failingKeys = [
    ...new Set([...failures.values()].flatMap((list) => list.map((f) => f.testKey))),
  ];
  const before = await statusesIn(db, orgId, [...new Set(baselines.values())], failingKeys);
  const out = new Map<string, RunAnalysis>();
  for (const run of runs) {
    const baseline = baselines.get(run.id);
    const statuses = new Map<string, string>();
    if (baseline !== undefined)
      for (const key of failingKeys) {
        const s = before.get(`${baseline}:${key}`);
        if (s !== undefined) statuses.set(key, s);
      }
    const evidence = {
      runId: run.id,
      failures: failures.get(run.id) ?? [],
      observations:
        run.commit_sha === null
          ? (observations.byRun.get(run.id) ?? [])
          : (observations.byCommit.get(run.commit_sha) ?? []),
      baseline: baseline === undefined ? null : { runId: baseline, statuses },
    };
    out.set(run.id, analyze(evidence, categorize, excusal));
  }
  return out;
}

/** One run's analysis: the same computation as for many. */
export async function analyzeRun(
  db: Executor,
  orgId: string,
  project: ProjectRef,
  run: Run,
  config: QualityConfig,
  now?: Date,
): Promise<RunAnalysis> {
  return (await analyzeRuns(db, orgId, project, [run], config, now)).get(run.id)!;
}

/**
 * Re-evaluates issues' gates from their latest complete runs, reviews, checks and
 * coordination (activities, open escalations, open risks), stores each report, and records
 * every gate whose state changed (from, to, why), all at `now`. Loading and storing are
 * set-based: their statements do not grow with the number of issues. What a change causes
 * costs a few statements per issue whose gates changed: the `gate.changed` event and the
 * GitHub comment's sync are enqueued in this transaction, and the issue moves to
 * `ready_for_release` when every gate has just passed (back to its phase before when a
 * gate stops passing there), audited.
 */
export async function recomputeIssues(
  trx: Tx,
  orgId: string,
  project: ProjectRef,
  issues: IssueRef[],
  opts: RecomputeOptions,
): Promise<Map<string, StoredReport>> {
  const result = new Map<string, StoredReport>();
  if (issues.length === 0) return result;
  const { now } = opts;
  const config = opts.config ?? (await loadQualityConfig(trx, orgId, project.id)).config;
  const issueIds = issues.map((i) => i.id);
  const runs = await latestRunsOfIssues(
    trx,
    orgId,
    project.id,
    issues.map((i) => i.number),
  );
  const excusal = await excusalOf(trx, orgId, project.id, config, now);
  const analyses = await analyzeRuns(trx, orgId, project, [...runs.values()], config, now, excusal);
  const flakyOverHistory = await flakyOverHistoryOf(trx, orgId, project, config, excusal);
  const reviews = await latestReviews(trx, orgId, issueIds);
  const checks = await criterionChecks(trx, orgId, issueIds);
  const coordination = await coordinationOfIssues(trx, orgId, issueIds);
  const previous = await lockStoredReports(trx, orgId, issueIds);

  const changes: Insertable<GateStateChangesTable>[] = [];
  const changed: { issue: IssueRef; report: StoredReport; changes: GateStateChange[] }[] = [];
  for (const issue of issues) {
    const run = runs.get(issue.number) ?? null;
    const review = reviews.get(issue.id);
    const report = judgeIssue(
      config,
      {
        issueNumber: issue.number,
        run,
        analysis: run === null ? null : (analyses.get(run.id) ?? null),
        review:
          review === undefined
            ? null
            : {
                verdict: review.verdict,
                conditions: review.conditions as { status: string }[],
              },
        checks: checks.get(issue.id) ?? [],
        coordination: coordinationFacts(coordination.get(issue.id)!, now),
        ...(flakyOverHistory === null ? {} : { flakyOverHistory: flakyOverHistory.length }),
      },
      now,
    );
    if (flakyOverHistory !== null)
      report.flakyOverHistory = flakyOverHistory.map((f) => ({
        testId: f.testKey,
        test: f.label,
        runs: f.runs,
        flips: f.flips,
        flipRate: f.flipRate,
        flippedIn: f.flippedIn,
      }));
    result.set(issue.id, report);
    const diff = diffGateStates(previous.get(issue.id) ?? null, report);
    if (diff.length > 0) changed.push({ issue, report, changes: diff });
    for (const change of diff)
      changes.push({
        org_id: orgId,
        id: uuidv7(),
        issue_id: issue.id,
        gate_key: change.gate,
        from_state: change.from,
        to_state: change.to,
        reason: change.reason,
        run_id: report.runId,
        created_at: now,
      });
  }

  await insertStateChanges(trx, changes);
  await storeReports(
    trx,
    orgId,
    issues.map((issue) => ({ issueId: issue.id, report: result.get(issue.id)! })),
    now,
  );
  for (const { issue, report, changes: diff } of changed) {
    await emitEvent(
      trx,
      orgId,
      'gate.changed',
      {
        issueId: issue.id,
        issue: issue.number,
        project: project.key,
        overall: report.overall,
        changes: diff.map((c) => ({ gate: c.gate, from: c.from, to: c.to, reason: c.reason })),
      },
      now,
    );
    await enqueueGithubSync(trx, orgId, issue.id);
  }
  await followPhases(trx, opts.ctx, previous, result, now);
  return result;
}

/**
 * An issue whose gates have all just passed is ready for release; one in ready_for_release
 * whose gates stop passing returns to the phase it was in before. An issue that is done
 * stays done.
 */
async function followPhases(
  trx: Tx,
  ctx: TenantContext,
  previous: Map<string, IssueReport>,
  reports: Map<string, StoredReport>,
  now: Date,
): Promise<void> {
  const passedNow = (r: { overall?: string } | undefined) => r?.overall === 'passed';
  const moving = [...reports]
    .filter(([id, r]) => passedNow(r) !== passedNow(previous.get(id)))
    .map(([id]) => id);
  if (moving.length === 0) return;
  const phases = await phasesOfIssues(trx, ctx.orgId, moving);
  for (const id of moving) {
    const issue = phases.get(id);
    if (issue === undefined || issue.phase === 'done') continue;
    const report = reports.get(id)!;
    if (passedNow(report)) {
      await movePhase(trx, ctx, issue, 'ready_for_release', {
        reason: 'every quality gate passed',
        now,
      });
    } else {
      const stopped = report.gates.filter((g) => g.state !== 'passed').map((g) => g.key);
      await returnFromPhase(trx, ctx, issue, 'ready_for_release', {
        reason: `quality gates no longer passed: ${stopped.join(', ')}`,
        now,
      });
    }
  }
}

/** One issue: the same computation as for many. */
export async function recomputeIssue(
  trx: Tx,
  orgId: string,
  project: ProjectRef,
  issue: IssueRef,
  opts: RecomputeOptions,
): Promise<StoredReport> {
  return (await recomputeIssues(trx, orgId, project, [issue], opts)).get(issue.id)!;
}
