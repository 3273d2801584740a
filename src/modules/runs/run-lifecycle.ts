import type { Selectable, Transaction } from 'kysely';
import type { TenantContext } from '../../db/tenant.ts';
import type { DB, TestRunsTable } from '../../db/types.ts';
import { passRate } from '../../domain/junit.ts';
import { cancelDue, scheduleDue } from '../../jobs/due-work.queries.ts';
import { recomputeIssue, type ProjectRef, type StoredReport } from '../gates/gate-engine.ts';
import { enqueueCommitStatus } from '../github/github.hooks.ts';
import { ensureIssue } from '../issues/issues.queries.ts';
import { emitEvent } from '../webhooks/events.ts';
import { projectOfRun, setRunStatus } from './runs.queries.ts';

export type Run = Selectable<TestRunsTable>;

/** Why a run became complete: its upload ended (no shards), its last shard arrived, it went
 *  quiet, or someone closed it. */
export type CompletedBy = 'upload' | 'shards' | 'quiet' | 'request';

/** Whether a run that has just received an upload is complete now. */
export function isCompleteAfterUpload(run: Pick<Run, 'shards' | 'uploads'>): boolean {
  return run.shards === null || run.uploads >= run.shards;
}

/** The issue of the run exists (first tracked through an upload: audited as created). */
async function issueOfRun(trx: Transaction<DB>, ctx: TenantContext, run: Run, projectKey: string) {
  const { issue, created } = await ensureIssue(trx, ctx.orgId, run.project_id, run.issue_number!);
  if (created) {
    await ctx.audit({
      action: 'issue.created',
      targetType: 'issue',
      targetId: issue.id,
      data: { project: projectKey, number: issue.number, from: 'upload' },
    });
  }
  return { issue, created };
}

/**
 * Leaves a run open for more shards: the sweep closes it once it has been quiet for
 * `quietSeconds`. Gates are not judged; an issue first named here gets its first report.
 */
export async function keepOpen(
  trx: Transaction<DB>,
  ctx: TenantContext,
  run: Run,
  opts: { now: Date; quietSeconds: number; project: ProjectRef },
): Promise<Run> {
  const open =
    run.status === 'open' ? run : await setRunStatus(trx, ctx.orgId, run.id, 'open', opts.now);
  await scheduleDue(
    trx,
    ctx.orgId,
    'run.quiet',
    run.id,
    new Date(run.last_upload_at.getTime() + opts.quietSeconds * 1000),
  );
  if (run.issue_number !== null) {
    const { issue, created } = await issueOfRun(trx, ctx, run, opts.project.key);
    if (created) {
      await recomputeIssue(
        trx,
        ctx.orgId,
        opts.project,
        { id: issue.id, number: issue.number },
        { now: opts.now, ctx },
      );
    }
  }
  return open;
}

/**
 * Marks a run complete and judges its issue's gates, once, in the caller's transaction,
 * enqueueing the run.completed event and the commit status with it. A run that was never
 * open (an upload without shards) is judged (and announced) again on every upload that
 * joins it, as matrix jobs that declare nothing expect.
 */
export async function completeRun(
  trx: Transaction<DB>,
  ctx: TenantContext,
  run: Run,
  opts: { now: Date; by: CompletedBy; project?: ProjectRef },
): Promise<{ run: Run; gates: StoredReport | undefined }> {
  // The request paths have the project already; a job knows only the run.
  const project = opts.project ?? (await projectOfRun(trx, ctx.orgId, run.project_id));
  const wasOpen = run.status === 'open' || run.shards !== null;
  const done = await setRunStatus(trx, ctx.orgId, run.id, 'complete', opts.now);
  if (wasOpen) {
    await cancelDue(trx, ctx.orgId, 'run.quiet', run.id);
    await ctx.audit({
      action: 'run.completed',
      targetType: 'run',
      targetId: run.id,
      data: { project: project.key, by: opts.by, uploads: run.uploads, shards: run.shards },
    });
  }
  let gates: StoredReport | undefined;
  if (run.issue_number !== null) {
    const { issue } = await issueOfRun(trx, ctx, run, project.key);
    gates = await recomputeIssue(
      trx,
      ctx.orgId,
      project,
      { id: issue.id, number: issue.number },
      { now: opts.now, ctx },
    );
  }
  await announceCompleted(trx, ctx.orgId, done, project.key, gates, opts.now);
  return { run: done, gates };
}

/** The run.completed event and the commit status on GitHub, both enqueued with the change. */
async function announceCompleted(
  trx: Transaction<DB>,
  orgId: string,
  run: Run,
  projectKey: string,
  gates: StoredReport | undefined,
  now: Date,
): Promise<void> {
  await emitEvent(
    trx,
    orgId,
    'run.completed',
    {
      runId: run.id,
      project: projectKey,
      issue: run.issue_number,
      totals: {
        tests: run.tests,
        passed: run.passed,
        failed: run.failed,
        errored: run.errored,
        skipped: run.skipped,
        flaky: run.flaky,
      },
      passRate: passRate(run),
      // The verdict of the run's issue's gates; null for a run that names no issue.
      status: gates?.overall ?? null,
    },
    now,
  );
  await enqueueCommitStatus(trx, orgId, run.id);
}
