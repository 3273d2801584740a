import { sql, type Kysely, type Selectable } from 'kysely';
import { uuidv7 } from 'uuidv7';
import { withTenant, type Caller } from '../../db/tenant.ts';
import type { DB, ReviewsTable, TrackedIssuesTable } from '../../db/types.ts';
import { Conflict, NotFound } from '../../errors.ts';
import { decodeCursor, toPage, type PageQuery } from '../../lib/pagination.ts';
import { recomputeIssue } from '../gates/gate-engine.ts';
import { loadQualityConfig } from '../gates/gates.queries.ts';
import { requireProject } from '../projects/projects.queries.ts';
import { findIssue, requireIssue } from './issues.queries.ts';

type Issue = Selectable<TrackedIssuesTable>;

function issueOut(i: Issue, overall: string | null) {
  return {
    id: i.id,
    number: i.number,
    title: i.title,
    phase: i.phase,
    githubIssueUrl: i.github_issue_url,
    overall,
    createdAt: i.created_at.toISOString(),
    updatedAt: i.updated_at.toISOString(),
  };
}

function reviewOut(r: Selectable<ReviewsTable>) {
  return {
    id: r.id,
    verdict: r.verdict,
    conditions: r.conditions as { text: string; status: string }[],
    notes: r.notes,
    reviewer: r.reviewer,
    recordedBy: r.recorded_by,
    createdAt: r.created_at.toISOString(),
  };
}

interface IssueInput {
  title?: string | undefined;
  phase?: string | undefined;
  githubIssueUrl?: string | null | undefined;
}

export function createIssueService(deps: { db: Kysely<DB> }) {
  const { db } = deps;

  const overallOf = async (trx: Kysely<DB>, orgId: string, issueId: string) => {
    const row = await trx
      .selectFrom('gate_reports')
      .select('report')
      .where('org_id', '=', orgId)
      .where('issue_id', '=', issueId)
      .executeTakeFirst();
    return (row?.report as { overall?: string } | undefined)?.overall ?? null;
  };

  return {
    create(
      caller: Caller,
      slug: string,
      key: string,
      input: IssueInput & { number: number; title: string },
    ) {
      return withTenant(db, caller, slug, 'issues:write', async (trx, ctx) => {
        const project = await requireProject(trx, ctx.orgId, key);
        if ((await findIssue(trx, ctx.orgId, project.id, input.number)) !== undefined)
          throw new Conflict(`Issue #${input.number} is already tracked`);
        const issue = await trx
          .insertInto('tracked_issues')
          .values({
            org_id: ctx.orgId,
            id: uuidv7(),
            project_id: project.id,
            number: input.number,
            title: input.title,
            ...(input.phase !== undefined ? { phase: input.phase } : {}),
            github_issue_url: input.githubIssueUrl ?? null,
          })
          .returningAll()
          .executeTakeFirstOrThrow();
        const report = await recomputeIssue(trx, ctx.orgId, project, {
          id: issue.id,
          number: issue.number,
        });
        await ctx.audit({
          action: 'issue.created',
          targetType: 'issue',
          targetId: issue.id,
          data: { project: key, number: issue.number },
        });
        return issueOut(issue, report.overall);
      });
    },

    list(caller: Caller, slug: string, key: string, page: PageQuery) {
      const after = decodeCursor(page.cursor, 'int');
      return withTenant(db, caller, slug, 'org:read', async (trx, ctx) => {
        const project = await requireProject(trx, ctx.orgId, key);
        let q = trx
          .selectFrom('tracked_issues as i')
          .leftJoin('gate_reports as g', (j) =>
            j.onRef('g.org_id', '=', 'i.org_id').onRef('g.issue_id', '=', 'i.id'),
          )
          .selectAll('i')
          .select(sql<string | null>`g.report->>'overall'`.as('overall'))
          .where('i.org_id', '=', ctx.orgId)
          .where('i.project_id', '=', project.id)
          .orderBy('i.number')
          .limit(page.limit + 1);
        if (after !== undefined) q = q.where('i.number', '>', Number(after));
        return toPage(
          await q.execute(),
          page.limit,
          (i) => String(i.number),
          (i) => issueOut(i, i.overall),
        );
      });
    },

    get(caller: Caller, slug: string, key: string, number: number) {
      return withTenant(db, caller, slug, 'org:read', async (trx, ctx) => {
        const project = await requireProject(trx, ctx.orgId, key);
        const issue = await requireIssue(trx, ctx.orgId, project.id, number);
        return issueOut(issue, await overallOf(trx, ctx.orgId, issue.id));
      });
    },

    update(caller: Caller, slug: string, key: string, number: number, input: IssueInput) {
      return withTenant(db, caller, slug, 'issues:write', async (trx, ctx) => {
        const project = await requireProject(trx, ctx.orgId, key);
        const before = await requireIssue(trx, ctx.orgId, project.id, number);
        const issue = await trx
          .updateTable('tracked_issues')
          .set({
            ...(input.title !== undefined ? { title: input.title } : {}),
            ...(input.phase !== undefined ? { phase: input.phase } : {}),
            ...(input.githubIssueUrl !== undefined
              ? { github_issue_url: input.githubIssueUrl }
              : {}),
            updated_at: sql<Date>`now()`,
          })
          .where('org_id', '=', ctx.orgId)
          .where('id', '=', before.id)
          .returningAll()
          .executeTakeFirstOrThrow();
        await ctx.audit({
          action: 'issue.updated',
          targetType: 'issue',
          targetId: issue.id,
          data: { number, changes: input, phaseFrom: before.phase },
        });
        return issueOut(issue, await overallOf(trx, ctx.orgId, issue.id));
      });
    },

    /** A new verdict (history kept); the issue's gates are re-evaluated in the same transaction. */
    putReview(
      caller: Caller,
      slug: string,
      key: string,
      number: number,
      input: {
        verdict: string;
        conditions?: { text: string; status: string }[] | undefined;
        notes?: string | undefined;
        reviewer: string;
      },
    ) {
      return withTenant(db, caller, slug, 'review:write', async (trx, ctx) => {
        const project = await requireProject(trx, ctx.orgId, key);
        const issue = await requireIssue(trx, ctx.orgId, project.id, number);
        const review = await trx
          .insertInto('reviews')
          .values({
            org_id: ctx.orgId,
            id: uuidv7(),
            issue_id: issue.id,
            verdict: input.verdict,
            conditions: JSON.stringify(input.conditions ?? []),
            notes: input.notes ?? null,
            reviewer: input.reviewer,
            recorded_by: ctx.actorId,
          })
          .returningAll()
          .executeTakeFirstOrThrow();
        await recomputeIssue(trx, ctx.orgId, project, { id: issue.id, number: number });
        await ctx.audit({
          action: 'review.recorded',
          targetType: 'issue',
          targetId: issue.id,
          data: { number, verdict: input.verdict },
        });
        return reviewOut(review);
      });
    },

    /** Every verdict recorded, newest first, in cursor pages. */
    reviews(caller: Caller, slug: string, key: string, number: number, page: PageQuery) {
      const after = decodeCursor(page.cursor);
      return withTenant(db, caller, slug, 'org:read', async (trx, ctx) => {
        const project = await requireProject(trx, ctx.orgId, key);
        const issue = await requireIssue(trx, ctx.orgId, project.id, number);
        let q = trx
          .selectFrom('reviews')
          .selectAll()
          .where('org_id', '=', ctx.orgId)
          .where('issue_id', '=', issue.id)
          .orderBy('id', 'desc')
          .limit(page.limit + 1);
        if (after !== undefined) q = q.where('id', '<', after);
        return toPage(await q.execute(), page.limit, (r) => r.id, reviewOut);
      });
    },

    /** Checks or unchecks a manual success criterion, recording who and when. */
    check(
      caller: Caller,
      slug: string,
      key: string,
      number: number,
      criterion: string,
      checked: boolean,
    ) {
      return withTenant(db, caller, slug, 'issues:write', async (trx, ctx) => {
        const project = await requireProject(trx, ctx.orgId, key);
        const issue = await requireIssue(trx, ctx.orgId, project.id, number);
        const { config } = await loadQualityConfig(trx, ctx.orgId, project.id);
        const def = config.criteria.find((c) => c.key === criterion);
        if (def === undefined)
          throw new NotFound(
            `No success criterion "${criterion}" in this project's quality configuration`,
          );
        if (def.manual !== true)
          throw new Conflict(
            `Criterion "${criterion}" is evaluated from ${def.gate !== undefined ? `gate ${def.gate}` : 'a condition'}; only manual criteria are checked by hand`,
          );
        const by = ctx.userId ?? `token:${ctx.actorId}`;
        await trx
          .insertInto('criterion_checks')
          .values({
            org_id: ctx.orgId,
            issue_id: issue.id,
            criterion_key: criterion,
            checked,
            checked_by: by,
          })
          .onConflict((oc) =>
            oc
              .columns(['org_id', 'issue_id', 'criterion_key'])
              .doUpdateSet({ checked, checked_by: by, checked_at: new Date() }),
          )
          .execute();
        const report = await recomputeIssue(
          trx,
          ctx.orgId,
          project,
          { id: issue.id, number: number },
          config,
        );
        await ctx.audit({
          action: checked ? 'criterion.checked' : 'criterion.unchecked',
          targetType: 'issue',
          targetId: issue.id,
          data: { number, criterion },
        });
        return report.criteria.find((c) => c.key === criterion)!;
      });
    },
  };
}
