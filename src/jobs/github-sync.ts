import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import { withOrgAsSystem } from '../db/system.ts';
import type { DB } from '../db/types.ts';
import {
  commentMarker,
  contentHash,
  renderStatusComment,
  type StatusCommentFacts,
} from '../domain/github-comment.ts';
import { NotFound } from '../errors.ts';
import { GithubError, githubClient, type IssueComment } from '../integrations/github.ts';
import type { Clock } from '../lib/clock.ts';
import type { SecretBox } from '../lib/secret-box.ts';
import { recordCommunication } from '../modules/communications/communications.queries.ts';
import { storedReport } from '../modules/gates/gates.queries.ts';
import type { GithubSyncJob } from '../modules/github/github.hooks.ts';
import {
  issueWithLink,
  latestCompleteRun,
  remainingActivities,
  saveComment,
  storedComment,
  unresolvedEscalations,
} from '../modules/github/github.queries.ts';

export interface GithubJobDeps {
  db: Kysely<DB>;
  box: SecretBox;
  clock: Clock;
  logger: Logger;
  config: Pick<Config, 'publicUrl' | 'outbound'>;
}

export type GithubSyncOutcome =
  | 'not-linked'
  | 'org-gone'
  | 'unchanged'
  | 'created'
  | 'updated'
  | 'recovered'
  | 'recreated'
  | 'superseded'
  | 'refused';

/** The issue's report, where the comment links to. */
export function issueReportUrl(publicUrl: string, org: string, project: string, n: number) {
  return `${publicUrl}/api/v1/orgs/${org}/projects/${project}/issues/${n}/report.md`;
}

/**
 * Creates or updates the one status comment of a tracked issue on its GitHub issue (same
 * number). Reads everything in one transaction, commits, calls GitHub, then stores the
 * outcome in another. Unchanged content is not sent. A stored comment that is gone (404) is
 * looked for by its marker among the issue's comments, else created again; with no stored
 * comment the marker is looked for first too, so a job that crashed after creating one does
 * not create a second. If another sync stored a different comment meanwhile, the one made
 * here is deleted. An answer from GitHub that retrying cannot change (bad token, no such
 * issue) ends the job with outcome `refused` and an audit entry; others fail it, for the
 * queue to retry with backoff.
 */
export async function syncIssueComment(
  deps: GithubJobDeps,
  job: { id: string; data: GithubSyncJob },
): Promise<{ outcome: GithubSyncOutcome; commentId?: number }> {
  const { orgId, issueId } = job.data;
  const why = { reason: 'GitHub status comment', jobId: job.id };
  let read;
  try {
    read = await withOrgAsSystem(deps.db, orgId, why, async (trx, ctx) => {
      const issue = await issueWithLink(trx, orgId, issueId);
      if (issue === undefined) return null;
      const [report, run, escalations, steps, stored] = [
        await storedReport(trx, orgId, issue.id),
        await latestCompleteRun(trx, orgId, issue.project_id, issue.number),
        await unresolvedEscalations(trx, orgId, issue.id, 500),
        await remainingActivities(trx, orgId, issue.id, 100),
        await storedComment(trx, orgId, issue.id),
      ];
      const facts: StatusCommentFacts = {
        org: ctx.orgSlug,
        project: issue.project_key,
        issue: { number: issue.number, title: issue.title, phase: issue.phase },
        overall: report?.overall ?? 'none',
        gates: (report?.gates ?? []).map((g) => ({
          name: g.name,
          state: g.state,
          reasons: g.reasons,
        })),
        run: run ?? null,
        escalations,
        nextSteps: steps.map((s) => ({ title: s.title, role: s.owner_role, status: s.status })),
        reportUrl: issueReportUrl(
          deps.config.publicUrl,
          ctx.orgSlug,
          issue.project_key,
          issue.number,
        ),
      };
      const body = renderStatusComment(facts);
      return {
        number: issue.number,
        repo: issue.repo,
        target: { apiUrl: issue.api_url, repo: issue.repo, sealedToken: issue.token },
        marker: commentMarker(ctx.orgSlug, issue.project_key, issue.number),
        body,
        hash: contentHash(body),
        stored:
          stored === undefined
            ? null
            : { id: Number(stored.comment_id), hash: stored.content_hash },
      };
    });
  } catch (err) {
    if (err instanceof NotFound) return { outcome: 'org-gone' };
    throw err;
  }
  if (read === null) return { outcome: 'not-linked' };
  if (read.stored?.hash === read.hash) return { outcome: 'unchanged', commentId: read.stored.id };

  // Outside any transaction from here on.
  const client = githubClient(
    {
      apiUrl: read.target.apiUrl,
      repo: read.target.repo,
      token: deps.box.open(read.target.sealedToken),
    },
    { policy: deps.config.outbound, logger: deps.logger },
  );
  let comment: IssueComment;
  let how: 'created' | 'updated' | 'recovered' | 'recreated';
  try {
    const updated =
      read.stored === null ? null : await client.updateIssueComment(read.stored.id, read.body);
    if (updated !== null) {
      [comment, how] = [updated, 'updated'];
    } else {
      const found = await client.findIssueComment(read.number, read.marker);
      const recovered =
        found === null ? null : await client.updateIssueComment(found.id, read.body);
      if (recovered !== null) [comment, how] = [recovered, 'recovered'];
      else
        [comment, how] = [
          await client.createIssueComment(read.number, read.body),
          read.stored === null ? 'created' : 'recreated',
        ];
    }
  } catch (err) {
    if (err instanceof GithubError && !err.retryable) {
      await withOrgAsSystem(deps.db, orgId, why, (_trx, ctx) =>
        ctx.audit({
          action: 'github.call_refused',
          targetType: 'issue',
          targetId: issueId,
          data: { status: err.status, message: err.message, repo: read.repo },
        }),
      );
      deps.logger.warn({ err, orgId, issueId }, 'GitHub refused the status comment');
      return { outcome: 'refused' };
    }
    throw err;
  }

  const made = how === 'created' || how === 'recreated';
  const kept = await withOrgAsSystem(deps.db, orgId, why, async (trx, ctx) => {
    const now = deps.clock.now();
    const current = await storedComment(trx, orgId, issueId, true);
    const currentId = current === undefined ? null : Number(current.comment_id);
    // Compare and set: another sync stored its comment while this one was out.
    if (made && currentId !== (read.stored?.id ?? null) && currentId !== comment.id) return false;
    await saveComment(
      trx,
      orgId,
      issueId,
      { commentId: comment.id, url: comment.url, contentHash: read.hash },
      now,
    );
    if (made) {
      await recordCommunication(trx, orgId, {
        issueId,
        channel: 'github_comment',
        externalId: String(comment.id),
        audience: `GitHub ${read.repo}#${read.number}`,
        summary: `Comment #${comment.id} added`,
        status: 'sent',
        recordedBy: 'system',
        at: now,
      });
    }
    await ctx.audit({
      action: made ? 'github.comment_created' : 'github.comment_updated',
      targetType: 'issue',
      targetId: issueId,
      data: { commentId: String(comment.id), repo: read.repo, number: read.number, how },
    });
    return true;
  });
  if (!kept) {
    await client.deleteIssueComment(comment.id);
    return { outcome: 'superseded', commentId: comment.id };
  }
  return { outcome: how, commentId: comment.id };
}
