import { describe, expect, it } from 'vitest';
import { checkCondition, compare, evaluateGates, METRIC_KINDS, type GateFacts } from './gates.ts';
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
    ...over,
  };
}

describe('the seed situation', () => {
  it('blocks reliability on the pass rate and infrastructure on the two categories; production waits', () => {
    expect(validateConfig(SEED_CONFIG, METRIC_KINDS)).toEqual([]);
    const report = evaluateGates(SEED_CONFIG, facts());
    const by = Object.fromEntries(report.gates.map((g) => [g.key, g]));
    expect(by['security']).toMatchObject({ state: 'passed', reasons: [] });
    expect(by['infrastructure']).toMatchObject({
      state: 'blocked',
      reasons: ['12 failures in jwt, database'],
    });
    expect(by['reliability']).toMatchObject({
      state: 'blocked',
      reasons: ['pass rate 80% (48 of 60) is below 90%'],
    });
    expect(by['production']!.state).toBe('pending');
    expect(by['production']!.reasons).toEqual([
      'waiting for Infrastructure Stability Gate (blocked)',
      'waiting for Test Reliability Gate (blocked)',
    ]);
    expect(report.overall).toBe('pending');
    expect(report.criteria.map((c) => [c.key, c.state])).toEqual([
      ['jwt-fixed', 'unmet'],
      ['pass-rate', 'unmet'],
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
    expect(blocked.gates[2]!.reasons).toEqual(['waiting for B (pending)']);
    expect(blocked.overall).toBe('pending');
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
});
