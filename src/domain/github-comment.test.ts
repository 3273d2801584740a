import { describe, expect, it } from 'vitest';
import {
  commentMarker,
  commitStatusOf,
  contentHash,
  cut,
  GITHUB_COMMENT_LIMIT,
  inlineText,
  passRateText,
  renderStatusComment,
  type StatusCommentFacts,
} from './github-comment.ts';

const REPORT = 'https://gatehouse.example/api/v1/orgs/acme/projects/app/issues/2/report.md';

function seedFacts(over: Partial<StatusCommentFacts> = {}): StatusCommentFacts {
  return {
    org: 'acme',
    project: 'app',
    issue: { number: 2, title: 'Client Organization Management', phase: 'escalated' },
    overall: 'blocked',
    gates: [
      { name: 'Security Implementation Gate', state: 'passed', reasons: [] },
      {
        name: 'Infrastructure Stability Gate',
        state: 'blocked',
        reasons: ['7 failures in jwt; needs 0', '5 failures in database; needs 0'],
      },
      {
        name: 'Test Reliability Gate',
        state: 'pending',
        reasons: ['waiting for Infrastructure Stability Gate (blocked)'],
      },
    ],
    run: { tests: 60, passed: 48, failed: 12, errored: 0, skipped: 0 },
    escalations: [{ role: 'architect', reason: 'JWT structure and pooling', status: 'open' }],
    nextSteps: [
      { title: 'TA analysis', role: 'architect', status: 'in_progress' },
      { title: 'Implement TA recommendations', role: 'developer', status: 'pending' },
    ],
    reportUrl: REPORT,
    ...over,
  };
}

describe('the status comment', () => {
  it('starts with the hidden marker and shows gates with their icons, pass rate, escalations, next steps and the report link', () => {
    const body = renderStatusComment(seedFacts());
    expect(body.split('\n')[0]).toBe('<!-- gatehouse:acme/app#2 -->');
    expect(body).toContain('🔴 Gatehouse: BLOCKED — #2 Client Organization Management');
    expect(body).toContain('**Pass rate:** 80% (48 of 60 passed)');
    expect(body).toContain('- ✅ **Security Implementation Gate** — passed');
    expect(body).toContain(
      '- 🔴 **Infrastructure Stability Gate** — blocked: 7 failures in jwt; needs 0; 5 failures in database; needs 0',
    );
    expect(body).toContain('- ⏳ **Test Reliability Gate** — pending');
    expect(body).toContain('#### Open escalations (1)');
    expect(body).toContain('- **architect** (open): JWT structure and pooling');
    expect(body).toContain('1. TA analysis — architect (in\\_progress)');
    expect(body.endsWith(`[Full escalation report](${REPORT})`)).toBe(true);
  });

  it('is the same text for the same facts (so an unchanged comment is not sent again)', () => {
    expect(contentHash(renderStatusComment(seedFacts()))).toBe(
      contentHash(renderStatusComment(seedFacts())),
    );
    expect(contentHash(renderStatusComment(seedFacts({ overall: 'pending' })))).not.toBe(
      contentHash(renderStatusComment(seedFacts())),
    );
  });

  it('cannot mention people, open HTML or close the marker from user text', () => {
    const body = renderStatusComment(
      seedFacts({ issue: { number: 2, title: '@octocat <script> --> x\nline', phase: 'qa' } }),
    );
    expect(body).not.toContain('@octocat');
    expect(body).not.toContain('<script>');
    expect(body.split('-->').length).toBe(2);
    expect(inlineText('a | b', 10)).toBe('a \\| b');
  });

  it('stays under GitHub’s 65,536 characters with thousands of long reasons, keeping marker and link', () => {
    const long = 'x'.repeat(2000);
    const facts = seedFacts({
      gates: Array.from({ length: 50 }, (_, i) => ({
        name: `Gate ${i} ${long}`,
        state: 'blocked' as const,
        reasons: Array.from({ length: 30 }, () => long),
      })),
      escalations: Array.from({ length: 500 }, () => ({
        role: 'architect',
        reason: long,
        status: 'open',
      })),
      nextSteps: Array.from({ length: 500 }, () => ({ title: long, role: 'dev', status: 'x' })),
    });
    const body = renderStatusComment(facts);
    expect(body.length).toBeLessThanOrEqual(GITHUB_COMMENT_LIMIT);
    expect(body.startsWith(commentMarker('acme', 'app', 2))).toBe(true);
    expect(body).toContain(REPORT);
    expect(body).toContain('… and 490 more escalations');
  });

  it('cuts as a last resort when even the terse form is too long, ending with the link', () => {
    const body = renderStatusComment(seedFacts(), 400);
    expect(body.length).toBeLessThanOrEqual(400);
    expect(body.startsWith(commentMarker('acme', 'app', 2))).toBe(true);
    expect(body.endsWith(`see the [full report](${REPORT})`)).toBe(true);
  });

  it('reads the pass rate as passed / (total − skipped)', () => {
    expect(passRateText({ tests: 62, passed: 54, failed: 6, errored: 0, skipped: 2 })).toBe(
      '90% (54 of 60 passed)',
    );
    expect(passRateText(null)).toBe('no complete run yet');
    expect(passRateText({ tests: 3, passed: 0, failed: 0, errored: 0, skipped: 3 })).toBe(
      'no test ran (3 skipped)',
    );
  });
});

describe('the commit status', () => {
  const run = { tests: 60, passed: 48, failed: 12, errored: 0, skipped: 0 };
  const gates = seedFacts().gates;

  it('maps the issue’s overall state: passed → success, blocked → failure, pending → pending', () => {
    expect(commitStatusOf({ overall: 'passed', gates: [], run }).state).toBe('success');
    expect(commitStatusOf({ overall: 'blocked', gates, run })).toEqual({
      state: 'failure',
      description: 'Blocked: 7 failures in jwt; needs 0; 5 failures in database; needs 0',
    });
    expect(commitStatusOf({ overall: 'pending', gates, run })).toEqual({
      state: 'pending',
      description: 'Pending: waiting for Infrastructure Stability Gate (blocked)',
    });
  });

  it('judges a run without an issue (or without gates) by its failures', () => {
    expect(commitStatusOf({ overall: null, gates: [], run })).toEqual({
      state: 'failure',
      description: '12 of 60 tests failed',
    });
    expect(
      commitStatusOf({
        overall: 'none',
        gates: [],
        run: { ...run, passed: 60, failed: 0 },
      }),
    ).toEqual({ state: 'success', description: '60 of 60 tests passed' });
  });

  it('keeps the description within 140 characters', () => {
    const many = [{ name: 'g', state: 'blocked' as const, reasons: Array(20).fill('a reason') }];
    const { description } = commitStatusOf({ overall: 'blocked', gates: many, run });
    expect(Array.from(description).length).toBe(140);
    expect(description.endsWith('…')).toBe(true);
    expect(cut('abc', 3)).toBe('abc');
  });
});
