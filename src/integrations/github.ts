import { createHash } from 'node:crypto';
import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import { Octokit } from '@octokit/rest';
import type { Logger } from 'pino';
import { assertPublicDestination, type OutboundPolicy } from './outbound-guard.ts';

/** GitHub.com's REST API; a GitHub Enterprise Server link gives its own (`https://host/api/v3`). */
export const GITHUB_API_URL = 'https://api.github.com';

/** Octokit with GitHub's recommended manners: throttled writes (one at a time per token,
 *  with Retry-After obeyed on rate limits) and retried 5xx answers with backoff. */
const GatehouseOctokit = Octokit.plugin(throttling, retry);

export interface GithubTarget {
  apiUrl: string;
  /** The plaintext token, opened from its sealed form just before the call. */
  token: string;
  /** `owner/name`. */
  repo: string;
}

export interface GithubClientOptions {
  policy: OutboundPolicy;
  logger: Logger;
  /** Each HTTP request's own time limit (a retried request gets a fresh one). */
  timeoutMs?: number;
  /** A rate limit asking to wait longer than this fails the call; the job queue retries later. */
  maxRetryAfterSeconds?: number;
  /** How many times a rate-limited call waits and tries again before failing. */
  rateLimitRetries?: number;
}

export interface IssueComment {
  id: number;
  url: string | null;
}

/** An error answer from GitHub (after the client's own retries), with its HTTP status. */
export class GithubError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** Worth trying again later (5xx, timeouts, rate limits); false: a bad token, no such
     *  issue, a refused body, which no retry changes. */
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'GithubError';
  }
}

function isRateLimited(err: unknown): boolean {
  const headers = (err as { response?: { headers?: Record<string, unknown> } }).response?.headers;
  return (
    headers?.['retry-after'] !== undefined ||
    headers?.['x-ratelimit-remaining'] === '0' ||
    (err instanceof Error && /rate limit/i.test(err.message))
  );
}

const COMMENT_PAGES = 50; // 5,000 comments: an issue with more is not searched further.

/**
 * A client for one linked repository. Every call checks first that the API's address is a
 * public one (the outbound guard, at call time: DNS may have changed since the link was
 * saved), has its own timeout, and runs through Octokit's throttling and retry plugins.
 * Never call it inside a database transaction.
 */
export function githubClient(target: GithubTarget, opts: GithubClientOptions) {
  const [owner = '', repo = ''] = target.repo.split('/');
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const maxWait = opts.maxRetryAfterSeconds ?? 60;
  const retries = opts.rateLimitRetries ?? 3;
  const log = opts.logger.child({ component: 'github', repo: target.repo });
  const wantRetry =
    (kind: string) => (retryAfter: number, options: unknown, _o: unknown, n: number) => {
      const again = n < retries && retryAfter <= maxWait;
      const { method, url } = options as { method?: string; url?: string };
      log.warn({ kind, retryAfter, attempt: n + 1, method, url, again }, 'GitHub rate limit');
      return again;
    };
  const guardedFetch: typeof fetch = async (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    await assertPublicDestination(url, opts.policy);
    return fetch(input, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  };
  const octokit = new GatehouseOctokit({
    auth: target.token,
    baseUrl: target.apiUrl.replace(/\/+$/, ''),
    userAgent: 'gatehouse',
    request: { fetch: guardedFetch },
    log: {
      debug: () => undefined,
      info: () => undefined,
      warn: (message: string) => log.warn(message),
      error: (message: string) => log.error(message),
    },
    throttle: {
      // Writes are spaced and serialized per token (GitHub asks for writes one at a time).
      id: createHash('sha256').update(`${target.apiUrl}\n${target.token}`).digest('hex'),
      onRateLimit: wantRetry('primary'),
      onSecondaryRateLimit: wantRetry('secondary'),
    },
    retry: { retries: 3 },
  });

  const call = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      const status = (err as { status?: unknown }).status;
      if (typeof status === 'number') {
        const said = err instanceof Error ? `: ${err.message.slice(0, 200)}` : '';
        const retryable =
          status >= 500 ||
          status === 408 ||
          status === 429 ||
          (status === 403 && isRateLimited(err));
        throw new GithubError(status, `GitHub answered ${status} to ${what}${said}`, retryable);
      }
      throw err;
    }
  };

  return {
    repo: target.repo,

    /** Creates a comment on the issue. */
    createIssueComment(issueNumber: number, body: string): Promise<IssueComment> {
      return call('creating an issue comment', async () => {
        const { data } = await octokit.rest.issues.createComment({
          owner,
          repo,
          issue_number: issueNumber,
          body,
        });
        return { id: data.id, url: data.html_url ?? null };
      });
    },

    /** Replaces a comment's body; null when the comment is gone (404). */
    async updateIssueComment(commentId: number, body: string): Promise<IssueComment | null> {
      try {
        return await call('updating an issue comment', async () => {
          const { data } = await octokit.rest.issues.updateComment({
            owner,
            repo,
            comment_id: commentId,
            body,
          });
          return { id: data.id, url: data.html_url ?? null };
        });
      } catch (err) {
        if (err instanceof GithubError && err.status === 404) return null;
        throw err;
      }
    },

    /** Deletes a comment (one that is gone already counts as deleted). */
    async deleteIssueComment(commentId: number): Promise<void> {
      try {
        await call('deleting an issue comment', () =>
          octokit.rest.issues.deleteComment({ owner, repo, comment_id: commentId }),
        );
      } catch (err) {
        if (!(err instanceof GithubError && err.status === 404)) throw err;
      }
    },

    /** The first of the issue's comments whose body contains `marker`, oldest first. */
    findIssueComment(issueNumber: number, marker: string): Promise<IssueComment | null> {
      return call('listing issue comments', async () => {
        let pages = 0;
        for await (const { data } of octokit.paginate.iterator(octokit.rest.issues.listComments, {
          owner,
          repo,
          issue_number: issueNumber,
          per_page: 100,
        })) {
          const found = data.find((c) => c.body?.includes(marker) === true);
          if (found !== undefined) return { id: found.id, url: found.html_url ?? null };
          if (++pages >= COMMENT_PAGES) break;
        }
        return null;
      });
    },

    /** Sets a commit status (`POST /repos/{owner}/{repo}/statuses/{sha}`). */
    createCommitStatus(
      sha: string,
      status: {
        state: 'success' | 'failure' | 'pending' | 'error';
        context: string;
        description: string;
        targetUrl: string;
      },
    ): Promise<{ id: number }> {
      return call('setting a commit status', async () => {
        const { data } = await octokit.rest.repos.createCommitStatus({
          owner,
          repo,
          sha,
          state: status.state,
          context: status.context,
          description: status.description,
          target_url: status.targetUrl,
        });
        return { id: data.id };
      });
    },
  };
}
export type GithubClient = ReturnType<typeof githubClient>;
