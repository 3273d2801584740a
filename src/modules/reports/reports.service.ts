import type { Kysely, Transaction } from 'kysely';
import type { Caller } from '../../db/tenant.ts';
import type { DB } from '../../db/types.ts';
import { unjudgedReport } from '../../domain/gate-report.ts';
import type { QualityConfig } from '../../domain/quality.ts';
import { describeRecurrence, type Recurrence } from '../../domain/recurrence.ts';
import {
  buildReportModel,
  renderReport,
  roleLabel,
  type ReportFacts,
  type ReportModel,
} from '../../domain/report.ts';
import { riskSignal, type RiskLinks } from '../../domain/risk-signal.ts';
import { createCategorizer, triage } from '../../domain/triage.ts';
import type { Clock } from '../../lib/clock.ts';
import { activitiesOfIssue } from '../activities/activities.queries.ts';
import { listCheckpoints } from '../checkpoints/checkpoints.queries.ts';
import { escalationsOfIssue } from '../escalations/escalations.queries.ts';
import {
  failuresOfRuns,
  latestRunsOfIssues,
  loadQualityConfig,
  storedReport,
} from '../gates/gates.queries.ts';
import { inIssue, type IssueScope, type ScopedIssue, type ScopedProject } from '../scope.ts';
import { listCommunications } from '../communications/communications.queries.ts';
import { storedComment } from '../github/github.queries.ts';
import { listReviews } from '../issues/issues.queries.ts';
import { listNotes } from '../notes/notes.queries.ts';
import { signalEvidence } from '../risks/risk-signals.ts';
import { listRisks } from '../risks/risks.queries.ts';
import { memberNames, orchestratorNames, orgName, phaseChangesOf } from './reports.queries.ts';

type Tx = Transaction<DB>;

/** How many risks, notes and communications a report lists at most. */
const LIST_LIMIT = 500;

/** The gates' pass-rate requirement: the first `pass_rate >= x` (or `> x`) condition. */
function requiredPassRate(config: QualityConfig): ReportFacts['requiredPassRate'] {
  for (const g of config.gates)
    for (const c of g.conditions)
      if (
        c.metric === 'pass_rate' &&
        (c.op === '>=' || c.op === '>') &&
        typeof c.value === 'number'
      )
        return { rate: c.value, op: c.op };
  return null;
}

/** The first line of a long text (an escalation's request is a whole document). */
function firstLine(text: string, max = 300): string {
  const line = text.split('\n').find((l) => l.trim() !== '') ?? '';
  const t = line.replace(/^#+\s*/, '').trim();
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

/** Gathers everything the report says about the issue, inside the caller's transaction. */
async function gatherFacts(
  trx: Tx,
  orgId: string,
  project: ScopedProject,
  issue: ScopedIssue,
  now: Date,
): Promise<ReportFacts> {
  const org = await orgName(trx, orgId);
  const { config } = await loadQualityConfig(trx, orgId, project.id);
  const judged =
    (await storedReport(trx, orgId, issue.id)) ?? unjudgedReport(config, issue.number, now);
  const run = (await latestRunsOfIssues(trx, orgId, project.id, [issue.number])).get(issue.number);
  const labels = new Map(config.categories.map((c) => [c.name, c.label ?? c.name]));
  let failuresByCategory: ReportFacts['failuresByCategory'] = [];
  if (run !== undefined) {
    const failures = (await failuresOfRuns(trx, orgId, [run.id])).get(run.id) ?? [];
    failuresByCategory = triage(failures, createCategorizer(config)).map((g) => ({
      category: g.category,
      label: g.category === null ? 'Uncategorized' : (labels.get(g.category) ?? g.category),
      count: g.count,
    }));
  }
  const gates = {
    overall: config.gates.length === 0 ? 'none' : judged.overall,
    evaluatedAt: judged.evaluatedAt,
    gates: judged.gates.map((g) => ({
      key: g.key,
      name: g.name,
      state: g.state,
      reasons: g.reasons,
    })),
    criteria: judged.criteria.map((c) => ({ key: c.key, text: c.text, state: c.state })),
    excused: judged.excused ?? [],
  };

  // The risks' own evidence: the same failures and stored report their API shows.
  const evidence = await signalEvidence(trx, orgId, project.id, issue.id, config);
  const signalOf = (links: RiskLinks) => {
    const signal = riskSignal(links, evidence);
    return signal === null ? null : { level: signal.level, text: signal.text };
  };

  const [review] = await listReviews(trx, orgId, issue.id, { limit: 1 });
  const comment = await storedComment(trx, orgId, issue.id);
  // Oldest first, as the report tells the story.
  const communications = (
    await listCommunications(trx, orgId, issue.id, { limit: LIST_LIMIT })
  ).reverse();
  // Without a synced status comment, a GitHub comment recorded by hand stands for it.
  const recorded = [...communications]
    .reverse()
    .find((c) => c.channel === 'github_comment' && c.external_id !== null);
  const activities = await activitiesOfIssue(trx, orgId, issue.id);
  const titles = new Map(activities.map((a) => [a.key, a.title]));
  const checkpoints = await listCheckpoints(trx, orgId, issue.id, { limit: 200 });
  const phaseRows = await phaseChangesOf(trx, orgId, issue.id);
  const names = await memberNames(trx, orgId, [
    ...new Set(phaseRows.filter((p) => p.actor_type === 'user').map((p) => p.actor_id)),
  ]);

  return {
    org: { slug: org.slug, name: org.name },
    project: { key: project.key, name: project.name },
    issue: {
      number: issue.number,
      title: issue.title,
      phase: issue.phase,
      githubIssueUrl: issue.github_issue_url,
      targetDate: issue.target_date,
    },
    orchestrators: await orchestratorNames(trx, orgId),
    review:
      review === undefined
        ? null
        : {
            verdict: review.verdict,
            conditions: review.conditions as { text: string; status: string }[],
            notes: review.notes,
            reviewer: review.reviewer,
            at: review.created_at.toISOString(),
          },
    run:
      run === undefined
        ? null
        : {
            id: run.id,
            tests: run.tests,
            passed: run.passed,
            failed: run.failed,
            errored: run.errored,
            skipped: run.skipped,
            completedAt: run.completed_at?.toISOString() ?? null,
          },
    failuresByCategory,
    requiredPassRate: requiredPassRate(config),
    gates,
    githubComment:
      comment !== undefined
        ? { id: String(comment.comment_id), url: comment.url, at: comment.synced_at.toISOString() }
        : recorded !== undefined
          ? { id: recorded.external_id!, url: null, at: recorded.created_at.toISOString() }
          : null,
    escalations: (await escalationsOfIssue(trx, orgId, issue.id)).map((e) => ({
      role: e.role,
      reason: e.reason,
      request: firstLine(e.request),
      status: e.status,
      questions: e.questions,
      createdAt: e.created_at.toISOString(),
      ackDueAt: e.ack_due_at.toISOString(),
      answerDueAt: e.answer_due_at.toISOString(),
      breachedAt: e.breached_at?.toISOString() ?? null,
      answer: e.answer === null ? null : firstLine(e.answer, 500),
    })),
    activities: activities.map((a) => ({
      key: a.key,
      title: a.title,
      ownerRole: a.owner_role,
      status: a.status,
      minDays: a.min_days,
      maxDays: a.max_days,
      likelyDays: a.likely_days,
      deliverable: a.deliverable,
      dependsOn: a.depends_on,
      gates: a.gates,
      startedAt: a.started_at?.toISOString() ?? null,
      doneAt: a.done_at?.toISOString() ?? null,
    })),
    risks: (await listRisks(trx, orgId, issue.id, { limit: LIST_LIMIT })).map((r) => ({
      severity: r.severity,
      title: r.title,
      description: r.description,
      status: r.status,
      signal: signalOf(r.links),
      mitigations: r.mitigations.map((m) => ({
        text: m.text,
        status: m.status,
        ...(m.ownerRole !== undefined ? { ownerRole: m.ownerRole } : {}),
      })),
    })),
    communications: communications.map((c) => ({
      channel: c.channel,
      audience: roleLabelOr(c.audience),
      summary: c.summary,
      externalId: c.external_id,
      status: c.status,
      at: c.created_at.toISOString(),
    })),
    checkpoints: checkpoints.map((c) => {
      const r = c.recurrence as unknown as Recurrence;
      return {
        title: c.title,
        schedule:
          r.kind === 'activity_done'
            ? `when "${titles.get(r.activity) ?? r.activity}" is done`
            : describeRecurrence(r, c.time_zone),
        ownerRole: c.owner_role,
        nextDueAt: c.next_due_at?.toISOString() ?? null,
        lastCompletedAt: c.last_completed_at?.toISOString() ?? null,
      };
    }),
    notes: (await listNotes(trx, orgId, issue.id, { limit: LIST_LIMIT })).map((n) => ({
      kind: n.kind,
      text: n.text,
      author: n.author,
      at: n.created_at.toISOString(),
    })),
    phaseChanges: phaseRows.map((p) => {
      const data = p.data as { from?: string; to?: string; reason?: string };
      return {
        from: data.from ?? '',
        to: data.to ?? '',
        reason: data.reason ?? '',
        by:
          p.actor_type === 'user'
            ? (names.get(p.actor_id) ?? 'a former member')
            : p.actor_type === 'token'
              ? 'CI token'
              : 'Gatehouse',
        at: p.created_at.toISOString(),
      };
    }),
  };
}

/** An audience that is a role ("architect") reads as the role's name. */
function roleLabelOr(audience: string): string {
  const m = /^([a-z_]+)( \(.*\))?$/.exec(audience);
  return m === null ? audience : `${roleLabel(m[1]!)}${m[2] ?? ''}`;
}

export function createReportService(deps: { db: Kysely<DB>; clock: Clock }) {
  const { db, clock } = deps;
  const model = (caller: Caller, scope: IssueScope): Promise<ReportModel> =>
    inIssue(db, caller, scope, 'org:read', async (trx, ctx, { project, issue }) => {
      const now = clock.now();
      return buildReportModel(await gatherFacts(trx, ctx.orgId, project, issue, now), now);
    });
  return {
    /** The escalation tracking report's model: what report.json answers. */
    model,
    /** The report as Markdown. */
    async markdown(caller: Caller, scope: IssueScope): Promise<string> {
      return renderReport(await model(caller, scope));
    },
  };
}
