import type { Kysely, Selectable } from 'kysely';
import type { Caller } from '../../db/tenant.ts';
import { inIssue, inProject, type IssueScope, type ProjectScope } from '../scope.ts';
import type { DB, ReviewsTable, TrackedIssuesTable } from '../../db/types.ts';
import { BadInput, Conflict, NotFound } from '../../errors.ts';
import type { Clock } from '../../lib/clock.ts';
import { decodeCursor, toPage, type PageQuery } from '../../lib/pagination.ts';
import { recomputeIssue } from '../gates/gate-engine.ts';
import { loadQualityConfig } from '../gates/gates.queries.ts';
import {
  findIssue,
  insertIssue,
  insertReview,
  listIssues,
  listReviews,
  overallOf,
  reviewerNameOf,
  saveCriterionCheck,
  updateIssue,
} from './issues.queries.ts';

type Issue = Selectable<TrackedIssuesTable>;

function issueOut(i: Issue, overall: string | null) {
  return {
    id: i.id,
    number: i.number,
    title: i.title,
    phase: i.phase,
    githubIssueUrl: i.github_issue_url,
    overall,
    targetDate: i.target_date,
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
  targetDate?: string | null | undefined;
}

export function createIssueService(deps: { db: Kysely<DB>; clock: Clock }) {
  const { db, clock } = deps;

  return {
    /** Starts tracking an issue and stores its first gate report in the same transaction. */
    create(
      caller: Caller,
      scope: ProjectScope,
      input: IssueInput & { number: number; title: string },
    ) {
      return inProject(db, caller, scope, 'issues:write', async (trx, ctx, project) => {
        if ((await findIssue(trx, ctx.orgId, project.id, input.number)) !== undefined)
          throw new Conflict(`Issue #${input.number} is already tracked`);
        const now = clock.now();
        const issue = await insertIssue(
          trx,
          ctx.orgId,
          project.id,
          {
            number: input.number,
            title: input.title,
            phase: input.phase,
            githubIssueUrl: input.githubIssueUrl ?? null,
          },
          now,
        );
        const report = await recomputeIssue(
          trx,
          ctx.orgId,
          project,
          { id: issue.id, number: issue.number },
          { now, ctx },
        );
        await ctx.audit({
          action: 'issue.created',
          targetType: 'issue',
          targetId: issue.id,
          data: { project: project.key, number: issue.number },
        });
        return issueOut(issue, report.overall);
      });
    },

    list(caller: Caller, scope: ProjectScope, page: PageQuery) {
      const after = decodeCursor(page.cursor, 'int');
      return inProject(db, caller, scope, 'org:read', async (trx, ctx, project) => {
        const rows = await listIssues(trx, ctx.orgId, project.id, {
          limit: page.limit + 1,
          afterNumber: after === undefined ? undefined : Number(after),
        });
        return toPage(
          rows,
          page.limit,
          (i) => String(i.number),
          (i) => issueOut(i, i.overall),
        );
      });
    },

    get(caller: Caller, scope: IssueScope) {
      return inIssue(db, caller, scope, 'org:read', async (trx, ctx, { issue }) => {
        return issueOut(issue, await overallOf(trx, ctx.orgId, issue.id));
      });
    },

    update(caller: Caller, scope: IssueScope, input: IssueInput) {
      return inIssue(db, caller, scope, 'issues:write', async (trx, ctx, { issue: before }) => {
        const { number } = scope;
        const issue = await updateIssue(trx, ctx.orgId, before.id, input, clock.now());
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
      scope: IssueScope,
      input: {
        verdict: string;
        conditions?: { text: string; status: string }[] | undefined;
        notes?: string | undefined;
        /** Defaults to the signed-in user's name (else email); a CI token must name one. */
        reviewer?: string | undefined;
      },
    ) {
      return inIssue(db, caller, scope, 'review:write', async (trx, ctx, { project, issue }) => {
        const { number } = scope;
        const reviewer =
          input.reviewer ??
          (ctx.userId === null ? undefined : await reviewerNameOf(trx, ctx.userId));
        if (reviewer === undefined)
          throw new BadInput(
            'body/reviewer is required with a CI token: name who reviewed (e.g. "reviewer": "Dana")',
            [{ path: 'body/reviewer', message: 'is required with a CI token: name who reviewed' }],
          );
        const now = clock.now();
        const review = await insertReview(
          trx,
          ctx.orgId,
          issue.id,
          {
            verdict: input.verdict,
            conditions: input.conditions ?? [],
            notes: input.notes ?? null,
            reviewer,
            recordedBy: ctx.actorId,
          },
          now,
        );
        await recomputeIssue(trx, ctx.orgId, project, { id: issue.id, number }, { now, ctx });
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
    reviews(caller: Caller, scope: IssueScope, page: PageQuery) {
      const after = decodeCursor(page.cursor);
      return inIssue(db, caller, scope, 'org:read', async (trx, ctx, { issue }) => {
        const rows = await listReviews(trx, ctx.orgId, issue.id, {
          limit: page.limit + 1,
          before: after,
        });
        return toPage(rows, page.limit, (r) => r.id, reviewOut);
      });
    },

    /** Checks or unchecks a manual success criterion, recording who and when. */
    check(caller: Caller, scope: IssueScope, criterion: string, checked: boolean) {
      return inIssue(db, caller, scope, 'issues:write', async (trx, ctx, { project, issue }) => {
        const { number } = scope;
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
        const now = clock.now();
        await saveCriterionCheck(trx, ctx.orgId, issue.id, { criterion, checked, by }, now);
        const report = await recomputeIssue(
          trx,
          ctx.orgId,
          project,
          { id: issue.id, number },
          { now, config, ctx },
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
