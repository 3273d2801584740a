import type { Kysely, Transaction } from 'kysely';
import { withTenant, type Caller, type TenantContext } from '../db/tenant.ts';
import type { DB } from '../db/types.ts';
import type { Permission } from '../domain/permissions.ts';
import { requireIssue } from './issues/issues.queries.ts';
import { requireProject } from './projects/projects.queries.ts';

/** Where a request acts: the path's org slug and project key (route params fit as they are). */
export interface ProjectScope {
  readonly org: string;
  readonly project: string;
}

/** A tracked issue of a project, by its (GitHub) number. */
export interface IssueScope extends ProjectScope {
  readonly number: number;
}

/** A finer access check than one permission, run on the caller's context before anything
 *  of the scope is looked up (so a caller without the right is a 403, never a 404). */
export type ScopeGuard = (ctx: TenantContext) => void;

export type ScopedProject = Awaited<ReturnType<typeof requireProject>>;
export type ScopedIssue = Awaited<ReturnType<typeof requireIssue>>;

/**
 * Enters the org as the caller with `permission`, then resolves the project once: another
 * org's project, or a missing one, is a 404 before `fn` runs.
 */
export function inProject<T>(
  db: Kysely<DB>,
  caller: Caller,
  scope: ProjectScope,
  permission: Permission,
  fn: (trx: Transaction<DB>, ctx: TenantContext, project: ScopedProject) => Promise<T>,
  guard?: ScopeGuard,
): Promise<T> {
  return withTenant(db, caller, scope.org, permission, async (trx, ctx) => {
    guard?.(ctx);
    return fn(trx, ctx, await requireProject(trx, ctx.orgId, scope.project));
  });
}

/** As inProject, and the tracked issue too. */
export function inIssue<T>(
  db: Kysely<DB>,
  caller: Caller,
  scope: IssueScope,
  permission: Permission,
  fn: (
    trx: Transaction<DB>,
    ctx: TenantContext,
    at: { project: ScopedProject; issue: ScopedIssue },
  ) => Promise<T>,
  guard?: ScopeGuard,
): Promise<T> {
  return inProject(
    db,
    caller,
    scope,
    permission,
    async (trx, ctx, project) =>
      fn(trx, ctx, {
        project,
        issue: await requireIssue(trx, ctx.orgId, project.id, scope.number),
      }),
    guard,
  );
}
