/**
 * The escalation coordination tracking report: what is known about a tracked issue, as a
 * model (`buildReportModel`, what report.json answers) and as Markdown in the shape of the
 * QA escalation report Gatehouse was designed from (`renderReport`). Pure: no I/O, no clock.
 */

import {
  computeSchedule,
  DependencyCycleError,
  pert,
  type ActivityStatus,
  type Schedule,
  type ScheduleActivity,
} from './schedule.ts';
import { passRate } from './junit.ts';

export type Icon = '✅' | '🔴' | '⏳' | '🔄';
export type GateStateName = 'passed' | 'blocked' | 'pending';

/** Everything the report says, gathered by the reports service. Times are ISO strings. */
export interface ReportFacts {
  org: { slug: string; name: string };
  project: { key: string; name: string };
  issue: {
    number: number;
    title: string;
    phase: string;
    githubIssueUrl: string | null;
    /** YYYY-MM-DD */
    targetDate: string | null;
  };
  /** Who coordinates QA for the org (its QA leads, else its owners), by name. */
  orchestrators: string[];
  review: {
    verdict: string;
    conditions: { text: string; status: string }[];
    notes: string | null;
    reviewer: string;
    at: string;
  } | null;
  /** The latest complete run of the issue: the one its gates were judged on. */
  run: {
    id: string;
    tests: number;
    passed: number;
    failed: number;
    errored: number;
    skipped: number;
    completedAt: string | null;
  } | null;
  /** The run's failures by root cause (null: no category). */
  failuresByCategory: { category: string | null; label: string; count: number }[];
  /** The pass rate the gates require (fraction), if one of them sets one. */
  requiredPassRate: { rate: number; op: '>=' | '>' } | null;
  gates: {
    overall: string;
    evaluatedAt: string | null;
    gates: { key: string; name: string; state: string; reasons: string[] }[];
    criteria: { key: string; text: string; state: string }[];
    /** Failures of the judged run that did not count: quarantined tests, known failures. */
    excused?: {
      testId: string;
      test: string;
      why: 'quarantine' | 'known';
      reason?: string;
      category?: string;
      ticket?: string;
    }[];
  };
  /** The issue's GitHub status comment, or a comment recorded as a communication. */
  githubComment: { id: string; url: string | null; at: string } | null;
  escalations: {
    role: string;
    reason: string;
    request: string;
    status: string;
    questions: { topic: string; text: string }[];
    createdAt: string;
    ackDueAt: string | null;
    answerDueAt: string | null;
    breachedAt: string | null;
    answer: string | null;
  }[];
  activities: ActivityFacts[];
  risks: {
    severity: string;
    title: string;
    description: string;
    status: string;
    /** What the live data says about the risk right now. */
    signal: { level: 'red' | 'amber' | 'green' | 'none'; text: string } | null;
    mitigations: { text: string; status: string; ownerRole?: string }[];
  }[];
  communications: {
    channel: string;
    audience: string;
    summary: string;
    externalId: string | null;
    status: string | null;
    at: string;
  }[];
  checkpoints: {
    title: string;
    schedule: string;
    ownerRole: string | null;
    nextDueAt: string | null;
    lastCompletedAt: string | null;
  }[];
  notes: { kind: string; text: string; author: string; at: string }[];
  phaseChanges: { from: string; to: string; reason: string; by: string; at: string }[];
}

export interface ActivityFacts {
  key: string;
  title: string;
  ownerRole: string;
  status: string;
  minDays: number;
  maxDays: number;
  likelyDays: number | null;
  deliverable: string | null;
  dependsOn: string[];
  gates: string[];
  startedAt: string | null;
  doneAt: string | null;
}

/** An activity with its place in the schedule (null when done, or on a dependency cycle). */
export interface ReportActivity extends ActivityFacts {
  window: {
    earliestFinish: string;
    latestFinish: string;
    /** The finish with every activity on the way taking its PERT expected duration. */
    expectedFinish: string;
    critical: boolean;
  } | null;
}

export interface NextStep {
  kind: 'activity' | 'checkpoint';
  title: string;
  detail: string;
  ownerRole: string | null;
  /** The activity's expected (PERT) finish, or the checkpoint's next due time. */
  by: string | null;
}

/** The report as report.json answers it: the facts, and what the report concludes from them. */
export interface ReportModel extends Omit<ReportFacts, 'activities'> {
  generatedAt: string;
  activities: ReportActivity[];
  /** When the open activities are expected done (PERT on the critical path); null without any. */
  forecast: {
    expectedFinish: string;
    earliestFinish: string;
    latestFinish: string;
    /** Standard deviation of the expected finish, in days. */
    sdDays: number;
    /** Chance of finishing by the end of the issue's target date, 0..1. */
    onTimeProbability: number | null;
    criticalPath: string[];
  } | null;
  passRate: {
    rate: number | null;
    passed: number;
    ran: number;
    required: number | null;
    /** Passed tests the requirement needs out of those that ran. */
    needed: number | null;
    met: boolean | null;
  } | null;
  /** Success metrics: the project's criteria other than `validate-*` ones, ticked as judged. */
  successMetrics: { key: string; text: string; met: boolean; state: string }[];
  /** Criteria whose key starts with `validate-`: what closes the escalation. */
  validationCriteria: { key: string; text: string; met: boolean; state: string }[];
  nextSteps: { within48Hours: NextStep[]; within5Days: NextStep[]; later: NextStep[] };
}

const HOUR = 3_600_000;
const VALIDATION_PREFIX = 'validate-';

/** Pass rate and what the requirement means in tests: 90% of 60 is 54. */
export function passRateOf(
  run: ReportFacts['run'],
  required: ReportFacts['requiredPassRate'],
): ReportModel['passRate'] {
  if (run === null) return null;
  const ran = run.tests - run.skipped;
  const rate = passRate(run);
  let needed: number | null = null;
  if (required !== null && ran > 0)
    needed =
      required.op === '>='
        ? Math.ceil(required.rate * ran - 1e-9)
        : Math.floor(required.rate * ran + 1e-9) + 1;
  return {
    rate,
    passed: run.passed,
    ran,
    required: required?.rate ?? null,
    needed,
    met: needed === null ? null : run.passed >= needed,
  };
}

/**
 * The open activities placed on the schedule: each one's earliest and latest finish, and its
 * expected finish (the forward pass on PERT expected durations, which is the schedule with
 * every duration fixed at its expected value), and the issue's PERT forecast.
 */
export function scheduleActivities(
  facts: Pick<ReportFacts, 'activities' | 'issue'>,
  now: Date,
): Pick<ReportModel, 'activities' | 'forecast'> {
  const toSchedule = (a: ActivityFacts): ScheduleActivity => ({
    key: a.key,
    status: a.status as ActivityStatus,
    minDays: a.minDays,
    maxDays: a.maxDays,
    likelyDays: a.likelyDays,
    dependsOn: a.dependsOn,
    startedAt: a.startedAt === null ? null : new Date(a.startedAt),
    doneAt: a.doneAt === null ? null : new Date(a.doneAt),
  });
  let schedule: Schedule;
  let expected: Schedule;
  try {
    schedule = computeSchedule(facts.activities.map(toSchedule), {
      now,
      targetDate: facts.issue.targetDate,
    });
    expected = computeSchedule(
      facts.activities.map((a) => {
        const e = pert(a.minDays, a.maxDays, a.likelyDays).expectedDays;
        return { ...toSchedule(a), minDays: e, maxDays: e, likelyDays: e };
      }),
      { now },
    );
  } catch (err) {
    // The activities module refuses cycles; a report still renders without the schedule.
    if (!(err instanceof DependencyCycleError)) throw err;
    return { activities: facts.activities.map((a) => ({ ...a, window: null })), forecast: null };
  }
  const activities = facts.activities.map((a): ReportActivity => {
    const s = schedule.activities.get(a.key);
    const e = expected.activities.get(a.key);
    return {
      ...a,
      window:
        s === undefined || e === undefined
          ? null
          : {
              earliestFinish: s.earliestFinish.toISOString(),
              latestFinish: s.latestFinish.toISOString(),
              expectedFinish: e.earliestFinish.toISOString(),
              critical: s.critical,
            },
    };
  });
  const windows = activities.flatMap((a) => (a.window === null ? [] : [a.window]));
  const f = schedule.forecast;
  const latest = (key: 'earliestFinish' | 'latestFinish') =>
    windows.map((w) => w[key]).reduce((x, y) => (x > y ? x : y));
  const titles = new Map(facts.activities.map((a) => [a.key, a.title]));
  return {
    activities,
    forecast:
      windows.length === 0 || f.expectedFinish === null
        ? null
        : {
            expectedFinish: f.expectedFinish.toISOString(),
            earliestFinish: latest('earliestFinish'),
            latestFinish: latest('latestFinish'),
            sdDays: f.stdDevDays,
            onTimeProbability: f.probabilityByTarget,
            criticalPath: f.criticalPath.map((k) => titles.get(k) ?? k),
          },
  };
}

/**
 * Next steps from the schedule: open activities by their expected (PERT) finish — within 48
 * hours, within 5 days, later — and checkpoints due within 48 hours.
 */
export function planNextSteps(
  m: Pick<ReportModel, 'activities' | 'checkpoints'>,
  now: Date,
): ReportModel['nextSteps'] {
  const steps: ReportModel['nextSteps'] = { within48Hours: [], within5Days: [], later: [] };
  const byKey = new Map(m.activities.map((a) => [a.key, a]));
  for (const a of m.activities) {
    if (a.status === 'done') continue;
    const step: NextStep = {
      kind: 'activity',
      title: a.title,
      detail: a.deliverable ?? '',
      ownerRole: a.ownerRole,
      by: a.window?.expectedFinish ?? null,
    };
    let hours: number;
    if (a.window !== null) hours = (Date.parse(a.window.expectedFinish) - now.getTime()) / HOUR;
    else hours = a.dependsOn.some((d) => byKey.get(d)?.status !== 'done') ? 72 : 0;
    if (hours <= 48) steps.within48Hours.push(step);
    else if (hours <= 120) steps.within5Days.push(step);
    else steps.later.push(step);
  }
  for (const c of m.checkpoints) {
    if (c.nextDueAt === null) continue;
    if (Date.parse(c.nextDueAt) - now.getTime() > 48 * HOUR) continue;
    steps.within48Hours.push({
      kind: 'checkpoint',
      title: c.title,
      detail: c.schedule,
      ownerRole: c.ownerRole,
      by: c.nextDueAt,
    });
  }
  return steps;
}

/** The report's model: the facts and what follows from them at `now`. */
export function buildReportModel(facts: ReportFacts, now: Date): ReportModel {
  const criteria = facts.gates.criteria.map((c) => ({
    key: c.key,
    text: c.text,
    state: c.state,
    met: c.state === 'met',
  }));
  const scheduled = scheduleActivities(facts, now);
  return {
    ...facts,
    ...scheduled,
    generatedAt: now.toISOString(),
    passRate: passRateOf(facts.run, facts.requiredPassRate),
    successMetrics: criteria.filter((c) => !c.key.startsWith(VALIDATION_PREFIX)),
    validationCriteria: criteria.filter((c) => c.key.startsWith(VALIDATION_PREFIX)),
    nextSteps: planNextSteps({ ...scheduled, checkpoints: facts.checkpoints }, now),
  };
}

// ---------------------------------------------------------------------------------------
// Words

const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];

/** "August 12, 2025" (UTC), from an ISO time or a YYYY-MM-DD date. */
export function longDate(iso: string): string {
  const d = new Date(/^\d{4}-\d{2}-\d{2}$/.test(iso) ? `${iso}T00:00:00Z` : iso);
  return `${MONTHS[d.getUTCMonth()]} ${d.getUTCDate()}, ${d.getUTCFullYear()}`;
}

/** "August 13, 2025 09:00 UTC". */
export function longDateTime(iso: string): string {
  const d = new Date(iso);
  const hh = String(d.getUTCHours()).padStart(2, '0');
  const mm = String(d.getUTCMinutes()).padStart(2, '0');
  return `${longDate(iso)} ${hh}:${mm} UTC`;
}

const ROLE_LABELS: Record<string, string> = {
  owner: 'Owner',
  admin: 'Admin',
  qa_lead: 'QA Lead',
  architect: 'Technical Architect',
  developer: 'Software Developer',
  reviewer: 'Code Reviewer',
  viewer: 'Viewer',
  ci: 'CI',
};

export const roleLabel = (role: string) => ROLE_LABELS[role] ?? words(role);

const PHASE_LABELS: Record<string, string> = {
  development: 'Development',
  code_review: 'Code Review',
  qa: 'QA',
  escalated: 'Escalated',
  ready_for_release: 'Ready for Release',
  done: 'Done',
};

const phaseLabel = (phase: string) => PHASE_LABELS[phase] ?? words(phase);

const CHANNEL_LABELS: Record<string, string> = {
  github_comment: 'GitHub comment',
  github_status: 'GitHub status',
  webhook: 'webhook',
  escalation: 'escalation',
  checkpoint: 'checkpoint',
  note: 'note',
  email: 'email',
  chat: 'chat',
  meeting: 'meeting',
  other: 'other',
};

const NOTE_SECTIONS: { kind: string; heading: string }[] = [
  { kind: 'process', heading: 'Process Improvements Implemented' },
  { kind: 'lesson', heading: 'Lessons Learned Integration' },
];
const FOOTER_NOTES: { kind: string; label: string }[] = [
  { kind: 'status', label: 'QA Orchestrator Status' },
  { kind: 'priority', label: 'Quality Assurance Priority' },
];

function words(s: string): string {
  const spaced = s.replace(/[_-]+/g, ' ').trim();
  return spaced.charAt(0).toUpperCase() + spaced.slice(1);
}

/** One line of user text: newlines would break the Markdown structure around it. */
const inline = (s: string) => s.replace(/\s*\n\s*/g, ' ').trim();

/** "Head - the rest" reads as the seed's "**Head** - the rest"; other text stays as it is. */
function lead(text: string): string {
  const t = inline(text);
  const m = /^(.{1,100}?) [-—] (.+)$/.exec(t);
  return m === null ? t : `**${m[1]}** - ${m[2]}`;
}

const days = (n: number) => {
  const s = String(Math.round(n * 10) / 10);
  return s;
};

function dayRange(min: number, max: number): string {
  if (min === max) return `${days(min)} day${min === 1 ? '' : 's'}`;
  return `${days(min)}-${days(max)} days`;
}

const pct = (rate: number) => `${(Math.round(rate * 1000) / 10).toString()}%`;

const GATE_ICON: Record<string, Icon> = { passed: '✅', blocked: '🔴', pending: '⏳' };
const gateIcon = (state: string): Icon => GATE_ICON[state] ?? '⏳';

/** ✅ done, 🔄 under way (waiting, in progress), 🔴 blocked, ⏳ not started. */
export function activityIcon(status: string): Icon {
  switch (status) {
    case 'done':
      return '✅';
    case 'waiting':
    case 'in_progress':
      return '🔄';
    case 'blocked':
      return '🔴';
    default:
      return '⏳';
  }
}

function mitigationIcon(status: string): Icon {
  if (['done', 'completed', 'complete', 'taken'].includes(status)) return '✅';
  if (['in_progress', 'active', 'ongoing'].includes(status)) return '🔄';
  if (status === 'blocked') return '🔴';
  return '⏳';
}

function communicationIcon(status: string | null): Icon {
  if (status === null || ['sent', 'delivered', 'done', 'posted', 'recorded'].includes(status))
    return '✅';
  if (status === 'failed') return '🔴';
  return '⏳';
}

const SIGNAL_ICON: Record<string, string> = { red: '🔴', amber: '⏳', green: '✅', none: '' };

// ---------------------------------------------------------------------------------------
// Markdown

const openEscalations = (m: ReportModel) => m.escalations.filter((e) => e.status !== 'resolved');

function header(m: ReportModel): string[] {
  const { issue } = m;
  const escalated = m.escalations.length > 0 ? 'Escalation ' : '';
  const open = openEscalations(m)[0];
  const phase =
    issue.phase === 'escalated' && open !== undefined
      ? `${roleLabel(open.role)} Escalation`
      : phaseLabel(issue.phase);
  const lines = [
    `# QA Issue #${issue.number} ${escalated}Coordination Tracking — ${inline(m.project.name)}`,
    '',
    `**Date:** ${longDate(m.generatedAt)}  `,
    `**Project:** ${inline(m.project.name)} (\`${m.project.key}\`), ${inline(m.org.name)}  `,
  ];
  if (m.orchestrators.length > 0)
    lines.push(`**QA Orchestrator:** ${m.orchestrators.map(inline).join(', ')}  `);
  const number =
    issue.githubIssueUrl === null
      ? `#${issue.number}`
      : `[#${issue.number}](${issue.githubIssueUrl})`;
  lines.push(`**Issue:** ${number} ${inline(issue.title)}  `, `**Phase:** ${phase}  `);
  if (issue.targetDate !== null) lines.push(`**Target Date:** ${longDate(issue.targetDate)}  `);
  return lines;
}

function reviewLine(review: ReportModel['review']): string {
  if (review === null) return '⏳ no code review recorded yet';
  const verdict = review.verdict.replace(/_/g, ' ').toUpperCase();
  const met = review.conditions.filter((c) => c.status === 'met').map((c) => inline(c.text));
  const open = review.conditions.filter((c) => c.status !== 'met').map((c) => inline(c.text));
  const parts = [...met, ...(open.length > 0 ? [`open: ${open.join('; ')}`] : [])];
  const conditions = parts.length > 0 ? ` (${parts.join('; ')})` : '';
  return `${verdict}${conditions} — ${inline(review.reviewer)}, ${longDate(review.at)}`;
}

function passRateLine(m: ReportModel): string {
  const p = m.passRate;
  if (p === null) return '⏳ no complete test run yet';
  if (p.rate === null) return `⏳ no test ran (${m.run?.skipped ?? 0} skipped)`;
  const skipped = (m.run?.skipped ?? 0) > 0 ? `, ${m.run!.skipped} skipped` : '';
  const counts = `${p.passed} of ${p.ran} tests passed${skipped}`;
  if (p.required === null || p.needed === null) return `${pct(p.rate)} (${counts})`;
  const needed = `${p.needed} of ${p.ran} needed`;
  return p.met === true
    ? `✅ ${pct(p.rate)} (meets the ${pct(p.required)} requirement; ${counts}, ${needed})`
    : `🔴 ${pct(p.rate)} (Below ${pct(p.required)} requirement; ${counts}, ${needed})`;
}

function gateStatusLine(m: ReportModel): string {
  const { overall, gates } = m.gates;
  if (overall === 'none' || gates.length === 0) return 'no quality gates configured';
  const state = overall.toUpperCase();
  const explain = (list: typeof gates) =>
    list.map((g) => `${g.name}: ${g.reasons.map(inline).join('; ')}`).join('; ');
  if (overall === 'blocked')
    return `🔴 ${state} — ${explain(gates.filter((g) => g.state === 'blocked'))}`;
  if (overall === 'pending')
    return `⏳ ${state} — ${explain(gates.filter((g) => g.state === 'pending'))}`;
  return `${gateIcon(overall)} ${state}`;
}

function statusOverview(m: ReportModel): string[] {
  const open = openEscalations(m);
  const current =
    open.length > 0
      ? `✅ ESCALATED TO ${open.map((e) => roleLabel(e.role).toUpperCase()).join(' AND ')}`
      : `${gateIcon(m.gates.overall)} ${phaseLabel(m.issue.phase).toUpperCase()}`;
  const lines = [
    `## ${m.escalations.length > 0 ? 'Escalation ' : ''}Status Overview`,
    '',
    `### Current Status: ${current}`,
    `- **Code Review Status:** ${reviewLine(m.review)}`,
    `- **Test Pass Rate:** ${passRateLine(m)}`,
  ];
  const failing = m.failuresByCategory.reduce((n, c) => n + c.count, 0);
  if (failing > 0) {
    const by = m.failuresByCategory.map((c) => `${inline(c.label)}: ${c.count}`).join(', ');
    lines.push(`- **Failing Tests:** ${failing} by root cause — ${by}`);
  }
  lines.push(`- **Quality Gate Status:** ${gateStatusLine(m)}`);
  const gh = m.githubComment;
  lines.push(
    gh === null
      ? `- **GitHub Issue Updated:** ⏳ no status comment yet`
      : `- **GitHub Issue Updated:** ✅ Comment #${gh.id} added (${longDate(gh.at)})`,
  );
  for (const e of m.escalations) {
    const topics = [...new Set(e.questions.map((q) => q.topic))].length;
    const icon = e.breachedAt !== null && e.status !== 'resolved' ? '🔴' : '✅';
    const due =
      e.status === 'open' || e.status === 'acknowledged'
        ? e.answerDueAt === null
          ? ''
          : `, answer due ${longDateTime(e.answerDueAt)}`
        : '';
    lines.push(
      `- **${roleLabel(e.role)} Analysis Request:** ${icon} Created and documented ` +
        `(${e.status.toUpperCase()}; ${topics} question topic${topics === 1 ? '' : 's'}${due})`,
    );
  }
  for (const e of m.escalations) lines.push('', ...escalationDetail(e));
  return lines;
}

function escalationDetail(e: ReportModel['escalations'][number]): string[] {
  const lines = [
    `### Escalation to ${roleLabel(e.role)} (${longDate(e.createdAt)})`,
    `- **Reason:** ${inline(e.reason)}`,
  ];
  if (e.request.trim() !== '') lines.push(`- **Request:** ${inline(e.request)}`);
  const topics = new Map<string, string[]>();
  for (const q of e.questions) topics.set(q.topic, [...(topics.get(q.topic) ?? []), q.text]);
  if (topics.size > 0) {
    lines.push('- **Questions:**');
    for (const [topic, texts] of topics)
      lines.push(`  - **${inline(topic)}:** ${texts.map(inline).join('; ')}`);
  }
  const clock: string[] = [];
  if (e.ackDueAt !== null && e.status === 'open')
    clock.push(`acknowledgement due ${longDateTime(e.ackDueAt)}`);
  if (e.answerDueAt !== null && (e.status === 'open' || e.status === 'acknowledged'))
    clock.push(`answer due ${longDateTime(e.answerDueAt)}`);
  if (e.breachedAt !== null) clock.push(`🔴 response time breached ${longDateTime(e.breachedAt)}`);
  lines.push(
    `- **Status:** ${e.status.toUpperCase()}${clock.length > 0 ? ` — ${clock.join('; ')}` : ''}`,
  );
  if (e.answer !== null && e.answer.trim() !== '') lines.push(`- **Answer:** ${inline(e.answer)}`);
  return lines;
}

function completedActivities(m: ReportModel): string[] {
  const done = m.activities.filter((a) => a.status === 'done');
  const lines = ['## Quality Assurance Coordination Activities Completed', ''];
  if (done.length === 0) return [...lines, '_None yet._'];
  done.forEach((a, i) => {
    if (i > 0) lines.push('');
    lines.push(`### ${i + 1}. ${inline(a.title)} ✅`);
    for (const line of (a.deliverable ?? '').split('\n').map((l) => l.trim()))
      if (line !== '') lines.push(`- ${lead(line.replace(/^[-*]\s+/, ''))}`);
    const when = a.doneAt === null ? '' : `, completed ${longDate(a.doneAt)}`;
    lines.push(`- **Owner:** ${roleLabel(a.ownerRole)}${when}`);
  });
  return lines;
}

function pendingActivities(m: ReportModel): string[] {
  const byKey = new Map(m.activities.map((a) => [a.key, a]));
  const gateByKey = new Map(m.gates.gates.map((g) => [g.key, g]));
  const open = m.activities.filter((a) => a.status !== 'done');
  const lines = ['## Pending Coordination Activities', ''];
  if (open.length === 0) return [...lines, '_None: every activity is done._'];
  const titleOf = (k: string) => inline(byKey.get(k)?.title ?? k);
  open.forEach((a, i) => {
    const deps = a.dependsOn.filter((d) => byKey.get(d)?.status !== 'done');
    const gates = a.gates
      .map((k) => gateByKey.get(k))
      .filter((g): g is NonNullable<typeof g> => g !== undefined && g.state !== 'passed');
    const status = a.status.replace(/_/g, ' ').toUpperCase();
    let why: string;
    if (deps.length > 0) why = `${deps.map(titleOf).join(' and ')} required first`;
    else if (gates.length > 0) why = `${gates.map((g) => g.name).join(' and ')} must pass first`;
    else if (a.status === 'blocked') why = 'blocked';
    else why = `on ${roleLabel(a.ownerRole)}`;
    const after =
      a.dependsOn.length > 0 ? ` after ${a.dependsOn.map(titleOf).join(' and ')}` : ' expected';
    const window =
      a.window === null
        ? ''
        : ` (finish between ${longDate(a.window.earliestFinish)} and ${longDate(a.window.latestFinish)}; expected ${longDate(a.window.expectedFinish)})`;
    const needs = [
      ...a.dependsOn.map(
        (d) => `${titleOf(d)} (${(byKey.get(d)?.status ?? 'unknown').replace(/_/g, ' ')})`,
      ),
      ...a.gates.map((k) => {
        const g = gateByKey.get(k);
        return g === undefined ? `gate ${k}` : `${g.name} (${g.state})`;
      }),
    ];
    if (i > 0) lines.push('');
    lines.push(
      `### ${i + 1}. ${inline(a.title)} ${activityIcon(a.status)}`,
      `- **Status:** ${status} - ${why}`,
      `- **Owner:** ${roleLabel(a.ownerRole)}`,
      `- **Timeline:** ${dayRange(a.minDays, a.maxDays)}${after}${window}`,
    );
    if (a.deliverable !== null && a.deliverable.trim() !== '')
      lines.push(`- **Required:** ${inline(a.deliverable)}`);
    lines.push(`- **Dependencies:** ${needs.length > 0 ? needs.join(', ') : 'none'}`);
  });
  return lines;
}

const checkbox = (c: { met: boolean; text: string }) => `- [${c.met ? 'x' : ' '}] ${lead(c.text)}`;

function monitoring(m: ReportModel): string[] {
  const lines = ['## Quality Standards Monitoring Framework', '', '### Success Metrics Tracking:'];
  if (m.successMetrics.length === 0) lines.push('_No success criteria configured._');
  else lines.push(...m.successMetrics.map(checkbox));
  lines.push('', '### Quality Gates Validation:');
  if (m.gates.gates.length === 0) lines.push('_No quality gates configured._');
  for (const g of m.gates.gates) {
    const reasons = g.reasons.length > 0 ? `: ${g.reasons.map(inline).join('; ')}` : '';
    lines.push(`- ${gateIcon(g.state)} **${inline(g.name)}** - ${g.state.toUpperCase()}${reasons}`);
  }
  const excused = m.gates.excused ?? [];
  if (excused.length > 0) {
    lines.push('', '### Excused Failures (not counted against the gates):');
    for (const e of excused) lines.push(`- ${excusedLine(e)}`);
  }
  return lines;
}

/** "app.OrgTest.login - quarantined: flaky on CI" or "... - known failure (jwt, JIRA-12)". */
function excusedLine(e: NonNullable<ReportFacts['gates']['excused']>[number]): string {
  const test = `\`${inline(e.test)}\``;
  if (e.why === 'quarantine')
    return `${test} - quarantined${e.reason === undefined ? '' : `: ${inline(e.reason)}`}`;
  const where = [e.category, e.ticket].filter((x) => x !== undefined).map((x) => inline(x));
  return `${test} - known failure${where.length > 0 ? ` (${where.join(', ')})` : ''}`;
}

function risks(m: ReportModel): string[] {
  const lines = ['## Risk Management and Mitigation', '', '### Current Risks Monitored:'];
  if (m.risks.length === 0) lines.push('_No risks recorded._');
  m.risks.forEach((r, i) => {
    const description = r.description.trim() === '' ? '' : ` — ${inline(r.description)}`;
    const status = r.status === 'open' ? '' : ` (${r.status})`;
    const signal =
      r.signal === null || r.signal.text === ''
        ? ''
        : ` — signal: ${[SIGNAL_ICON[r.signal.level] ?? '', inline(r.signal.text)].filter((s) => s !== '').join(' ')}`;
    lines.push(
      `${i + 1}. **${words(r.severity)} Risk:** ${inline(r.title)}${description}${status}${signal}`,
    );
  });
  // One mitigation often serves several risks: listed once, with the risks it serves.
  const mitigations = new Map<string, { status: string; risks: number[] }>();
  m.risks.forEach((r, i) => {
    for (const x of r.mitigations) {
      const key = inline(x.text);
      const seen = mitigations.get(key);
      if (seen === undefined) mitigations.set(key, { status: x.status, risks: [i + 1] });
      else seen.risks.push(i + 1);
    }
  });
  const taken = [...mitigations].filter(([, v]) => mitigationIcon(v.status) === '✅');
  const planned = [...mitigations].filter(([, v]) => mitigationIcon(v.status) !== '✅');
  const item = ([text, v]: [string, { status: string; risks: number[] }]) =>
    `- ${mitigationIcon(v.status)} ${text} (risk${v.risks.length > 1 ? 's' : ''} ${v.risks.join(', ')})`;
  if (taken.length > 0) lines.push('', '### Mitigation Actions Taken:', ...taken.map(item));
  if (planned.length > 0) lines.push('', '### Mitigation Actions Planned:', ...planned.map(item));
  return lines;
}

function communications(m: ReportModel): string[] {
  const lines = [
    '## Communication and Coordination Tracking',
    '',
    '### Stakeholder Communication Status:',
  ];
  // A note is announced as a communication too; the notes have their own section below.
  const told = m.communications.filter((c) => c.channel !== 'note');
  if (told.length === 0) lines.push('_Nobody has been notified yet._');
  for (const c of told) {
    const id = c.externalId === null ? '' : ` #${c.externalId}`;
    const status = c.status === null ? '' : `, ${c.status}`;
    lines.push(
      `- ${communicationIcon(c.status)} **${inline(c.audience)}** - ${inline(c.summary)} ` +
        `(${CHANNEL_LABELS[c.channel] ?? c.channel}${id}, ${longDate(c.at)}${status})`,
    );
  }
  lines.push('', '### Coordination Checkpoints Scheduled:');
  if (m.checkpoints.length === 0) lines.push('_No checkpoints scheduled._');
  for (const c of m.checkpoints) {
    const parts = [c.schedule];
    if (c.ownerRole !== null) parts.push(roleLabel(c.ownerRole));
    if (c.nextDueAt !== null) parts.push(`next due ${longDateTime(c.nextDueAt)}`);
    lines.push(`- ${lead(c.title)} (${parts.filter((p) => p !== '').join('; ')})`);
  }
  return lines;
}

function stepLines(steps: NextStep[]): string[] {
  return steps.map((s, i) => {
    const tail = s.ownerRole === null ? [] : [roleLabel(s.ownerRole)];
    let head: string;
    if (s.kind === 'checkpoint') {
      // A checkpoint's title says what it checks; how often goes with when it is due.
      head = /\*\*/.test(lead(s.title)) ? lead(s.title) : `**${inline(s.title)}**`;
      if (s.detail.trim() !== '') tail.unshift(inline(s.detail));
      if (s.by !== null) tail.push(`due ${longDateTime(s.by)}`);
    } else {
      head = `**${inline(s.title)}**${s.detail.trim() === '' ? '' : ` - ${inline(s.detail)}`}`;
      if (s.by !== null) tail.push(`expected by ${longDate(s.by)}`);
    }
    return `${i + 1}. ${head}${tail.length > 0 ? ` (${tail.join('; ')})` : ''}`;
  });
}

function nextSteps(m: ReportModel): string[] {
  const { within48Hours, within5Days, later } = m.nextSteps;
  const lines = ['## Next Steps Action Plan', '', '### Immediate Actions (next 48 hours):'];
  lines.push(...(within48Hours.length > 0 ? stepLines(within48Hours) : ['_Nothing due._']));
  lines.push('', '### Medium-term Actions (3-5 days):');
  lines.push(...(within5Days.length > 0 ? stepLines(within5Days) : ['_Nothing planned._']));
  if (later.length > 0) lines.push('', '### Later Actions:', ...stepLines(later));
  const f = m.forecast;
  if (f !== null) {
    const sd = f.sdDays === 0 ? '' : ` ± ${days(f.sdDays)} days`;
    const onTime =
      f.onTimeProbability === null || m.issue.targetDate === null
        ? ''
        : `; ${Math.round(f.onTimeProbability * 100)}% chance by the target date ${longDate(m.issue.targetDate)}`;
    lines.push(
      '',
      `**Forecast (PERT):** expected finish ${longDate(f.expectedFinish)}${sd} ` +
        `(between ${longDate(f.earliestFinish)} and ${longDate(f.latestFinish)}${onTime})`,
    );
    if (f.criticalPath.length > 0)
      lines.push('', `**Critical Path:** ${f.criticalPath.map(inline).join(' → ')}`);
  }
  lines.push('', '### Success Validation Criteria:');
  if (m.validationCriteria.length === 0) lines.push('_No validation criteria configured._');
  else lines.push(...m.validationCriteria.map(checkbox));
  return lines;
}

function processNotes(m: ReportModel): string[] {
  const lines = ['## Quality Assurance Process Excellence'];
  const shown = new Set([...NOTE_SECTIONS, ...FOOTER_NOTES].map((s) => s.kind));
  const sections = [
    ...NOTE_SECTIONS,
    ...[...new Set(m.notes.map((n) => n.kind))]
      .filter((k) => !shown.has(k))
      .map((kind) => ({ kind, heading: `${words(kind)} Notes` })),
  ];
  let any = false;
  for (const s of sections) {
    const notes = m.notes.filter((n) => n.kind === s.kind);
    if (notes.length === 0) continue;
    any = true;
    lines.push('', `### ${s.heading}:`, ...notes.map((n) => `- ${lead(n.text)}`));
  }
  if (!any) lines.push('', '_No process notes or lessons recorded._');
  return lines;
}

function phaseChanges(m: ReportModel): string[] {
  const lines = ['## Phase Changes', ''];
  if (m.phaseChanges.length === 0) return [...lines, `_Still in ${phaseLabel(m.issue.phase)}._`];
  for (const p of m.phaseChanges) {
    const reason = p.reason.trim() === '' ? '' : ` — ${inline(p.reason)}`;
    lines.push(
      `- ${longDateTime(p.at)}: ${phaseLabel(p.from)} → ${phaseLabel(p.to)}${reason} (${inline(p.by)})`,
    );
  }
  return lines;
}

function footer(m: ReportModel): string[] {
  const lines = ['---', ''];
  for (const f of FOOTER_NOTES)
    for (const n of m.notes.filter((x) => x.kind === f.kind))
      lines.push(`**${f.label}:** ${inline(n.text)}`, '');
  const judged =
    m.gates.evaluatedAt === null
      ? ''
      : `; gates judged ${longDateTime(m.gates.evaluatedAt)}${m.run === null ? '' : ` on run ${m.run.id}`}`;
  lines.push(`_Generated by Gatehouse ${longDateTime(m.generatedAt)}${judged}._`);
  return lines;
}

/** The report as Markdown, section by section in the seed report's order. */
export function renderReport(m: ReportModel): string {
  const sections = [
    header(m),
    statusOverview(m),
    completedActivities(m),
    pendingActivities(m),
    monitoring(m),
    risks(m),
    communications(m),
    nextSteps(m),
    processNotes(m),
    phaseChanges(m),
    footer(m),
  ];
  return `${sections.map((s) => s.join('\n')).join('\n\n')}\n`;
}
