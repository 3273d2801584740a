import { createHash } from 'node:crypto';
import { passRate } from './junit.ts';

/**
 * What Gatehouse writes on GitHub: the one status comment on a tracked issue (a short form
 * of the escalation report) and a completed run's commit status. Pure: data in, text out.
 */

/** GitHub refuses an issue comment longer than this (in characters). */
export const GITHUB_COMMENT_LIMIT = 65_536;
/** GitHub cuts a commit status description longer than this. */
export const STATUS_DESCRIPTION_LIMIT = 140;

type State = 'passed' | 'blocked' | 'pending';
export type Overall = State | 'none';

export const STATE_ICON: Record<State, string> = { passed: '✅', blocked: '🔴', pending: '⏳' };

/** What the status comment says, gathered by the job that writes it. */
export interface StatusCommentFacts {
  org: string;
  project: string;
  issue: { number: number; title: string; phase: string };
  overall: Overall;
  gates: { name: string; state: State; reasons: string[] }[];
  /** The issue's latest complete run, whose results the gates were judged on. */
  run: { tests: number; passed: number; failed: number; errored: number; skipped: number } | null;
  /** Escalations not yet resolved. */
  escalations: { role: string; reason: string; status: string }[];
  /** Coordination steps not done yet, in plan order. */
  nextSteps: { title: string; role: string; status: string }[];
  /** Where the full report is: `${publicUrl}/api/v1/orgs/:org/projects/:project/issues/:n/report.md`. */
  reportUrl: string;
}

/**
 * The hidden line that names the comment as Gatehouse's for this issue, so a comment whose
 * id was lost is found again among the issue's comments. Org slugs and project keys are
 * restricted to `[a-z0-9._-]`, so nothing in it can end the HTML comment early.
 */
export function commentMarker(org: string, project: string, issueNumber: number): string {
  return `<!-- gatehouse:${org}/${project}#${issueNumber} -->`;
}

/** sha256 of the body: a comment whose content has not changed is not sent again. */
export function contentHash(body: string): string {
  return createHash('sha256').update(body, 'utf8').digest('hex');
}

/** Pass rate = passed / (total − skipped), as GitHub's reader sees it. */
export function passRateText(run: StatusCommentFacts['run']): string {
  if (run === null) return 'no complete run yet';
  const ratio = passRate(run);
  if (ratio === null) return `no test ran (${run.skipped} skipped)`;
  const rate = Math.floor(ratio * 1000) / 10;
  return `${rate}% (${run.passed} of ${run.tests - run.skipped} passed)`;
}

/**
 * Free text (titles, reasons) as one line of Markdown that cannot open HTML, close the
 * marker, or mention (notify) anyone, cut to `max` characters.
 */
export function inlineText(text: string, max: number): string {
  const line = text.replace(/\s+/g, ' ').trim();
  const short = cut(line, max);
  return short
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/@/g, '&#64;')
    .replace(/([\\`*_[\]|])/g, '\\$1');
}

/** `text` cut to at most `max` characters (code points), ending in … when cut. */
export function cut(text: string, max: number): string {
  const chars = Array.from(text);
  if (chars.length <= max) return text;
  return `${chars.slice(0, Math.max(0, max - 1)).join('')}…`;
}

interface Limits {
  reasonsPerGate: number;
  reasonChars: number;
  gates: number;
  escalations: number;
  steps: number;
  textChars: number;
}

/** From detailed to terse: the first that fits is used. */
const LEVELS: Limits[] = [
  { reasonsPerGate: 5, reasonChars: 300, gates: 50, escalations: 20, steps: 10, textChars: 300 },
  { reasonsPerGate: 2, reasonChars: 160, gates: 30, escalations: 10, steps: 5, textChars: 160 },
  { reasonsPerGate: 0, reasonChars: 0, gates: 20, escalations: 5, steps: 3, textChars: 100 },
];

const OVERALL_WORD: Record<Overall, string> = {
  passed: 'PASSED',
  blocked: 'BLOCKED',
  pending: 'PENDING',
  none: 'NO GATES',
};

function more(shown: number, total: number, what: string, link: string): string[] {
  return total > shown
    ? [`- … and ${total - shown} more ${what} in the [full report](${link})`]
    : [];
}

function render(f: StatusCommentFacts, l: Limits): string {
  const icon = f.overall === 'none' ? 'ℹ️' : STATE_ICON[f.overall];
  const lines: string[] = [
    commentMarker(f.org, f.project, f.issue.number),
    `### ${icon} Gatehouse: ${OVERALL_WORD[f.overall]} — #${f.issue.number} ${inlineText(f.issue.title, l.textChars)}`,
    '',
    `**Phase:** ${inlineText(f.issue.phase, 40)} · **Pass rate:** ${passRateText(f.run)}`,
    '',
    '#### Quality gates',
  ];
  if (f.gates.length === 0) lines.push('_No gates configured._');
  for (const g of f.gates.slice(0, l.gates)) {
    const reasons = g.reasons.slice(0, l.reasonsPerGate).map((r) => inlineText(r, l.reasonChars));
    const extra = g.reasons.length - reasons.length;
    if (extra > 0 && l.reasonsPerGate > 0) reasons.push(`${extra} more`);
    lines.push(
      `- ${STATE_ICON[g.state]} **${inlineText(g.name, l.textChars)}** — ${g.state}${
        reasons.length > 0 ? `: ${reasons.join('; ')}` : ''
      }`,
    );
  }
  lines.push(...more(Math.min(l.gates, f.gates.length), f.gates.length, 'gates', f.reportUrl));

  lines.push('', `#### Open escalations (${f.escalations.length})`);
  if (f.escalations.length === 0) lines.push('_None._');
  for (const e of f.escalations.slice(0, l.escalations)) {
    lines.push(
      `- **${inlineText(e.role, 40)}** (${inlineText(e.status, 20)}): ${inlineText(e.reason, l.textChars)}`,
    );
  }
  lines.push(...more(l.escalations, f.escalations.length, 'escalations', f.reportUrl));

  lines.push('', '#### Next steps');
  if (f.nextSteps.length === 0) lines.push('_Nothing planned._');
  f.nextSteps.slice(0, l.steps).forEach((s, i) => {
    lines.push(
      `${i + 1}. ${inlineText(s.title, l.textChars)} — ${inlineText(s.role, 40)} (${inlineText(s.status, 20)})`,
    );
  });
  lines.push(...more(l.steps, f.nextSteps.length, 'steps', f.reportUrl));

  lines.push('', `📄 [Full escalation report](${f.reportUrl})`);
  return lines.join('\n');
}

/**
 * The status comment's Markdown: marker first, then the overall state, phase and pass rate,
 * each gate with its icon (✅ passed, 🔴 blocked, ⏳ pending) and reasons, open
 * escalations, next steps, and the link to the full report. Always at most `limit`
 * characters (GitHub's 65,536): long lists are cut to their first items with a pointer to
 * the full report, reasons are dropped, and as a last resort the text is cut with the link
 * kept at the end.
 */
export function renderStatusComment(
  facts: StatusCommentFacts,
  limit: number = GITHUB_COMMENT_LIMIT,
): string {
  for (const level of LEVELS) {
    const body = render(facts, level);
    // UTF-16 length ≥ characters however GitHub counts them: a safe measure.
    if (body.length <= limit) return body;
  }
  const body = render(facts, LEVELS[LEVELS.length - 1]!);
  const tail = `\n\n… cut to fit GitHub's limit: see the [full report](${facts.reportUrl})`;
  let head = body.slice(0, Math.max(0, limit - tail.length));
  const lastLine = head.lastIndexOf('\n');
  if (lastLine > 0) head = head.slice(0, lastLine);
  return `${head}${tail}`;
}

export type CommitState = 'success' | 'failure' | 'pending';

/** What a completed run's commit status says. */
export interface CommitStatusFacts {
  /** The overall gate state of the run's issue; null when the run has no tracked issue. */
  overall: Overall | null;
  /** The issue's gates (empty without an issue). */
  gates: { name: string; state: State; reasons: string[] }[];
  run: { tests: number; passed: number; failed: number; errored: number; skipped: number };
}

/**
 * The commit status of a completed run: from its issue's overall gate state (passed →
 * success, blocked → failure, pending → pending), or, without an issue (or without gates),
 * from the run itself (any failure or error → failure). The description gives the blocking
 * reasons, at most 140 characters.
 */
export function commitStatusOf(f: CommitStatusFacts): { state: CommitState; description: string } {
  const failing = f.run.failed + f.run.errored;
  if (f.overall === null || f.overall === 'none') {
    const counted = f.run.tests - f.run.skipped;
    return failing > 0
      ? { state: 'failure', description: describe(`${failing} of ${counted} tests failed`) }
      : { state: 'success', description: describe(`${f.run.passed} of ${counted} tests passed`) };
  }
  const reasonsOf = (state: State) =>
    f.gates.filter((g) => g.state === state).flatMap((g) => g.reasons);
  switch (f.overall) {
    case 'passed':
      return { state: 'success', description: describe('All quality gates passed') };
    case 'blocked':
      return {
        state: 'failure',
        description: describe(`Blocked: ${reasonsOf('blocked').join('; ')}`),
      };
    case 'pending':
      return {
        state: 'pending',
        description: describe(`Pending: ${reasonsOf('pending').join('; ')}`),
      };
  }
}

function describe(text: string): string {
  return cut(text.replace(/\s+/g, ' ').replace(/[:;]\s*$/, ''), STATUS_DESCRIPTION_LIMIT);
}
