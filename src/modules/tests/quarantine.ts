import { sql, type Transaction } from 'kysely';
import type { TenantContext } from '../../db/tenant.ts';
import type { DB } from '../../db/types.ts';
import { cancelDue, scheduleDue } from '../../jobs/due-work.queries.ts';
import { recomputeIssues, type IssueRef, type ProjectRef } from '../gates/gate-engine.ts';
import { issuesOfProject } from '../issues/issues.queries.ts';

/**
 * Judges the project's issues again (all of them, or the ones given) at `now`: quarantines
 * and known failures change what their runs' failures count for.
 */
export async function rejudgeProject(
  trx: Transaction<DB>,
  ctx: TenantContext,
  project: ProjectRef,
  now: Date,
  issues?: IssueRef[],
): Promise<void> {
  const which = issues ?? (await issuesOfProject(trx, ctx.orgId, project.id));
  if (which.length === 0) return;
  await recomputeIssues(trx, ctx.orgId, project, which, { now, ctx });
}

/**
 * The project's next quarantine expiry becomes due work ('quarantine.expiry', the project as
 * its ref): when it comes, the project's issues are judged again without the expired one.
 */
export async function scheduleQuarantineExpiry(
  trx: Transaction<DB>,
  orgId: string,
  projectId: string,
  now: Date,
): Promise<void> {
  const { rows } = await sql<{ next: Date | null }>`
    SELECT min(expires_at) AS next FROM test_quarantines
    WHERE org_id = ${orgId} AND project_id = ${projectId} AND expires_at > ${now}`.execute(trx);
  const next = rows[0]?.next ?? null;
  if (next === null) await cancelDue(trx, orgId, 'quarantine.expiry', projectId);
  else await scheduleDue(trx, orgId, 'quarantine.expiry', projectId, next);
}
