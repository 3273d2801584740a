import { describe, expect, it } from 'vitest';
import {
  analyzeRun,
  coordinationFacts,
  gateFacts,
  type IssueEvidence,
  type RunEvidence,
} from './run-analysis.ts';
import type { Categorizer, Failure, Observation } from './triage.ts';

const failure = (testKey: string, message: string): Failure => ({
  id: `id-${testKey}`,
  testKey,
  classname: 'app.OrgTest',
  name: testKey,
  type: 'AssertionError',
  message,
  text: null,
});

const seen = (
  testKey: string,
  runId: string,
  status: Observation['status'],
  flakyMarker = false,
): Observation => ({ testKey, runId, status, flakyMarker, label: `app.OrgTest.${testKey}` });

// Categories by message, as a configuration would: jwt and database, anything else none.
const categorize: Categorizer = (f) =>
  f.message?.includes('JWT') === true
    ? 'jwt'
    : f.message?.includes('ECONNREFUSED') === true
      ? 'database'
      : null;

const evidence = (over: Partial<RunEvidence> = {}): RunEvidence => ({
  runId: 'r2',
  failures: [],
  observations: [],
  baseline: null,
  ...over,
});

describe('flaky tests', () => {
  it('calls a test flaky that passed and failed on the same commit, with the runs as evidence', () => {
    const analysis = analyzeRun(
      evidence({
        failures: [],
        observations: [seen('wobbly', 'r1', 'failed'), seen('wobbly', 'r2', 'passed')],
      }),
      categorize,
    );
    expect(analysis.flaky).toEqual([
      {
        testKey: 'wobbly',
        label: 'app.OrgTest.wobbly',
        reason: 'same_commit',
        passedIn: ['r2'],
        failedIn: ['r1'],
      },
    ]);
  });

  it('counts a rerun-marked test as flaky', () => {
    const analysis = analyzeRun(
      evidence({ observations: [seen('marked', 'r2', 'passed', true)] }),
      categorize,
    );
    expect(analysis.flaky).toMatchObject([{ testKey: 'marked', reason: 'rerun' }]);
  });

  it('does not hold against a run a test that flipped only in the commit’s other runs', () => {
    const analysis = analyzeRun(
      evidence({
        observations: [seen('elsewhere', 'r0', 'failed'), seen('elsewhere', 'r1', 'passed')],
      }),
      categorize,
    );
    expect(analysis.flaky).toEqual([]);
  });
});

describe('comparison with the baseline', () => {
  const failures = [
    failure('a', 'JWT token structure invalid'),
    failure('b', 'connect ECONNREFUSED 127.0.0.1:5432'),
    failure('c', 'expected:<1> but was:<2>'),
    failure('d', 'JWT claim missing'),
  ];

  it('tells new failures (passed before) from ones still failing; tests new to the run are neither', () => {
    const analysis = analyzeRun(
      evidence({
        failures,
        baseline: {
          runId: 'r1',
          statuses: new Map([
            ['a', 'passed'],
            ['b', 'failed'],
            ['c', 'passed'],
            ['other', 'passed'],
          ]),
        },
      }),
      categorize,
    );
    expect(analysis.regressions).toMatchObject({
      baselineRunId: 'r1',
      newFailures: ['a', 'c'],
      stillFailing: ['b'],
    });
    expect(analysis.failures).toBe(4);
  });

  it('counts regressions by the category of the new failure only (not still-failing, not uncategorized)', () => {
    const analysis = analyzeRun(
      evidence({
        failures,
        baseline: {
          runId: 'r1',
          statuses: new Map([
            ['a', 'passed'],
            ['b', 'error'],
            ['c', 'passed'],
            ['d', 'passed'],
          ]),
        },
      }),
      categorize,
    );
    expect(analysis.regressions.byCategory).toEqual({ jwt: 2 });
  });

  it('has no regressions without a baseline', () => {
    const analysis = analyzeRun(evidence({ failures }), categorize);
    expect(analysis.regressions).toEqual({
      baselineRunId: null,
      newFailures: [],
      stillFailing: [],
      byCategory: {},
    });
  });

  it('groups the failures by category, largest first, uncategorized last', () => {
    const analysis = analyzeRun(evidence({ failures }), categorize);
    expect(analysis.groups.map((g) => [g.category, g.count])).toEqual([
      ['jwt', 2],
      ['database', 1],
      [null, 1],
    ]);
  });
});

describe('the facts gates are judged on', () => {
  const config = {
    categories: [
      { name: 'jwt', blocking: true, match: {} },
      { name: 'database', blocking: true, match: {} },
      { name: 'security', match: {} },
    ],
  };
  const run = { id: 'r2', tests: 60, passed: 48, failed: 12, errored: 0, skipped: 0 };
  const issue = (over: Partial<IssueEvidence> = {}): IssueEvidence => ({
    issueNumber: 2,
    run,
    analysis: analyzeRun(
      evidence({
        failures: [
          ...Array.from({ length: 7 }, (_, i) => failure(`jwt${i}`, 'JWT token structure')),
          ...Array.from({ length: 4 }, (_, i) => failure(`db${i}`, 'connect ECONNREFUSED')),
          failure('other', 'expected:<1> but was:<2>'),
        ],
        observations: [seen('jwt0', 'r1', 'passed'), seen('jwt0', 'r2', 'failed')],
        baseline: { runId: 'r1', statuses: new Map([['db0', 'passed']]) },
      }),
      categorize,
    ),
    review: { verdict: 'conditional_pass', conditions: [{ status: 'met' }, { status: 'open' }] },
    checks: [
      { criterion: 'security-kept', checked: true, by: 'u1', at: new Date('2026-05-01T10:00:00Z') },
    ],
    ...over,
  });

  it('sums failures by category, the blocking ones together, and counts flaky tests, regressions and open review conditions', () => {
    expect(gateFacts(config, issue())).toEqual({
      issueNumber: 2,
      run,
      failuresByCategory: { jwt: 7, database: 4 },
      uncategorizedFailures: 1,
      blockingFailures: 11,
      flakyTests: 1,
      regressions: { total: 1, byCategory: { database: 1 } },
      review: { verdict: 'conditional_pass', openConditions: 1 },
      manual: { 'security-kept': { checked: true, by: 'u1', at: '2026-05-01T10:00:00.000Z' } },
      activities: {},
      openEscalations: 0,
      openRisks: { high: 0, medium: 0, low: 0 },
    });
  });

  it('counts no blocking failures when no category is blocking', () => {
    expect(gateFacts({ categories: [] }, issue()).blockingFailures).toBe(0);
  });

  it('knows nothing of a run before there is one', () => {
    expect(gateFacts(config, issue({ run: null, analysis: null, review: null }))).toMatchObject({
      run: null,
      failuresByCategory: {},
      uncategorizedFailures: 0,
      blockingFailures: 0,
      flakyTests: 0,
      regressions: { total: 0, byCategory: {} },
      review: null,
    });
  });
});

describe('the coordination facts gates are judged on', () => {
  const now = new Date('2025-08-12T12:00:00Z');
  const day = 86_400_000;
  const activity = (
    key: string,
    status: 'pending' | 'in_progress' | 'done' | 'waiting',
    over: { dependsOn?: string[]; startedAt?: Date; maxDays?: number } = {},
  ) => ({
    key,
    status,
    minDays: 1,
    maxDays: over.maxDays ?? 2,
    dependsOn: over.dependsOn ?? [],
    startedAt: over.startedAt ?? null,
    doneAt: status === 'done' ? new Date(now.getTime() - day) : null,
  });
  const seed = [
    activity('ta-analysis', 'in_progress', { startedAt: new Date(now.getTime() - 3 * day) }),
    activity('dev-impl', 'pending', { dependsOn: ['ta-analysis'] }),
    activity('re-review', 'pending', { dependsOn: ['dev-impl'], maxDays: 1 }),
    activity('escalate', 'done'),
  ];

  it('flags an open activity past its latest finish as overdue, from the schedule', () => {
    const facts = coordinationFacts(
      {
        activities: seed,
        openEscalations: 1,
        openRisks: [
          { severity: 'high', count: 2 },
          { severity: 'medium', count: 2 },
        ],
      },
      now,
    );
    expect(facts).toEqual({
      activities: {
        'ta-analysis': { status: 'in_progress', overdue: true },
        'dev-impl': { status: 'pending', overdue: false },
        're-review': { status: 'pending', overdue: false },
        escalate: { status: 'done', overdue: false },
      },
      openEscalations: 1,
      openRisks: { high: 2, medium: 2, low: 0 },
    });
  });

  it('flags an activity in progress once now is past its start plus its max days', () => {
    const started = new Date(now.getTime() - day);
    const evidence = {
      activities: [activity('ta-analysis', 'in_progress', { startedAt: started })],
      openEscalations: 0,
      openRisks: [],
    };
    const latest = new Date(started.getTime() + 2 * day);
    expect(coordinationFacts(evidence, latest).activities['ta-analysis']!.overdue).toBe(false);
    expect(
      coordinationFacts(evidence, new Date(latest.getTime() + 1)).activities['ta-analysis']!
        .overdue,
    ).toBe(true);
  });

  it('overdues nothing when dependencies go round (refused when written)', () => {
    const facts = coordinationFacts(
      {
        activities: [
          activity('a', 'in_progress', { dependsOn: ['b'], startedAt: new Date(0) }),
          activity('b', 'pending', { dependsOn: ['a'] }),
        ],
        openEscalations: 0,
        openRisks: [],
      },
      now,
    );
    expect(facts.activities).toEqual({
      a: { status: 'in_progress', overdue: false },
      b: { status: 'pending', overdue: false },
    });
  });

  it('passes them to the gates with the rest of the evidence', () => {
    const coordination = {
      activities: { x: { status: 'done' as const, overdue: false } },
      openEscalations: 2,
      openRisks: { high: 1, medium: 0, low: 0 },
    };
    expect(
      gateFacts(
        { categories: [] },
        { issueNumber: 1, run: null, analysis: null, review: null, checks: [], coordination },
      ),
    ).toMatchObject(coordination);
  });
});

describe('excused failures', () => {
  const now = new Date('2026-05-01T10:00:00Z');
  const excusal = {
    quarantines: new Map([
      ['q', { testKey: 'q', reason: 'flaky on CI', expiresAt: null }],
      ['old', { testKey: 'old', reason: 'lifted', expiresAt: new Date('2026-04-30T00:00:00Z') }],
    ]),
    known: new Map([['jwt', { ticket: 'JWT-12' }]]),
    now,
  };
  const run = { id: 'r2', tests: 10, passed: 6, failed: 4, errored: 0, skipped: 0 };
  const failures = [
    { ...failure('q', 'timeout'), status: 'failed' as const },
    { ...failure('j', 'JWT claim missing'), status: 'failed' as const },
    { ...failure('old', 'ECONNREFUSED'), status: 'failed' as const },
    { ...failure('x', 'boom'), status: 'failed' as const },
  ];

  it('leaves quarantined and known failures out of triage, flakiness and regressions, and lists them', () => {
    const analysis = analyzeRun(
      evidence({
        failures,
        observations: [seen('q', 'r1', 'passed'), seen('q', 'r2', 'failed')],
        baseline: {
          runId: 'r1',
          statuses: new Map([
            ['q', 'passed'],
            ['j', 'passed'],
          ]),
        },
      }),
      categorize,
      excusal,
    );
    expect(analysis.failures).toBe(2);
    expect(analysis.groups.map((g) => [g.category, g.count])).toEqual([
      ['database', 1],
      [null, 1],
    ]);
    expect(analysis.flaky).toEqual([]);
    expect(analysis.regressions.newFailures).toEqual([]);
    expect(analysis.excused).toEqual([
      { testId: 'q', test: 'app.OrgTest.q', why: 'quarantine', reason: 'flaky on CI' },
      { testId: 'j', test: 'app.OrgTest.j', why: 'known', category: 'jwt', ticket: 'JWT-12' },
    ]);
  });

  it('counts excused failures as skipped in the facts gates read', () => {
    const analysis = analyzeRun(evidence({ failures }), categorize, excusal);
    const facts = gateFacts(
      { categories: [{ name: 'jwt', blocking: true, known: true, match: { message: 'JWT' } }] },
      { issueNumber: 2, run, analysis, review: null, checks: [] },
    );
    expect(facts.run).toEqual({ ...run, failed: 2, skipped: 2 });
    expect(facts.blockingFailures).toBe(0);
  });
});
