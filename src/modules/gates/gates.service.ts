import type { Kysely } from 'kysely';
import { readAsTenant, type Caller } from '../../db/tenant.ts';
import type { DB } from '../../db/types.ts';
import { describeCycle, findGateActivityCycle } from '../../domain/gate-activity-cycle.ts';
import { unjudgedReport } from '../../domain/gate-report.ts';
import { METRIC_KINDS } from '../../domain/gates.ts';
import {
  DEFAULT_CONFIG,
  validateConfig,
  type ConfigError,
  type QualityConfig,
} from '../../domain/quality.ts';
import { BadInput } from '../../errors.ts';
import type { Clock } from '../../lib/clock.ts';
import { issueNotFound, issuesOfProject } from '../issues/issues.queries.ts';
import { projectNotFound } from '../projects/projects.queries.ts';
import { inProject, type IssueScope, type ProjectScope } from '../scope.ts';
import { requireRun } from '../runs/runs.queries.ts';
import { analyzeRun, recomputeIssues } from './gate-engine.ts';
import { issueGatesState, issueGatesStatement } from './gates-reads.queries.ts';
import {
  firstSeenRuns,
  loadQualityConfig,
  saveQualityConfig,
  testNamesInRun,
  waitingActivitiesOfProject,
} from './gates.queries.ts';

/**
 * Cycles the configuration would close with the activities of the project's issues: a gate
 * reading (activity_status) an activity that waits, through its dependencies and gates, for
 * that same gate. Each names the condition that closes it and the cycle.
 */
function cyclesWithActivities(
  config: QualityConfig,
  activities: Map<number, Parameters<typeof findGateActivityCycle>[1]>,
): ConfigError[] {
  const errors: ConfigError[] = [];
  for (const [number, list] of activities) {
    const cycle = findGateActivityCycle(config, list);
    if (cycle === null) continue;
    // The config's part of the cycle: a gate reading an activity (a cycle of activities
    // alone is refused where activities are written, not here).
    const k = cycle.findIndex(
      (node, i) => node.startsWith('gate:') && cycle[i + 1]?.startsWith('activity:') === true,
    );
    if (k === -1) continue;
    const gate = config.gates.findIndex((g) => `gate:${g.key}` === cycle[k]);
    const condition = config.gates[gate]!.conditions.findIndex(
      (c) => c.metric === 'activity_status' && `activity:${c.activity}` === cycle[k + 1],
    );
    errors.push({
      path: `body/gates/${gate}/conditions/${condition}`,
      message: `forms a cycle with the activities of issue #${number}: ${describeCycle(cycle)}`,
    });
  }
  return errors;
}

export function createGateService(deps: { db: Kysely<DB>; clock: Clock }) {
  const { db, clock } = deps;
  return {
    getConfig(caller: Caller, scope: ProjectScope) {
      return inProject(db, caller, scope, 'org:read', (trx, ctx, project) =>
        loadQualityConfig(trx, ctx.orgId, project.id),
      );
    },

    /**
     * Validates (errors name the path; a cycle of waiting with an issue's activities is
     * refused, naming it), stores, and re-evaluates every tracked issue of the project.
     */
    putConfig(caller: Caller, scope: ProjectScope, body: QualityConfig & { $schema?: string }) {
      // An editor's `$schema` pointer is accepted (files can name the served schema) and not kept.
      const { $schema: _schema, ...config } = body;
      return inProject(db, caller, scope, 'projects:write', async (trx, ctx, project) => {
        let errors = validateConfig(config, METRIC_KINDS);
        if (errors.length === 0)
          errors = cyclesWithActivities(
            config,
            await waitingActivitiesOfProject(trx, ctx.orgId, project.id),
          );
        if (errors.length > 0)
          throw new BadInput(errors.map((e) => `${e.path} ${e.message}`).join('; '), errors);
        const now = clock.now();
        const version = await saveQualityConfig(
          trx,
          ctx.orgId,
          project.id,
          config,
          ctx.actorId,
          now,
        );
        const issues = await issuesOfProject(trx, ctx.orgId, project.id);
        await recomputeIssues(trx, ctx.orgId, project, issues, { now, config, ctx });
        await ctx.audit({
          action: 'quality_config.updated',
          targetType: 'project',
          targetId: project.id,
          data: { version, gates: config.gates.length },
        });
        return { config, custom: true, version, recomputedIssues: issues.length };
      });
    },

    /**
     * The last judged report (stored whenever anything it depends on changes; reading never
     * writes), its history, and the run still open, if the issue's newest run is one.
     */
    report(caller: Caller, scope: IssueScope) {
      const { number } = scope;
      return readAsTenant(
        db,
        caller,
        scope.org,
        'org:read',
        (orgId) => issueGatesStatement(db, orgId, scope.project, number, 100),
        (rows) => {
          const state = issueGatesState(rows);
          if (state.found === 'no project') throw projectNotFound();
          if (state.found === 'no issue') throw issueNotFound(number);
          // Every issue gets its first report when it starts being tracked; one without is
          // answered as never judged rather than judged here.
          const report =
            state.report ??
            unjudgedReport((state.config ?? DEFAULT_CONFIG) as QualityConfig, number, clock.now());
          const newest = state.newestRun;
          return {
            ...report,
            openRun:
              newest?.status === 'open'
                ? { runId: newest.id, uploads: newest.uploads, shards: newest.shards }
                : null,
            history: state.history.map((h) => ({
              gate: h.gate_key,
              from: h.from_state,
              to: h.to_state,
              reason: h.reason,
              runId: h.run_id,
              at: h.created_at.toISOString(),
            })),
          };
        },
      );
    },

    /** Failures by category, then by signature; flaky tests and regressions, with evidence. */
    triage(caller: Caller, scope: ProjectScope, runId: string) {
      return inProject(db, caller, scope, 'org:read', async (trx, ctx, project) => {
        const run = await requireRun(trx, ctx.orgId, project.id, runId);
        const { config } = await loadQualityConfig(trx, ctx.orgId, project.id);
        const analysis = await analyzeRun(trx, ctx.orgId, project, run, config, clock.now());
        const signatures = analysis.groups.flatMap((g) => g.clusters.map((c) => c.signature));
        const firstSeen = await firstSeenRuns(trx, ctx.orgId, project.id, signatures);
        const keys = [
          ...new Set([
            ...analysis.flaky.map((f) => f.testKey),
            ...analysis.regressions.newFailures,
            ...analysis.regressions.stillFailing,
          ]),
        ];
        const names = await testNamesInRun(trx, ctx.orgId, project.id, run.id, keys);
        const ref = (testKey: string) => ({
          testId: testKey,
          ...(names.get(testKey) ?? { classname: '', name: '' }),
        });
        const byName = new Map(config.categories.map((c) => [c.name, c]));
        return {
          runId: run.id,
          failures: analysis.failures,
          categories: analysis.groups.map((g) => ({
            category: g.category,
            label: g.category === null ? null : (byName.get(g.category)?.label ?? g.category),
            blocking: g.category !== null && byName.get(g.category)?.blocking === true,
            count: g.count,
            clusters: g.clusters.map((c) => ({
              ...c,
              firstSeenRunId: firstSeen.get(c.signature) ?? null,
            })),
          })),
          flaky: analysis.flaky.map((f) => ({
            ...ref(f.testKey),
            reason: f.reason,
            passedIn: f.passedIn,
            failedIn: f.failedIn,
          })),
          regressions: {
            baselineRunId: analysis.regressions.baselineRunId,
            newFailures: analysis.regressions.newFailures.map(ref),
            stillFailing: analysis.regressions.stillFailing.map(ref),
          },
          excused: analysis.excused ?? [],
        };
      });
    },
  };
}
