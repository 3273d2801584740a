import { NO_COORDINATION, type CoordinationFacts, type GateFacts } from './gates.ts';
import { excuseFailures, excuseTotals, type Excused, type Quarantine } from './history.ts';
import type { QualityConfig, RiskSeverity } from './quality.ts';
import { computeSchedule, DependencyCycleError, type ScheduleActivity } from './schedule.ts';
import {
  compareWithBaseline,
  findFlaky,
  triage,
  type Categorizer,
  type CategoryGroup,
  type Failure,
  type FlakyTest,
  type Observation,
} from './triage.ts';

/** Categorized failures, flaky tests and regressions of one run. */
export interface RunAnalysis {
  groups: CategoryGroup[];
  flaky: FlakyTest[];
  regressions: {
    baselineRunId: string | null;
    newFailures: string[];
    stillFailing: string[];
    /** New failures counted by their category (uncategorized ones are not counted). */
    byCategory: Record<string, number>;
  };
  failures: number;
  /** Failures not counted: the test is quarantined, or the category is a known failure. */
  excused?: Excused[];
  /** How many excused failures were failed, errored, or of unknown kind. */
  excusedCounts?: { failed: number; errored: number; unknown: number };
}

/** What excuses a failure: active quarantines by test key, known categories, at `now`. */
export interface Excusal {
  quarantines: ReadonlyMap<string, Quarantine>;
  known: ReadonlyMap<string, { ticket?: string | undefined }>;
  now: Date;
}

/** The known-failure marks of a configuration, by category. */
export function knownCategories(
  config: Pick<QualityConfig, 'categories'>,
): Map<string, { ticket?: string | undefined }> {
  return new Map(
    config.categories
      .filter((c) => c.known === true)
      .map((c) => [c.name, c.ticket === undefined ? {} : { ticket: c.ticket }]),
  );
}

/** What is known about one run when it is analyzed. */
export interface RunEvidence {
  runId: string;
  /** The run's failed and errored testcases. */
  failures: Failure[];
  /**
   * What flakiness is judged on: results of every run of the run's commit (or, for a run
   * without a commit, its own), possibly other runs' tests too.
   */
  observations: Observation[];
  /** The run compared against, with the statuses it recorded (by test key). */
  baseline: { runId: string; statuses: ReadonlyMap<string, string> } | null;
}

/**
 * Triage, flakiness and regressions of one run, from its evidence. Excused failures
 * (quarantined tests, known categories) are set apart first: they count nowhere, as if
 * skipped, and are listed as excused.
 */
export function analyzeRun(
  evidence: RunEvidence,
  categorize: Categorizer,
  excusal?: Excusal,
): RunAnalysis {
  const { runId, baseline } = evidence;
  const split =
    excusal === undefined
      ? { counted: evidence.failures, excused: [] }
      : excuseFailures(
          evidence.failures.map((f) => ({ ...f, label: `${f.classname}.${f.name}` })),
          categorize,
          excusal.quarantines,
          excusal.known,
          excusal.now,
        );
  const failures: Failure[] = split.counted;
  const excusedKeys = new Set(split.excused.map((e) => e.testId));
  const excusedCounts = { failed: 0, errored: 0, unknown: 0 };
  for (const e of split.excused) {
    const status = e.failure.status;
    if (status === 'failed') excusedCounts.failed++;
    else if (status === 'error') excusedCounts.errored++;
    else excusedCounts.unknown++;
  }
  // Only tests that are part of this run count against it; excused ones not at all.
  const flaky = findFlaky(evidence.observations).filter(
    (f) =>
      (f.passedIn.includes(runId) || f.failedIn.includes(runId)) && !excusedKeys.has(f.testKey),
  );
  const keys = [...new Set(failures.map((f) => f.testKey))];
  const before = new Map<string, string>();
  if (baseline !== null)
    for (const k of keys) {
      const s = baseline.statuses.get(k);
      if (s !== undefined) before.set(k, s);
    }
  const compared =
    baseline === null ? { newFailures: [], stillFailing: [] } : compareWithBaseline(keys, before);
  const categoryOf = new Map(failures.map((f) => [f.testKey, categorize(f)]));
  const byCategory: Record<string, number> = {};
  for (const key of compared.newFailures) {
    const c = categoryOf.get(key);
    if (c !== null && c !== undefined) byCategory[c] = (byCategory[c] ?? 0) + 1;
  }
  return {
    groups: triage(failures, categorize),
    flaky,
    regressions: { baselineRunId: baseline?.runId ?? null, ...compared, byCategory },
    failures: failures.length,
    excused: split.excused.map(({ failure: _failure, ...e }) => e),
    excusedCounts,
  };
}

/** A run's counts, as gates read them. */
export interface RunTotals {
  id: string;
  tests: number;
  passed: number;
  failed: number;
  errored: number;
  skipped: number;
}

/** Everything an issue's gates are judged on. */
export interface IssueEvidence {
  issueNumber: number;
  /** The latest complete run of the issue; null before there is one. */
  run: RunTotals | null;
  analysis: RunAnalysis | null;
  /** The latest code review. */
  review: { verdict: string; conditions: readonly { status: string }[] } | null;
  /** Manual success criteria checked or unchecked by a person. */
  checks: readonly { criterion: string; checked: boolean; by: string | null; at: Date }[];
  /** Activities, escalations and risks (none when not given). */
  coordination?: CoordinationFacts;
  /** Tests flaky over the default branch's history, when read. */
  flakyOverHistory?: number;
}

/** What is known of an issue's coordination when its gates are judged. */
export interface CoordinationEvidence {
  activities: readonly ScheduleActivity[];
  openEscalations: number;
  openRisks: readonly { severity: RiskSeverity; count: number }[];
}

/**
 * The coordination facts at `now`: each activity's status, and whether it is overdue (open
 * past its latest finish on the schedule, src/domain/schedule.ts), open escalations and
 * open risks by severity.
 */
export function coordinationFacts(evidence: CoordinationEvidence, now: Date): CoordinationFacts {
  let schedule: ReturnType<typeof computeSchedule>['activities'] = new Map();
  try {
    schedule = computeSchedule(evidence.activities, { now }).activities;
  } catch (err) {
    // Cycles are refused when activities are written; one that slipped in overdues nothing.
    if (!(err instanceof DependencyCycleError)) throw err;
  }
  const activities: CoordinationFacts['activities'] = {};
  for (const a of evidence.activities)
    activities[a.key] = { status: a.status, overdue: schedule.get(a.key)?.overdue === true };
  const openRisks = { ...NO_COORDINATION.openRisks };
  for (const r of evidence.openRisks) openRisks[r.severity] += r.count;
  return { activities, openEscalations: evidence.openEscalations, openRisks };
}

/** The facts gates are evaluated on: failures by category (blocking ones summed), flaky tests, regressions, review, coordination. */
export function gateFacts(
  config: Pick<QualityConfig, 'categories'>,
  evidence: IssueEvidence,
): GateFacts {
  const { analysis, review } = evidence;
  // Excused failures count the way skipped tests do.
  const run =
    evidence.run === null || analysis?.excusedCounts === undefined
      ? evidence.run
      : excuseTotals(evidence.run, analysis.excusedCounts);
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
    issueNumber: evidence.issueNumber,
    run:
      run === null
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
    ...(evidence.flakyOverHistory === undefined
      ? {}
      : { flakyOverHistory: evidence.flakyOverHistory }),
    regressions: {
      total: analysis?.regressions.newFailures.length ?? 0,
      byCategory: analysis?.regressions.byCategory ?? {},
    },
    review:
      review === null
        ? null
        : {
            verdict: review.verdict,
            openConditions: review.conditions.filter((c) => c.status !== 'met').length,
          },
    manual: Object.fromEntries(
      evidence.checks.map((c) => [
        c.criterion,
        { checked: c.checked, by: c.by, at: c.at.toISOString() },
      ]),
    ),
    ...(evidence.coordination ?? NO_COORDINATION),
  };
}
