import { describe, expect, it } from 'vitest';
import {
  checkCondition,
  compare,
  evaluateGates,
  METRIC_KINDS,
  NO_COORDINATION,
  type GateFacts,
} from './gates.ts';
import { SEED_QUALITY_CONFIG } from '../seed-quality-config.ts';
import { validateConfig, type QualityConfig } from './quality.ts';

const SEED_CONFIG: QualityConfig = {
  ...SEED_QUALITY_CONFIG,
  criteria: [
    ...SEED_QUALITY_CONFIG.criteria.filter((c) => !c.manual),
    {
      key: 'ninety',
      text: 'At least 90%',
      condition: { metric: 'pass_rate', op: '>=', value: 0.9 },
    },
    ...SEED_QUALITY_CONFIG.criteria.filter((c) => c.manual === true),
  ],
};

function facts(over: Partial<GateFacts> = {}): GateFacts {
  return {
    issueNumber: 2,
    run: { id: 'r1', tests: 60, passed: 48, failed: 12, errored: 0, skipped: 0 },
    failuresByCategory: { jwt: 7, database: 5 },
    uncategorizedFailures: 0,
    blockingFailures: 12,
    flakyTests: 0,
    regressions: { total: 0, byCategory: {} },
    review: { verdict: 'conditional_pass', openConditions: 1 },
    manual: {},
    ...NO_COORDINATION,
    ...over,
  };
}

describe('the seed situation', () => {
  it("gives the seed's picture: security passed, infrastructure blocked, reliability and production pending, overall blocked", () => {
    expect(validateConfig(SEED_CONFIG, METRIC_KINDS)).toEqual([]);
    const report = evaluateGates(SEED_CONFIG, facts());
    const by = Object.fromEntries(report.gates.map((g) => [g.key, g]));
    expect(by['security']).toMatchObject({ state: 'passed', reasons: [] });
    expect(by['infrastructure']).toMatchObject({
      state: 'blocked',
      reasons: ['12 failures in jwt, database'],
    });
    // Pending while infrastructure has not passed, whatever its own conditions say; its own
    // failing pass rate is still listed.
    expect(by['reliability']).toMatchObject({
      state: 'pending',
      reasons: [
        'waiting for Infrastructure Stability Gate',
        'pass rate 80% (48 of 60) is below 90%',
      ],
    });
    expect(by['production']!.state).toBe('pending');
    expect(by['production']!.reasons).toEqual([
      'waiting for Infrastructure Stability Gate',
      'waiting for Test Reliability Gate',
    ]);
    expect(report.overall).toBe('blocked');
    expect(report.criteria.map((c) => [c.key, c.state])).toEqual([
      ['jwt-fixed', 'unmet'],
      // Bound to reliability, which now waits for infrastructure.
      ['pass-rate', 'pending'],
      ['ninety', 'unmet'],
      ['security-kept', 'pending'],
    ]);
  });

  it('passes with 55 of 60 and no infrastructure failures, and with exactly 54 of 60 (90%)', () => {
    for (const passed of [55, 54]) {
      const report = evaluateGates(
        SEED_CONFIG,
        facts({
          run: { id: 'r2', tests: 60, passed, failed: 60 - passed, errored: 0, skipped: 0 },
          failuresByCategory: {},
          blockingFailures: 0,
          manual: { 'security-kept': { checked: true, by: 'qa', at: 'now' } },
        }),
      );
      expect(
        report.gates.map((g) => g.state),
        String(passed),
      ).toEqual(['passed', 'passed', 'passed', 'passed']);
      expect(report.overall).toBe('passed');
      expect(report.criteria.every((c) => c.state === 'met')).toBe(true);
    }
  });

  it('blocks at 53 of 60', () => {
    const report = evaluateGates(
      SEED_CONFIG,
      facts({
        run: { id: 'r', tests: 60, passed: 53, failed: 7, errored: 0, skipped: 0 },
        failuresByCategory: {},
      }),
    );
    expect(report.gates.find((g) => g.key === 'reliability')).toMatchObject({
      state: 'blocked',
      reasons: ['pass rate 88.3% (53 of 60) is below 90%'],
    });
  });
});

describe('conditions', () => {
  it.each([
    [5, '>=', 5, true],
    [4, '>=', 5, false],
    [6, '>', 5, true],
    [5, '>', 5, false],
    [5, '<=', 5, true],
    [6, '<=', 5, false],
    [4, '<', 5, true],
    [5, '<', 5, false],
    [0.9, '==', 0.9, true],
    [0.1 + 0.2, '==', 0.3, true],
    [1, '==', 2, false],
    [1, '!=', 2, true],
    [2, '!=', 2, false],
    ['pass', 'in', ['pass', 'conditional_pass'], true],
    ['fail', 'in', ['pass', 'conditional_pass'], false],
  ] as const)('%s %s %j is %s', (a, op, b, ok) => {
    expect(compare(a, op, b as never)).toBe(ok);
  });

  it('waits (ok: null) when there is no data, rather than blocking', () => {
    expect(
      checkCondition({ metric: 'pass_rate', op: '>=', value: 0.9 }, facts({ run: null })),
    ).toEqual({ ok: null, reason: 'no test run for issue #2 yet' });
    expect(
      checkCondition(
        { metric: 'review_verdict', op: '==', value: 'pass' },
        facts({ review: null }),
      ),
    ).toEqual({ ok: null, reason: 'no code review recorded yet' });
  });

  it('words reasons for people', () => {
    expect(
      checkCondition({ metric: 'review_verdict', op: '==', value: 'pass' }, facts()).reason,
    ).toBe('review verdict is conditional_pass; needs pass');
    expect(checkCondition({ metric: 'tests_total', op: '>=', value: 61 }, facts()).reason).toBe(
      '60 tests ran is below 61',
    );
    expect(
      checkCondition({ metric: 'flaky_tests', op: '==', value: 0 }, facts({ flakyTests: 1 }))
        .reason,
    ).toBe('1 flaky test');
    expect(
      checkCondition(
        { metric: 'regressions', op: '<=', value: 2, category: 'jwt' },
        facts({ regressions: { total: 5, byCategory: { jwt: 3 } } }),
      ).reason,
    ).toBe('3 regressions in jwt is above 2');
  });
});

describe('requires chains', () => {
  const chain: QualityConfig = {
    categories: [],
    gates: [
      { key: 'a', name: 'A', conditions: [{ metric: 'tests_total', op: '>=', value: 100 }] },
      {
        key: 'b',
        name: 'B',
        requires: ['a'],
        conditions: [{ metric: 'tests_total', op: '>=', value: 1 }],
      },
      { key: 'c', name: 'C', requires: ['b'], conditions: [] },
    ],
    criteria: [],
  };

  it('passes a gate only when everything it requires has passed', () => {
    const blocked = evaluateGates(chain, facts());
    expect(blocked.gates.map((g) => g.state)).toEqual(['blocked', 'pending', 'pending']);
    expect(blocked.gates[1]!.reasons).toEqual(['waiting for A']);
    expect(blocked.gates[2]!.reasons).toEqual(['waiting for B']);
    expect(blocked.overall).toBe('blocked');
    const ok = evaluateGates(
      chain,
      facts({ run: { id: 'r', tests: 100, passed: 100, failed: 0, errored: 0, skipped: 0 } }),
    );
    expect(ok.gates.map((g) => g.state)).toEqual(['passed', 'passed', 'passed']);
  });

  it('is blocked overall when a sink is blocked', () => {
    const sinkBlocked: QualityConfig = { ...chain, gates: [chain.gates[0]!] };
    expect(evaluateGates(sinkBlocked, facts()).overall).toBe('blocked');
  });

  it('keeps a gate pending while what it requires has not passed, listing its own failures after the wait', () => {
    const both: QualityConfig = {
      ...chain,
      gates: [
        chain.gates[0]!,
        { ...chain.gates[1]!, conditions: [{ metric: 'tests_total', op: '>=', value: 80 }] },
      ],
    };
    const report = evaluateGates(both, facts());
    expect(report.gates[1]).toMatchObject({
      state: 'pending',
      reasons: ['waiting for A', '60 tests ran is below 80'],
    });
    // Once A passes, B's own failure blocks it.
    const next = evaluateGates(
      { ...both, gates: [{ ...both.gates[0]!, conditions: [] }, both.gates[1]!] },
      facts(),
    );
    expect(next.gates.map((g) => [g.state, g.reasons])).toEqual([
      ['passed', []],
      ['blocked', ['60 tests ran is below 80']],
    ]);
    expect(next.overall).toBe('blocked');
  });

  it('is blocked overall when any gate is blocked, else pending when any is, else passed; none without gates', () => {
    const g = (key: string, value: number) => ({
      key,
      name: key.toUpperCase(),
      conditions: [{ metric: 'tests_total', op: '>=' as const, value }],
    });
    const overall = (gates: QualityConfig['gates'], f = facts()) =>
      evaluateGates({ categories: [], gates, criteria: [] }, f).overall;
    expect(overall([g('a', 1), g('b', 100)])).toBe('blocked');
    expect(overall([g('a', 1), g('b', 1)], facts({ run: null }))).toBe('pending');
    expect(overall([g('a', 1), { ...g('b', 1), requires: ['c'] }, g('c', 100)])).toBe('blocked');
    expect(overall([g('a', 1), g('b', 1)])).toBe('passed');
    expect(overall([])).toBe('none');
  });
});

describe('coordination metrics', () => {
  const coordinated = facts({
    activities: {
      'ta-analysis': { status: 'in_progress', overdue: true },
      'dev-impl': { status: 'pending', overdue: false },
      're-review': { status: 'done', overdue: false },
    },
    openEscalations: 1,
    openRisks: { high: 2, medium: 2, low: 0 },
  });
  const check = (c: Parameters<typeof checkCondition>[0], f = coordinated) => checkCondition(c, f);

  it("reads an activity's status, and waits for an activity the issue does not have yet", () => {
    expect(
      check({ metric: 'activity_status', activity: 're-review', op: '==', value: 'done' }),
    ).toEqual({ ok: true, reason: null });
    expect(
      check({ metric: 'activity_status', activity: 'dev-impl', op: '==', value: 'done' }),
    ).toEqual({ ok: false, reason: 'activity dev-impl is pending; needs done' });
    expect(
      check({
        metric: 'activity_status',
        activity: 'ta-analysis',
        op: 'in',
        value: ['done', 'in_progress'],
      }).ok,
    ).toBe(true);
    expect(
      check({ metric: 'activity_status', activity: 'sign-off', op: '==', value: 'done' }),
    ).toEqual({ ok: null, reason: 'no activity "sign-off" on issue #2 yet' });
  });

  it('counts open escalations and open risks, by severity when asked', () => {
    expect(check({ metric: 'open_escalations', op: '==', value: 0 })).toEqual({
      ok: false,
      reason: '1 open escalation',
    });
    expect(check({ metric: 'open_risks', op: '==', value: 0, severity: 'high' })).toEqual({
      ok: false,
      reason: '2 open high risks',
    });
    expect(check({ metric: 'open_risks', op: '<=', value: 3 })).toEqual({
      ok: false,
      reason: '4 open risks is above 3',
    });
    expect(check({ metric: 'open_risks', op: '==', value: 0, severity: 'low' }).ok).toBe(true);
    // Counts are known without a run: no escalation is a fact, not missing data.
    expect(check({ metric: 'open_escalations', op: '==', value: 0 }, facts({ run: null }))).toEqual(
      { ok: true, reason: null },
    );
  });

  it('names the overdue activities', () => {
    expect(check({ metric: 'overdue_activities', op: '==', value: 0 })).toEqual({
      ok: false,
      reason: '1 overdue activity (ta-analysis)',
    });
    expect(check({ metric: 'overdue_activities', op: '==', value: 0 }, facts()).ok).toBe(true);
  });

  it('holds a gate to its coordination conditions like any other', () => {
    const config: QualityConfig = {
      categories: [],
      gates: [
        {
          key: 'release',
          name: 'Release',
          conditions: [
            { metric: 'activity_status', activity: 're-review', op: '==', value: 'done' },
            { metric: 'open_escalations', op: '==', value: 0 },
            { metric: 'open_risks', severity: 'high', op: '==', value: 0 },
            { metric: 'overdue_activities', op: '==', value: 0 },
          ],
        },
      ],
      criteria: [],
    };
    expect(validateConfig(config, METRIC_KINDS)).toEqual([]);
    expect(evaluateGates(config, coordinated).gates[0]).toMatchObject({
      state: 'blocked',
      reasons: ['1 open escalation', '2 open high risks', '1 overdue activity (ta-analysis)'],
    });
    expect(evaluateGates(config, facts()).gates[0]).toMatchObject({
      state: 'pending',
      reasons: ['no activity "re-review" on issue #2 yet'],
    });
  });
});

describe('config validation', () => {
  const base = SEED_CONFIG;
  const errorsOf = (c: QualityConfig) => validateConfig(c, METRIC_KINDS);

  it('refuses cycles, naming the path', () => {
    const cyclic: QualityConfig = {
      ...base,
      gates: [
        { key: 'a', name: 'A', requires: ['c'], conditions: [] },
        { key: 'b', name: 'B', requires: ['a'], conditions: [] },
        { key: 'c', name: 'C', requires: ['b'], conditions: [] },
      ],
      criteria: [],
    };
    expect(errorsOf(cyclic)).toEqual([
      { path: 'body/gates/0/requires', message: 'forms a cycle: a → c → b → a' },
    ]);
    const self: QualityConfig = {
      ...base,
      gates: [{ key: 'a', name: 'A', requires: ['a'], conditions: [] }],
      criteria: [],
    };
    expect(errorsOf(self)[0]).toMatchObject({ path: 'body/gates/0/requires/0' });
  });

  it('names unknown references, metrics, duplicates and bad values', () => {
    const bad: QualityConfig = {
      categories: [
        { name: 'x', match: { message: '(a+)\\1$' } },
        { name: 'x', match: {} },
        { name: 'y', match: { name: '([' } },
        { name: 'z', match: { type: 'a'.repeat(501) } },
      ],
      gates: [
        {
          key: 'g',
          name: 'G',
          requires: ['nope'],
          conditions: [
            { metric: 'vibes', op: '>=', value: 1 },
            { metric: 'failed_in_category', op: '==', value: 0 },
            { metric: 'failed_in_category', category: 'ghost', op: '==', value: 0 },
            { metric: 'pass_rate', op: '>=', value: 'high' },
            { metric: 'review_verdict', op: '>=', value: 'pass' },
            { metric: 'review_verdict', op: 'in', value: 'pass' },
          ],
        },
      ],
      criteria: [
        { key: 'c', text: 'C', gate: 'missing' },
        { key: 'd', text: 'D' },
      ],
    };
    const paths = errorsOf(bad).map((e) => `${e.path}: ${e.message}`);
    expect(paths).toEqual([
      'body/categories/0/match/message: backreference \\1 is not supported (RE2 syntax): `(a+)\\1$`',
      'body/categories/1/name: repeats the category "x"',
      'body/categories/1/match: needs at least one of type, message, text, classname, name',
      expect.stringMatching(/^body\/categories\/2\/match\/name: is not a valid regular expression/),
      'body/categories/3/match/type: is longer than 500 characters',
      expect.stringMatching(/^body\/gates\/0\/conditions\/0\/metric: is not a known metric/),
      'body/gates/0/conditions/1/category: is required for failed_in_category',
      'body/gates/0/conditions/2/category: names no category ("ghost")',
      'body/gates/0/conditions/3/value: must be a number for pass_rate',
      'body/gates/0/conditions/4/op: must be ==, != or in for review_verdict',
      'body/gates/0/conditions/5/value: must be a list with the operator "in"',
      'body/gates/0/requires/0: names no gate ("nope")',
      'body/criteria/0/gate: names no gate ("missing")',
      'body/criteria/1: needs exactly one of gate, condition or manual: true',
    ]);
  });

  it('checks coordination conditions: the activity, its status, the severity', () => {
    const cond = (c: object) => ({
      categories: [],
      gates: [{ key: 'g', name: 'G', conditions: [c as never] }],
      criteria: [],
    });
    const paths = (c: object) => errorsOf(cond(c)).map((e) => `${e.path}: ${e.message}`);
    expect(paths({ metric: 'activity_status', op: '==', value: 'done' })).toEqual([
      'body/gates/0/conditions/0/activity: is required for activity_status: the key of the activity whose status is read',
    ]);
    expect(
      paths({ metric: 'activity_status', activity: 'a', op: 'in', value: ['done', 'finished'] }),
    ).toEqual([
      'body/gates/0/conditions/0/value: must be an activity status (pending, ready, waiting, in_progress, done, blocked)',
    ]);
    expect(paths({ metric: 'activity_status', activity: 'a', op: '>=', value: 'done' })).toEqual([
      'body/gates/0/conditions/0/op: must be ==, != or in for activity_status',
    ]);
    expect(paths({ metric: 'open_risks', severity: 'critical', op: '==', value: 0 })).toEqual([
      'body/gates/0/conditions/0/severity: must be high, medium or low',
    ]);
    expect(
      paths({ metric: 'open_escalations', severity: 'high', op: '==', value: 'none' }),
    ).toEqual([
      'body/gates/0/conditions/0/value: must be a number for open_escalations',
      'body/gates/0/conditions/0/severity: only applies to open_risks',
    ]);
    expect(paths({ metric: 'overdue_activities', activity: 'a', op: '==', value: 0 })).toEqual([
      'body/gates/0/conditions/0/activity: only applies to activity_status',
    ]);
    expect(paths({ metric: 'activity_status', activity: 'a', op: '!=', value: 'blocked' })).toEqual(
      [],
    );
  });
});
