import { withOrgAsSystem } from '../db/system.ts';
import { commitStatusOf } from '../domain/github-comment.ts';
import { NotFound } from '../errors.ts';
import { GithubError, githubClient } from '../integrations/github.ts';
import { recordCommunication } from '../modules/communications/communications.queries.ts';
import { storedReport } from '../modules/gates/gates.queries.ts';
import type { GithubStatusJob } from '../modules/github/github.hooks.ts';
import { runWithLink } from '../modules/github/github.queries.ts';
import { findIssue } from '../modules/issues/issues.queries.ts';
import { issueReportUrl, type GithubJobDeps } from './github-sync.ts';

export type GithubStatusOutcome = 'not-linked' | 'org-gone' | 'not-complete' | 'set' | 'refused';

/**
 * Sets the commit status of a completed run on GitHub: context `Gatehouse / <project>`,
 * state from its issue's overall gate state (or from the run without one), the blocking
 * reasons as description, the issue's report (or the run) as target. Reads in one
 * transaction, calls GitHub outside any, records the communication in another.
 */
export async function setCommitStatus(
  deps: GithubJobDeps,
  job: { id: string; data: GithubStatusJob },
): Promise<{ outcome: GithubStatusOutcome; state?: string }> {
  const { orgId, runId } = job.data;
  const why = { reason: 'GitHub commit status of a completed run', jobId: job.id };
  let read;
  try {
    read = await withOrgAsSystem(deps.db, orgId, why, async (trx, ctx) => {
      const run = await runWithLink(trx, orgId, runId);
      if (run === undefined || run.commit_sha === null || run.commit_sha === '') return null;
      if (run.status !== 'complete') return 'not-complete' as const;
      const issue =
        run.issue_number === null
          ? undefined
          : await findIssue(trx, orgId, run.project_id, run.issue_number);
      const report = issue === undefined ? undefined : await storedReport(trx, orgId, issue.id);
      const status = commitStatusOf({
        overall: report?.overall ?? null,
        gates: report?.gates ?? [],
        run,
      });
      const base = `${deps.config.publicUrl}/api/v1/orgs/${ctx.orgSlug}/projects/${run.project_key}`;
      return {
        sha: run.commit_sha,
        issueId: issue?.id ?? null,
        target: { apiUrl: run.api_url, repo: run.repo, sealedToken: run.token },
        status: {
          ...status,
          context: `Gatehouse / ${run.project_key}`,
          targetUrl:
            issue === undefined
              ? `${base}/runs/${run.id}`
              : issueReportUrl(deps.config.publicUrl, ctx.orgSlug, run.project_key, issue.number),
        },
      };
    });
  } catch (err) {
    if (err instanceof NotFound) return { outcome: 'org-gone' };
    throw err;
  }
  if (read === null) return { outcome: 'not-linked' };
  if (read === 'not-complete') return { outcome: 'not-complete' };

  const client = githubClient(
    {
      apiUrl: read.target.apiUrl,
      repo: read.target.repo,
      token: deps.box.open(read.target.sealedToken),
    },
    { policy: deps.config.outbound, logger: deps.logger },
  );
  let statusId: number;
  try {
    statusId = (await client.createCommitStatus(read.sha, read.status)).id;
  } catch (err) {
    if (err instanceof GithubError && !err.retryable) {
      await withOrgAsSystem(deps.db, orgId, why, (_trx, ctx) =>
        ctx.audit({
          action: 'github.call_refused',
          targetType: 'run',
          targetId: runId,
          data: { status: err.status, message: err.message, repo: read.target.repo },
        }),
      );
      deps.logger.warn({ err, orgId, runId }, 'GitHub refused the commit status');
      return { outcome: 'refused' };
    }
    throw err;
  }

  await withOrgAsSystem(deps.db, orgId, why, (trx) =>
    recordCommunication(trx, orgId, {
      issueId: read.issueId,
      channel: 'github_status',
      externalId: String(statusId),
      audience: `GitHub ${read.target.repo}@${read.sha.slice(0, 12)}`,
      summary: `Commit status ${read.status.state}: ${read.status.description}`,
      status: 'sent',
      ref: { type: 'run', id: runId },
      recordedBy: 'system',
      at: deps.clock.now(),
    }),
  );
  return { outcome: 'set', state: read.status.state };
}
