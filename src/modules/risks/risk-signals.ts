import type { Executor } from '../../db/executor.ts';
import type { QualityConfig } from '../../domain/quality.ts';
import type { SignalEvidence } from '../../domain/risk-signal.ts';
import { createCategorizer, triage } from '../../domain/triage.ts';
import { failuresOfRuns, loadQualityConfig, storedReport } from '../gates/gates.queries.ts';

export { riskSignal, riskSignalParts, type RiskSignal } from '../../domain/risk-signal.ts';

/**
 * What an issue's risk signals are computed from: its stored gate report, and the failures
 * of the run that report judged, by category. Counts come from the report's own facts
 * when it stores them (`facts.failuresByCategory`); otherwise the judged run's failures
 * are categorized with the project's configuration — the same categorizer and failures
 * the gates were judged on. Two statements for every risk of the issue together.
 */
export async function signalEvidence(
  db: Executor,
  orgId: string,
  projectId: string,
  issueId: string,
  config?: QualityConfig,
): Promise<SignalEvidence> {
  const report = await storedReport(db, orgId, issueId);
  if (report === undefined || report.runId === null) return { report, failuresByCategory: {} };
  const stored = (report as { facts?: { failuresByCategory?: Record<string, number> } }).facts
    ?.failuresByCategory;
  if (stored !== undefined) return { report, failuresByCategory: stored };
  const categories = config ?? (await loadQualityConfig(db, orgId, projectId)).config;
  const failures = (await failuresOfRuns(db, orgId, [report.runId])).get(report.runId) ?? [];
  const failuresByCategory: Record<string, number> = {};
  for (const group of triage(failures, createCategorizer(categories)))
    if (group.category !== null) failuresByCategory[group.category] = group.count;
  return { report, failuresByCategory };
}
