import type { Kysely } from 'kysely';
import { withOrgAsSystem } from '../../db/system.ts';
import { withTenant, type Caller } from '../../db/tenant.ts';
import type { DB } from '../../db/types.ts';
import type { Executor } from '../../db/executor.ts';
import { unjudgedReport } from '../../domain/gate-report.ts';
import { NotFound } from '../../errors.ts';
import type { Clock } from '../../lib/clock.ts';
import type { SecretBox } from '../../lib/secret-box.ts';
import { newNamedSecret, parseNamedSecret } from '../events/org-secret.ts';
import { loadQualityConfig } from '../gates/gates.queries.ts';
import { findIssue, overallOf } from '../issues/issues.queries.ts';
import { requireProject } from '../projects/projects.queries.ts';
import { findBadge, projectByBadge, saveBadge } from './badges.queries.ts';

/** One answer for every refusal: a wrong token must not tell whether the org, project or issue exist. */
const NO_BADGE = 'Badge not found';

/**
 * The project's badge token, made on first need. Sealed at rest (the secret-at-rest key) so
 * editors can read it again; looked up by its hash.
 */
export async function badgeTokenOf(
  trx: Executor,
  deps: { box: SecretBox; clock: Clock },
  orgId: string,
  projectId: string,
): Promise<string> {
  const found = await findBadge(trx, orgId, projectId);
  if (found !== undefined) return deps.box.open(found.token_sealed);
  return newBadgeToken(trx, deps, orgId, projectId);
}

async function newBadgeToken(
  trx: Executor,
  deps: { box: SecretBox; clock: Clock },
  orgId: string,
  projectId: string,
): Promise<string> {
  const { token, hash } = newNamedSecret('gtb', orgId);
  await saveBadge(trx, orgId, {
    projectId,
    hash,
    sealed: deps.box.seal(token),
    now: deps.clock.now(),
  });
  return token;
}

export function createBadgeService(deps: { db: Kysely<DB>; box: SecretBox; clock: Clock }) {
  const { db } = deps;
  return {
    /** A new badge token; the old one stops working at once (README badges need the new URL). */
    rotate(caller: Caller, slug: string, key: string) {
      return withTenant(db, caller, slug, 'projects:write', async (trx, ctx) => {
        const project = await requireProject(trx, ctx.orgId, key);
        const badgeToken = await newBadgeToken(trx, deps, ctx.orgId, project.id);
        await ctx.audit({
          action: 'project.badge_token_rotated',
          targetType: 'project',
          targetId: project.id,
          data: { key },
        });
        return { badgeToken };
      });
    },

    /**
     * The issue's overall gate state for its badge, given only the project's badge token: the
     * token names its org, entered through the system door (row-level security on); the
     * org's slug, the project's key and the token's hash must all match.
     */
    async overall(slug: string, key: string, number: number, token: string | undefined) {
      const parsed = token === undefined ? null : parseNamedSecret('gtb', token);
      if (parsed === null) throw new NotFound(NO_BADGE);
      try {
        return await withOrgAsSystem(
          db,
          parsed.orgId,
          { reason: 'issue badge' },
          async (trx, ctx) => {
            if (ctx.orgSlug !== slug) throw new NotFound(NO_BADGE);
            const project = await projectByBadge(trx, ctx.orgId, key, parsed.hash);
            if (project === undefined) throw new NotFound(NO_BADGE);
            const issue = await findIssue(trx, ctx.orgId, project.id, number);
            if (issue === undefined) throw new NotFound(NO_BADGE);
            const stored = await overallOf(trx, ctx.orgId, issue.id);
            if (stored !== null) return stored;
            const { config } = await loadQualityConfig(trx, ctx.orgId, project.id);
            return unjudgedReport(config, number, deps.clock.now()).overall;
          },
        );
      } catch (err) {
        if (err instanceof NotFound) throw new NotFound(NO_BADGE);
        throw err;
      }
    },
  };
}
