import type { Kysely } from 'kysely';
import { withTenant, type Caller } from '../../db/tenant.ts';
import type { DB } from '../../db/types.ts';
import { METRIC_KINDS } from '../../domain/gates.ts';
import { validateConfig, type QualityConfig } from '../../domain/quality.ts';
import { BadInput } from '../../errors.ts';
import { requireIssue } from '../issues/issues.queries.ts';
import { requireProject } from '../projects/projects.queries.ts';
import { requireRun } from '../runs/runs.queries.ts';
import { analyzeRun, recomputeIssue, recomputeIssues, type StoredReport } from './gate-engine.ts';
import { firstSeenRuns, loadQualityConfig } from './gates.queries.ts';

export function createGateService(deps: { db: Kysely<DB> }) {
  const { db } = deps;
  return {
    getConfig(caller: Caller, slug: string, key: string) {
      return withTenant(db, caller, slug, 'org:read', async (trx, ctx) => {
        const project = await requireProject(trx, ctx.orgId, key);
        return loadQualityConfig(trx, ctx.orgId, project.id);
      });
    },

    /** Validates (errors name the path), stores, and re-evaluates every tracked issue of the project. */
    putConfig(caller: Caller, slug: string, key: string, config: QualityConfig) {
      return withTenant(db, caller, slug, 'projects:write', async (trx, ctx) => {
        const project = await requireProject(trx, ctx.orgId, key);
        const errors = validateConfig(config, METRIC_KINDS);
        if (errors.length > 0)
          throw new BadInput(errors.map((e) => `${e.path} ${e.message}`).join('; '), errors);
        const row = await trx
          .insertInto('quality_configs')
          .values({
            org_id: ctx.orgId,
            project_id: project.id,
            config: JSON.stringify(config),
            updated_by: ctx.actorId,
          })
          .onConflict((oc) =>
            oc.columns(['org_id', 'project_id']).doUpdateSet((eb) => ({
              config: JSON.stringify(config),
              version: eb('quality_configs.version', '+', 1),
              updated_by: ctx.actorId,
              updated_at: new Date(),
            })),
          )
          .returning('version')
          .executeTakeFirstOrThrow();
        const issues = await trx
          .selectFrom('tracked_issues')
          .select(['id', 'number'])
          .where('org_id', '=', ctx.orgId)
          .where('project_id', '=', project.id)
          .execute();
        await recomputeIssues(trx, ctx.orgId, project, issues, config);
        await ctx.audit({
          action: 'quality_config.updated',
          targetType: 'project',
          targetId: project.id,
          data: { version: row.version, gates: config.gates.length },
        });
        return { config, custom: true, version: row.version, recomputedIssues: issues.length };
      });
    },

    /** The stored report (evaluated when anything it depends on changed) and its history. */
    report(caller: Caller, slug: string, key: string, number: number) {
      return withTenant(db, caller, slug, 'org:read', async (trx, ctx) => {
        const project = await requireProject(trx, ctx.orgId, key);
        const issue = await requireIssue(trx, ctx.orgId, project.id, number);
        const stored = await trx
          .selectFrom('gate_reports')
          .select('report')
          .where('org_id', '=', ctx.orgId)
          .where('issue_id', '=', issue.id)
          .executeTakeFirst();
        const report =
          (stored?.report as StoredReport | undefined) ??
          (await recomputeIssue(trx, ctx.orgId, project, { id: issue.id, number: number }));
        const history = await trx
          .selectFrom('gate_state_changes')
          .selectAll()
          .where('org_id', '=', ctx.orgId)
          .where('issue_id', '=', issue.id)
          .orderBy('id', 'desc')
          .limit(100)
          .execute();
        return {
          ...report,
          history: history.map((h) => ({
            gate: h.gate_key,
            from: h.from_state,
            to: h.to_state,
            reason: h.reason,
            runId: h.run_id,
            at: h.created_at.toISOString(),
          })),
        };
      });
    },

    /** Failures by category, then by signature; flaky tests and regressions, with evidence. */
    triage(caller: Caller, slug: string, key: string, runId: string) {
      return withTenant(db, caller, slug, 'org:read', async (trx, ctx) => {
        const project = await requireProject(trx, ctx.orgId, key);
        const run = await requireRun(trx, ctx.orgId, project.id, runId);
        const { config } = await loadQualityConfig(trx, ctx.orgId, project.id);
        const analysis = await analyzeRun(trx, ctx.orgId, project, run, config);
        const signatures = analysis.groups.flatMap((g) => g.clusters.map((c) => c.signature));
        const firstSeen = await firstSeenRuns(trx, ctx.orgId, project.id, signatures);
        const keys = [
          ...new Set([
            ...analysis.flaky.map((f) => f.testKey),
            ...analysis.regressions.newFailures,
            ...analysis.regressions.stillFailing,
          ]),
        ];
        const names = new Map<string, { classname: string; name: string }>();
        if (keys.length > 0) {
          const rows = await trx
            .selectFrom('test_results')
            .select(['test_key', 'classname', 'name'])
            .where('org_id', '=', ctx.orgId)
            .where('project_id', '=', project.id)
            .where('run_id', '=', run.id)
            .execute();
          const wanted = new Set(keys);
          for (const r of rows) {
            const k = r.test_key.toString('hex');
            if (wanted.has(k)) names.set(k, { classname: r.classname, name: r.name });
          }
        }
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
        };
      });
    },
  };
}
