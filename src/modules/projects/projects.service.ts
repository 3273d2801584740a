import type { Kysely, Selectable } from 'kysely';
import { withTenant, type Caller } from '../../db/tenant.ts';
import type { DB, ProjectsTable } from '../../db/types.ts';
import { Conflict } from '../../errors.ts';
import { decodeCursor, toPage, type PageQuery } from '../../lib/pagination.ts';
import type { ProjectRetentionColumns } from '../../db/types-history-reads.ts';
import { setRetention } from '../tests/tests.queries.ts';
import type { Clock } from '../../lib/clock.ts';
import type { SecretBox } from '../../lib/secret-box.ts';
import { can } from '../../domain/permissions.ts';
import { badgeTokenOf } from '../badges/badges.service.ts';
import {
  findProject,
  insertProject,
  listProjects,
  requireProject,
  updateProject,
} from './projects.queries.ts';

export function projectOut(p: Selectable<ProjectsTable>) {
  return {
    id: p.id,
    key: p.key,
    name: p.name,
    githubRepo: p.github_repo,
    defaultBranch: p.default_branch,
    createdAt: p.created_at.toISOString(),
    updatedAt: p.updated_at.toISOString(),
    ...retentionOut(p as Partial<ProjectRetentionColumns>),
  };
}

/** How long the project keeps result details and per-result history (migration 0014). */
function retentionOut(p: Partial<ProjectRetentionColumns>) {
  if (p.details_days === undefined || p.results_days === undefined) return {};
  return { retention: { detailsDays: p.details_days, resultsDays: p.results_days } };
}

interface ProjectInput {
  key: string;
  name: string;
  githubRepo?: string | null | undefined;
  defaultBranch?: string | undefined;
}

export function createProjectService(deps: { db: Kysely<DB>; box: SecretBox; clock: Clock }) {
  const { db } = deps;
  return {
    create(caller: Caller, slug: string, input: ProjectInput) {
      return withTenant(db, caller, slug, 'projects:write', async (trx, ctx) => {
        if ((await findProject(trx, ctx.orgId, input.key)) !== undefined) {
          throw new Conflict(`A project with the key "${input.key}" already exists`);
        }
        const project = await insertProject(trx, ctx.orgId, {
          key: input.key,
          name: input.name,
          githubRepo: input.githubRepo ?? null,
          defaultBranch: input.defaultBranch,
        });
        await ctx.audit({
          action: 'project.created',
          targetType: 'project',
          targetId: project.id,
          data: { key: project.key },
        });
        return projectOut(project);
      });
    },

    list(caller: Caller, slug: string, page: PageQuery) {
      const after = decodeCursor(page.cursor, 'text');
      return withTenant(db, caller, slug, 'org:read', async (trx, ctx) => {
        const rows = await listProjects(trx, ctx.orgId, after, page.limit);
        return toPage(rows, page.limit, (p) => p.key, projectOut);
      });
    },

    get(caller: Caller, slug: string, key: string) {
      return withTenant(db, caller, slug, 'org:read', async (trx, ctx) => {
        const project = await requireProject(trx, ctx.orgId, key);
        // The badge token (a capability) only to those who may edit the project.
        if (!can(ctx.role, 'projects:write')) return projectOut(project);
        const badgeToken = await badgeTokenOf(trx, deps, ctx.orgId, project.id);
        return { ...projectOut(project), badgeToken };
      });
    },

    update(
      caller: Caller,
      slug: string,
      key: string,
      input: Partial<Omit<ProjectInput, 'key'>> & {
        retention?: { detailsDays?: number | undefined; resultsDays?: number | undefined };
      },
    ) {
      return withTenant(db, caller, slug, 'projects:write', async (trx, ctx) => {
        const before = await requireProject(trx, ctx.orgId, key);
        const { retention, ...changes } = input;
        if (retention !== undefined) await setRetention(trx, ctx.orgId, before.id, retention);
        const project = await updateProject(trx, ctx.orgId, before.id, changes);
        await ctx.audit({
          action: 'project.updated',
          targetType: 'project',
          targetId: project.id,
          data: { changes: input },
        });
        return projectOut(project);
      });
    },
  };
}
