import type { Transaction } from 'kysely';
import type { DB } from '../../db/types.ts';
import { enqueueJob, QUEUES } from '../../jobs/queue.ts';
import { linkedIssue, linkedRunWithCommit } from './github.queries.ts';

/** What a github-sync job carries. */
export interface GithubSyncJob {
  orgId: string;
  issueId: string;
}

/** What a github-status job carries. */
export interface GithubStatusJob {
  orgId: string;
  runId: string;
}

/**
 * Enqueues the update of the issue's status comment on GitHub, inside the caller's
 * transaction, when the issue's project is linked. One job waits per issue at a time (a
 * singleton key), so a burst of changes becomes one edit; the job reads the state when it
 * runs. Answers whether anything was enqueued (false: not linked, or a job already waits).
 */
export async function enqueueGithubSync(
  trx: Transaction<DB>,
  orgId: string,
  issueId: string,
): Promise<boolean> {
  if ((await linkedIssue(trx, orgId, issueId)) === undefined) return false;
  const data: GithubSyncJob = { orgId, issueId };
  const id = await enqueueJob(trx, QUEUES.githubSync, data, {
    singletonKey: `github-sync:${orgId}:${issueId}`,
  });
  return id !== '';
}

/**
 * Enqueues setting the commit status of a completed run on GitHub, inside the caller's
 * transaction, when the run's project is linked and the run names a commit. Answers
 * whether it was enqueued.
 */
export async function enqueueCommitStatus(
  trx: Transaction<DB>,
  orgId: string,
  runId: string,
): Promise<boolean> {
  if ((await linkedRunWithCommit(trx, orgId, runId)) === undefined) return false;
  const data: GithubStatusJob = { orgId, runId };
  return (await enqueueJob(trx, QUEUES.githubStatus, data)) !== '';
}
