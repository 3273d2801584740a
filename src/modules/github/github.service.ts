import type { Kysely, Selectable } from 'kysely';
import type { Config } from '../../config.ts';
import { withOrgAsSystem, withSystem } from '../../db/system.ts';
import type { Caller } from '../../db/tenant.ts';
import type { DB } from '../../db/types.ts';
import type { GithubLinksTable } from '../../db/types-coordination.ts';
import { BadInput, Conflict, NotFound, Unauthorized } from '../../errors.ts';
import { GITHUB_API_URL } from '../../integrations/github.ts';
import { assertOutboundUrl } from '../../integrations/outbound-guard.ts';
import type { Clock } from '../../lib/clock.ts';
import type { SecretBox } from '../../lib/secret-box.ts';
import { recordCommunication } from '../communications/communications.queries.ts';
import { movePhase, returnFromPhase } from '../issues/phase.ts';
import { findIssue } from '../issues/issues.queries.ts';
import { updateProject } from '../projects/projects.queries.ts';
import { inIssue, inProject, type IssueScope, type ProjectScope } from '../scope.ts';
import { enqueueGithubSync } from './github.hooks.ts';
import {
  deleteLink,
  findLink,
  forgetProjectComments,
  linksForRepo,
  upsertLink,
} from './github.queries.ts';
import { GITHUB_REPO } from './github.schema.ts';
import { isSignatureHeader, verifyWebhookSignature } from './signature.ts';

export const WEBHOOK_PATH = '/api/v1/github/webhook';

interface LinkInput {
  repo: string;
  token: string;
  apiUrl?: string | undefined;
  webhookSecret?: string | undefined;
}

/** An inbound delivery: GitHub's headers and the raw body they sign. */
export interface WebhookDelivery {
  event: string | undefined;
  deliveryId: string | undefined;
  signature: string | undefined;
  body: Buffer;
}

export function createGithubService(deps: {
  db: Kysely<DB>;
  box: SecretBox;
  clock: Clock;
  config: Pick<Config, 'publicUrl' | 'outbound'>;
}) {
  const { db, box, clock, config } = deps;
  const linkOut = (l: Selectable<GithubLinksTable>) => ({
    repo: l.repo,
    apiUrl: l.api_url,
    hasWebhookSecret: l.webhook_secret !== null,
    webhookUrl: `${config.publicUrl}${WEBHOOK_PATH}`,
    createdAt: l.created_at.toISOString(),
    updatedAt: l.updated_at.toISOString(),
  });

  return {
    /** Links the project to a repository (replacing any link it had); secrets sealed. */
    link(caller: Caller, scope: ProjectScope, input: LinkInput) {
      return inProject(db, caller, scope, 'projects:write', async (trx, ctx, project) => {
        if (!GITHUB_REPO.test(input.repo))
          throw new BadInput('body/repo must be owner/name', [
            { path: 'body/repo', message: 'must be owner/name' },
          ]);
        const apiUrl = assertOutboundUrl(
          input.apiUrl ?? GITHUB_API_URL,
          config.outbound,
          'body/apiUrl',
        )
          .toString()
          .replace(/\/+$/, '');
        const before = await findLink(trx, ctx.orgId, project.id);
        const now = clock.now();
        const link = await upsertLink(
          trx,
          ctx.orgId,
          project.id,
          {
            repo: input.repo,
            apiUrl,
            token: box.seal(input.token),
            webhookSecret: input.webhookSecret === undefined ? null : box.seal(input.webhookSecret),
          },
          now,
        );
        // Stored comment ids belong to the repository they were made in.
        if (before !== undefined && (before.repo !== link.repo || before.api_url !== apiUrl))
          await forgetProjectComments(trx, ctx.orgId, project.id);
        if (project.github_repo !== input.repo)
          await updateProject(trx, ctx.orgId, project.id, { githubRepo: input.repo });
        await ctx.audit({
          action: before === undefined ? 'github.linked' : 'github.relinked',
          targetType: 'project',
          targetId: project.id,
          data: { repo: link.repo, apiUrl, webhookSecret: link.webhook_secret !== null },
        });
        return linkOut(link);
      });
    },

    get(caller: Caller, scope: ProjectScope) {
      return inProject(db, caller, scope, 'org:read', async (trx, ctx, project) => {
        const link = await findLink(trx, ctx.orgId, project.id);
        if (link === undefined) throw new NotFound('The project is not linked to GitHub');
        return linkOut(link);
      });
    },

    unlink(caller: Caller, scope: ProjectScope) {
      return inProject(db, caller, scope, 'projects:write', async (trx, ctx, project) => {
        if (!(await deleteLink(trx, ctx.orgId, project.id)))
          throw new NotFound('The project is not linked to GitHub');
        await forgetProjectComments(trx, ctx.orgId, project.id);
        await ctx.audit({ action: 'github.unlinked', targetType: 'project', targetId: project.id });
      });
    },

    /** Queues the creation or update of the issue's status comment (answered before GitHub is called). */
    requestSync(caller: Caller, scope: IssueScope) {
      return inIssue(db, caller, scope, 'issues:write', async (trx, ctx, { project, issue }) => {
        if ((await findLink(trx, ctx.orgId, project.id)) === undefined)
          throw new Conflict('Link the project to GitHub first (PUT .../projects/:project/github)');
        const newJob = await enqueueGithubSync(trx, ctx.orgId, issue.id);
        await ctx.audit({
          action: 'github.sync_requested',
          targetType: 'issue',
          targetId: issue.id,
          data: { number: issue.number },
        });
        return { queued: true, newJob };
      });
    },

    /**
     * A GitHub webhook delivery. The repository it names leads to the projects linked to it
     * (across orgs, through the one lookup made for it); each is entered through the system
     * door, where its secret is opened and the signature checked in constant time. Only a
     * project whose secret matches is changed: an issue closed on GitHub moves to `done`,
     * reopened returns to the phase before. Unsigned, or signed by no linked secret: 401.
     */
    async receiveWebhook(d: WebhookDelivery): Promise<{ matched: number; changed: number }> {
      const signature = d.signature;
      if (!isSignatureHeader(signature))
        throw new Unauthorized('X-Hub-Signature-256 is missing or is not sha256=<hex>');
      const payload = parsePayload(d.body);
      const candidates = await withSystem(db, (trx) => linksForRepo(trx, payload.repo));
      let matched = 0;
      let changed = 0;
      const event = d.event !== undefined && WORD.test(d.event) ? d.event : 'event';
      const what = [event, payload.action ?? ''].join(' ').trim();
      const by = payload.sender === null ? '' : ` by @${payload.sender}`;
      const why = {
        reason: `GitHub ${what}${by} (delivery ${(d.deliveryId ?? '?').slice(0, 64)})`,
      };
      for (const c of candidates) {
        try {
          const result = await withOrgAsSystem(db, c.org_id, why, async (trx, ctx) => {
            const link = await findLink(trx, c.org_id, c.project_id);
            if (link === undefined || link.webhook_secret === null) return null;
            if (!verifyWebhookSignature(box.open(link.webhook_secret), d.body, signature))
              return null;
            if (event !== 'issues' || payload.issue === null) return false;
            const issue = await findIssue(trx, c.org_id, c.project_id, payload.issue.number);
            if (issue === undefined) return false;
            const now = clock.now();
            const reason = `GitHub issue #${issue.number} ${payload.action}${by}`;
            let moved = false;
            if (payload.action === 'closed')
              moved = await movePhase(trx, ctx, issue, 'done', { reason, now });
            else if (payload.action === 'reopened')
              moved = await returnFromPhase(trx, ctx, issue, 'done', { reason, now });
            if (!moved) return false;
            await recordCommunication(trx, c.org_id, {
              issueId: issue.id,
              channel: 'webhook',
              externalId: d.deliveryId?.slice(0, 100) ?? null,
              audience: 'Gatehouse, from GitHub',
              summary: `${reason}: phase ${issue.phase} → ${payload.action === 'closed' ? 'done' : (issue.phase_before ?? 'development')}`,
              status: 'received',
              recordedBy: 'system',
              at: now,
            });
            await enqueueGithubSync(trx, c.org_id, issue.id);
            return true;
          });
          if (result === null) continue;
          matched += 1;
          if (result) changed += 1;
        } catch (err) {
          if (err instanceof NotFound) continue; // the org was deleted
          throw err;
        }
      }
      if (matched === 0) throw new Unauthorized('The signature does not match');
      return { matched, changed };
    },
  };
}
export type GithubService = ReturnType<typeof createGithubService>;

interface Payload {
  repo: string;
  action: string | null;
  issue: { number: number } | null;
  sender: string | null;
}

const WORD = /^[a-z_]{1,50}$/;

/** The few fields of a delivery that matter, each checked; anything else is ignored. */
function parsePayload(body: Buffer): Payload {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    throw new BadInput('The body is not JSON', [{ path: 'body', message: 'must be JSON' }]);
  }
  const o = (typeof json === 'object' && json !== null ? json : {}) as Record<string, unknown>;
  const field = (v: unknown, key: string): unknown =>
    typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[key] : undefined;
  const repo = field(o['repository'], 'full_name');
  if (typeof repo !== 'string' || !GITHUB_REPO.test(repo))
    throw new BadInput('repository.full_name must be owner/name', [
      { path: 'repository.full_name', message: 'must be owner/name' },
    ]);
  const action = o['action'];
  const number = field(o['issue'], 'number');
  const login = field(o['sender'], 'login');
  return {
    repo,
    action: typeof action === 'string' && WORD.test(action) ? action : null,
    issue:
      typeof number === 'number' && Number.isInteger(number) && number >= 1 && number <= 2e9
        ? { number }
        : null,
    sender: typeof login === 'string' && /^[A-Za-z0-9-[\]]{1,60}$/.test(login) ? login : null,
  };
}
