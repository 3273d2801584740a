import { evaluateGates, type GateReport, type GateState } from './gates.ts';
import type { Excused } from './history.ts';
import type { QualityConfig } from './quality.ts';
import { gateFacts, type IssueEvidence } from './run-analysis.ts';

/** An issue's judged gates as stored and served: the report, what it was judged on, and when. */
export interface IssueReport extends GateReport {
  issue: number;
  /** The complete run judged; null before there is one. */
  runId: string | null;
  evaluatedAt: string;
  /** The judged run's flaky tests, with the runs as evidence. */
  flaky: { testId: string; test: string; reason: string; passedIn: string[]; failedIn: string[] }[];
  /** Failures of the judged run that did not count: quarantined tests, known failures.
   *  (Reports stored before excusal existed have none.) */
  excused?: Excused[];
  /** Tests flaky over the default branch's history (when a gate reads flaky_over_history),
   *  with the runs where they flipped as evidence. */
  flakyOverHistory?: {
    testId: string;
    test: string;
    runs: number;
    flips: number;
    flipRate: number;
    flippedIn: string[];
  }[];
}

/** Evaluates an issue's gates on its evidence, at `now`. */
export function judgeIssue(config: QualityConfig, evidence: IssueEvidence, now: Date): IssueReport {
  const report = evaluateGates(config, gateFacts(config, evidence));
  return {
    ...report,
    issue: evidence.issueNumber,
    runId: evidence.run?.id ?? null,
    evaluatedAt: now.toISOString(),
    flaky: (evidence.analysis?.flaky ?? []).map((f) => ({
      testId: f.testKey,
      test: f.label ?? f.testKey,
      reason: f.reason,
      passedIn: f.passedIn,
      failedIn: f.failedIn,
    })),
    excused: evidence.analysis?.excused ?? [],
  };
}

/** An issue judged before anything is known of it: no run, no review, nothing checked. */
export function unjudgedReport(config: QualityConfig, issueNumber: number, now: Date): IssueReport {
  return judgeIssue(
    config,
    { issueNumber, run: null, analysis: null, review: null, checks: [] },
    now,
  );
}

export interface GateStateChange {
  gate: string;
  /** null: the gate's first judgement. */
  from: GateState | null;
  to: GateState;
  /** Why it is in its new state, in the words of its reasons. */
  reason: string;
}

/** Every gate whose state differs from the previous report (null: none stored yet). */
export function diffGateStates(
  previous: { gates?: readonly { key: string; state: GateState }[] } | null,
  next: Pick<GateReport, 'gates'>,
): GateStateChange[] {
  const before = new Map((previous?.gates ?? []).map((g) => [g.key, g.state]));
  const changes: GateStateChange[] = [];
  for (const g of next.gates) {
    const from = before.get(g.key) ?? null;
    if (from === g.state) continue;
    changes.push({
      gate: g.key,
      from,
      to: g.state,
      reason: g.reasons.join('; ') || (g.state === 'passed' ? 'all conditions met' : ''),
    });
  }
  return changes;
}
