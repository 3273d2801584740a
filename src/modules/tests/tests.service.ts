import type { Kysely } from 'kysely';
import { readAsTenant, withTenant, type Caller, type TenantContext } from '../../db/tenant.ts';
import type { Executor } from '../../db/executor.ts';
import type { DB } from '../../db/types.ts';
import type { TestQuarantineRow } from '../../db/types-history-reads.ts';
import {
  DEFAULT_FLAKINESS,
  decodeStatus,
  flakinessSettings,
  gateStatesByRun,
  overallFromStates,
  trendBuckets,
  type Bucket,
  type ResultStatus,
} from '../../domain/history.ts';
import { passRate } from '../../domain/junit.ts';
import { DEFAULT_CONFIG, type QualityConfig } from '../../domain/quality.ts';
import { BadInput } from '../../errors.ts';
import type { Clock } from '../../lib/clock.ts';
import { decodeCursor, toPage } from '../../lib/pagination.ts';
import { decodeDuration, NO_DURATION } from '../runs/run-blocks.ts';
import { projectNotFound } from '../projects/projects.queries.ts';
import { inIssue, inProject, type IssueScope, type ProjectScope } from '../scope.ts';
import { rejudgeProject, scheduleQuarantineExpiry } from './quarantine.ts';
import { createTestListCache, type TestSort } from './test-list.ts';
import {
  testHistoryState,
  testHistoryStatement,
  testListState,
  testListStatement,
  trendsState,
  trendsStatement,
} from './tests-reads.queries.ts';
import {
  completeRunsOfIssue,
  deleteQuarantine,
  deleteRun,
  gateChangesOfIssue,
  issuesJudgedOn,
  putQuarantine,
  requireProjectRun,
  requireTest,
  testNotFound,
} from './tests.queries.ts';

const DAY = 86_400_000;

/** The flakiness window when a stored configuration does not set it, and when none is stored. */
const WINDOWS = {
  defaultWindow: DEFAULT_FLAKINESS.window,
  unconfiguredWindow: flakinessSettings(DEFAULT_CONFIG.flakiness).window,
};

/** Why a trends range is refused (`from` after `to`, or over three years), if it is. */
function rangeRefusal(from: Date, to: Date): BadInput | undefined {
  if (!(from <= to))
    return new BadInput('querystring/from must not be after to', [
      { path: 'querystring/from', message: 'must not be after to' },
    ]);
  if (to.getTime() - from.getTime() > 3 * 366 * DAY)
    return new BadInput('querystring/from spans more than three years', [
      { path: 'querystring/from', message: 'must be within three years of to' },
    ]);
  return undefined;
}

function quarantineOut(q: TestQuarantineRow | undefined) {
  if (q === undefined) return null;
  return {
    reason: q.reason,
    by: { type: q.by_type, id: q.by_id },
    at: q.created_at.toISOString(),
    expiresAt: q.expires_at?.toISOString() ?? null,
  };
}

const whoActs = (ctx: TenantContext): Pick<TestQuarantineRow, 'by_type' | 'by_id'> => ({
  by_type: ctx.actorType,
  by_id: ctx.actorId,
});

export function createTestService(deps: { db: Kysely<DB>; clock: Clock }) {
  const { db, clock } = deps;
  const testLists = createTestListCache();
  return {
    /**
     * The project's tests with their last status, failure and flip rates, mean and p95
     * duration over the default branch's latest complete runs (quality config
     * `flakiness.window`), flaky over history, quarantined. Computed from the runs' blocks.
     */
    list(
      caller: Caller,
      scope: ProjectScope,
      q: {
        query?: string | undefined;
        status?: ResultStatus | undefined;
        flaky?: boolean | undefined;
        sort: TestSort;
        limit: number;
        cursor?: string | undefined;
      },
    ) {
      const offset = Number(decodeCursor(q.cursor, 'int') ?? 0);
      const needle = q.query?.toLowerCase();
      // The state (project, window, fingerprint, quarantines) in one round trip; summaries
      // are recomputed, in a transaction of their own, only when it shows them stale.
      const inTenant = <X>(fn: (trx: Executor) => Promise<X>) =>
        withTenant(db, caller, scope.org, 'org:read', (trx) => fn(trx));
      return readAsTenant(
        db,
        caller,
        scope.org,
        'org:read',
        (orgId) => testListStatement(db, orgId, scope.project, WINDOWS, clock.now()),
        async (found, ctx) => {
          const state = testListState(ctx.orgId, found);
          if (state === undefined) throw projectNotFound();
          const { project, quarantines } = state;
          const config = (state.config ?? DEFAULT_CONFIG) as QualityConfig;
          const settings = flakinessSettings(config.flakiness);
          const summaries = await testLists.summaries(
            inTenant,
            ctx.orgId,
            project,
            settings,
            state,
          );
          const sorted = summaries.sorted(q.sort);
          const rows =
            needle === undefined && q.status === undefined && q.flaky === undefined
              ? sorted
              : sorted.filter(
                  (r) =>
                    (needle === undefined ||
                      r.name.toLowerCase().includes(needle) ||
                      r.classname.toLowerCase().includes(needle) ||
                      r.suite.toLowerCase().includes(needle)) &&
                    (q.status === undefined || r.lastStatus === q.status) &&
                    (q.flaky === undefined || r.flaky === q.flaky),
                );
          const page = rows.slice(offset, offset + q.limit + 1);
          return {
            ...toPage(
              page.map((r, i) => ({ r, at: offset + i + 1 })),
              q.limit,
              (x) => String(x.at),
              (x) => ({ ...x.r, quarantined: quarantineOut(quarantines.get(x.r.testId)) }),
            ),
            window: { branch: project.default_branch, runs: summaries.windowRuns },
          };
        },
      );
    },

    /** One test's results across runs (all branches, or one), newest first, paged. */
    history(
      caller: Caller,
      scope: ProjectScope,
      testId: string,
      q: { branch?: string | undefined; limit: number; cursor?: string | undefined },
    ) {
      const before = decodeCursor(q.cursor);
      return readAsTenant(
        db,
        caller,
        scope.org,
        'org:read',
        (orgId) =>
          testHistoryStatement(db, orgId, scope.project, testId, {
            branch: q.branch,
            before,
            limit: q.limit,
            now: clock.now(),
          }),
        (found, ctx) => {
          const { projectFound, test, quarantine, rows } = testHistoryState(ctx.orgId, found);
          if (!projectFound) throw projectNotFound();
          if (test === undefined) throw testNotFound();
          const page = toPage(
            rows,
            q.limit,
            (r) => r.id,
            (r) => {
              const { status, flaky } = decodeStatus(r.code);
              const durationMs = r.duration_ms ?? decodeDuration(r.micros ?? NO_DURATION) ?? null;
              return {
                runId: r.id,
                commit: r.commit_sha,
                branch: r.branch,
                build: r.build,
                issue: r.issue_number,
                runStatus: r.status,
                at: r.at.toISOString(),
                status: status ?? 'skipped',
                flaky,
                durationMs,
                failureType: r.failure_type,
                failureMessage: r.failure_message,
              };
            },
          );
          return {
            test: {
              testId,
              suite: test.suite,
              classname: test.classname,
              name: test.name,
              quarantined: quarantineOut(quarantine),
            },
            ...page,
          };
        },
      );
    },

    /** Pass rate, counts, mean run duration and flaky count per bucket, from run totals. */
    trends(
      caller: Caller,
      scope: ProjectScope,
      q: {
        branch?: string | undefined;
        from?: string | undefined;
        to?: string | undefined;
        bucket: Bucket;
      },
    ) {
      const to = q.to === undefined ? clock.now() : new Date(q.to);
      const from = q.from === undefined ? new Date(to.getTime() - 90 * DAY) : new Date(q.from);
      const refusal = rangeRefusal(from, to);
      return readAsTenant(
        db,
        caller,
        scope.org,
        'org:read',
        // A refused range is read as the empty one at `to`: only whether the project exists.
        (orgId) =>
          trendsStatement(db, orgId, scope.project, {
            branch: q.branch,
            from: refusal === undefined ? from : to,
            to,
          }),
        (rows) => {
          const found = trendsState(rows);
          // Another org's project, or a missing one, is a 404 before the range is judged.
          if (found === undefined) throw projectNotFound();
          if (refusal !== undefined) throw refusal;
          const branch = q.branch ?? found.defaultBranch;
          const sums = found.sums;
          return {
            branch,
            from: from.toISOString(),
            to: to.toISOString(),
            bucket: q.bucket,
            items: trendBuckets(
              sums.map((r) => ({
                at: r.at,
                runs: r.runs,
                tests: r.tests,
                passed: r.passed,
                failed: r.failed,
                errored: r.errored,
                skipped: r.skipped,
                flaky: r.flaky,
                durationMs: r.duration_ms,
              })),
              from,
              to,
              q.bucket,
            ),
            nextCursor: null,
          };
        },
      );
    },

    /** The issue's complete runs (latest 500), oldest first: pass rate and the gate state each left. */
    issueTrend(caller: Caller, scope: IssueScope) {
      return inIssue(db, caller, scope, 'org:read', async (trx, ctx, { project, issue }) => {
        const runs = await completeRunsOfIssue(trx, ctx.orgId, project.id, issue.number, 500);
        const changes = await gateChangesOfIssue(trx, ctx.orgId, issue.id);
        const states = gateStatesByRun(
          runs.map((r) => ({ id: r.id, completedAt: r.completed_at })),
          changes.map((c) => ({
            gate: c.gate_key,
            to: c.to_state,
            runId: c.run_id,
            at: c.created_at,
          })),
        );
        return {
          items: runs.map((r) => {
            const gates = states.get(r.id) ?? {};
            return {
              runId: r.id,
              at: r.completed_at.toISOString(),
              commit: r.commit_sha,
              branch: r.branch,
              tests: r.tests,
              passed: r.passed,
              failed: r.failed,
              errored: r.errored,
              skipped: r.skipped,
              passRate: passRate(r),
              overall: overallFromStates(gates),
              gates,
            };
          }),
          nextCursor: null,
        };
      });
    },

    /**
     * Quarantines a test (projects:write): its failures are excused from now until
     * `expiresAt` or until lifted. Audited; the project's issues are judged again at once.
     */
    quarantine(
      caller: Caller,
      scope: ProjectScope,
      testId: string,
      body: { reason: string; expiresAt?: string | null | undefined },
    ) {
      return inProject(db, caller, scope, 'projects:write', async (trx, ctx, project) => {
        const now = clock.now();
        const expiresAt =
          body.expiresAt === undefined || body.expiresAt === null ? null : new Date(body.expiresAt);
        if (expiresAt !== null && expiresAt <= now)
          throw new BadInput('body/expiresAt is in the past', [
            { path: 'body/expiresAt', message: 'must be in the future' },
          ]);
        const test = await requireTest(trx, ctx.orgId, project.id, testId);
        const row: TestQuarantineRow = {
          org_id: ctx.orgId,
          project_id: project.id,
          test_key: test.test_key,
          reason: body.reason,
          ...whoActs(ctx),
          created_at: now,
          expires_at: expiresAt,
        };
        const before = await putQuarantine(trx, row);
        await ctx.audit({
          action: 'test.quarantined',
          targetType: 'test',
          targetId: null,
          data: {
            project: project.key,
            testId,
            test: `${test.classname}.${test.name}`,
            reason: body.reason,
            expiresAt: expiresAt?.toISOString() ?? null,
            ...(before === undefined ? {} : { replaced: quarantineOut(before) }),
          },
        });
        await scheduleQuarantineExpiry(trx, ctx.orgId, project.id, now);
        await rejudgeProject(trx, ctx, project, now);
        return quarantineOut(row)!;
      });
    },

    /** Lifts a test's quarantine (projects:write), audited; its failures count again. */
    unquarantine(caller: Caller, scope: ProjectScope, testId: string) {
      return inProject(db, caller, scope, 'projects:write', async (trx, ctx, project) => {
        const now = clock.now();
        const test = await requireTest(trx, ctx.orgId, project.id, testId);
        const lifted = await deleteQuarantine(trx, ctx.orgId, project.id, test.test_key);
        if (lifted === undefined) return;
        await ctx.audit({
          action: 'test.unquarantined',
          targetType: 'test',
          targetId: null,
          data: {
            project: project.key,
            testId,
            test: `${test.classname}.${test.name}`,
            was: quarantineOut(lifted),
          },
        });
        await scheduleQuarantineExpiry(trx, ctx.orgId, project.id, now);
        await rejudgeProject(trx, ctx, project, now);
      });
    },

    /**
     * Deletes a run with its results (projects:write), audited. Issues judged on it are
     * judged again on their newest remaining complete run.
     */
    deleteRun(caller: Caller, scope: ProjectScope, runId: string) {
      return inProject(db, caller, scope, 'projects:write', async (trx, ctx, project) => {
        const run = await requireProjectRun(trx, ctx.orgId, project.id, runId);
        const judged = await issuesJudgedOn(trx, ctx.orgId, run.id);
        await deleteRun(trx, ctx.orgId, run.id);
        await ctx.audit({
          action: 'run.deleted',
          targetType: 'run',
          targetId: run.id,
          data: {
            project: project.key,
            issue: run.issue_number,
            rejudged: judged.map((i) => i.number),
          },
        });
        await rejudgeProject(trx, ctx, project, clock.now(), judged);
      });
    },
  };
}
