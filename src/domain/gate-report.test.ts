import { describe, expect, it } from 'vitest';
import { diffGateStates, judgeIssue, unjudgedReport } from './gate-report.ts';
import type { GateResult } from './gates.ts';
import type { QualityConfig } from './quality.ts';

const config: QualityConfig = {
  categories: [],
  gates: [
    {
      key: 'reliability',
      name: 'Test Reliability Gate',
      conditions: [
        { metric: 'pass_rate', op: '>=', value: 0.9 },
        { metric: 'flaky_tests', op: '==', value: 0 },
      ],
    },
  ],
  criteria: [{ key: 'ok', text: 'Reliable', gate: 'reliability' }],
};
const now = new Date('2026-05-01T12:00:00Z');
const run = { id: 'r1', tests: 10, passed: 8, failed: 2, errored: 0, skipped: 0 };

describe('judging an issue', () => {
  it('evaluates its gates on its latest complete run, at the time given, with the flaky evidence', () => {
    const report = judgeIssue(
      config,
      {
        issueNumber: 7,
        run,
        analysis: {
          groups: [],
          flaky: [
            {
              testKey: 'k1',
              label: 'app.T.wobbly',
              reason: 'same_commit',
              passedIn: ['r1'],
              failedIn: ['r0'],
            },
            { testKey: 'k2', reason: 'rerun', passedIn: ['r1'], failedIn: ['r1'] },
          ],
          regressions: { baselineRunId: null, newFailures: [], stillFailing: [], byCategory: {} },
          failures: 2,
        },
        review: null,
        checks: [],
      },
      now,
    );
    expect(report).toMatchObject({
      issue: 7,
      runId: 'r1',
      evaluatedAt: '2026-05-01T12:00:00.000Z',
      overall: 'blocked',
      gates: [
        {
          key: 'reliability',
          state: 'blocked',
          reasons: ['pass rate 80% (8 of 10) is below 90%', '2 flaky tests'],
        },
      ],
      criteria: [{ key: 'ok', state: 'unmet' }],
    });
    expect(report.flaky).toEqual([
      {
        testId: 'k1',
        test: 'app.T.wobbly',
        reason: 'same_commit',
        passedIn: ['r1'],
        failedIn: ['r0'],
      },
      { testId: 'k2', test: 'k2', reason: 'rerun', passedIn: ['r1'], failedIn: ['r1'] },
    ]);
  });

  it('leaves an issue with no run pending, waiting for one', () => {
    const report = unjudgedReport(config, 7, now);
    expect(report).toMatchObject({
      issue: 7,
      runId: null,
      overall: 'pending',
      evaluatedAt: '2026-05-01T12:00:00.000Z',
      flaky: [],
      gates: [{ key: 'reliability', state: 'pending', reasons: ['no test run for issue #7 yet'] }],
    });
  });
});

const gate = (key: string, state: GateResult['state'], reasons: string[] = []): GateResult => ({
  key,
  name: key,
  state,
  reasons,
  requires: [],
});

describe('gate state changes', () => {
  it('records every gate of a first report as a change from nothing', () => {
    expect(
      diffGateStates(null, {
        gates: [gate('a', 'pending', ['no test run for issue #2 yet']), gate('b', 'passed')],
      }),
    ).toEqual([
      { gate: 'a', from: null, to: 'pending', reason: 'no test run for issue #2 yet' },
      { gate: 'b', from: null, to: 'passed', reason: 'all conditions met' },
    ]);
  });

  it('records nothing for a gate whose state did not change, even when its reasons did', () => {
    expect(
      diffGateStates(
        { gates: [gate('a', 'blocked', ['3 failures in jwt'])] },
        { gates: [gate('a', 'blocked', ['2 failures in jwt'])] },
      ),
    ).toEqual([]);
  });

  it('records a changed gate with its reasons joined, and a gate new to the configuration', () => {
    expect(
      diffGateStates(
        { gates: [gate('a', 'passed'), gate('b', 'passed')] },
        {
          gates: [
            gate('a', 'blocked', ['pass rate 80% (48 of 60) is below 90%', '1 flaky test']),
            gate('b', 'passed'),
            gate('c', 'pending', ['waiting for A (blocked)']),
          ],
        },
      ),
    ).toEqual([
      {
        gate: 'a',
        from: 'passed',
        to: 'blocked',
        reason: 'pass rate 80% (48 of 60) is below 90%; 1 flaky test',
      },
      { gate: 'c', from: null, to: 'pending', reason: 'waiting for A (blocked)' },
    ]);
  });

  it('reads a stored report without gates as no previous states', () => {
    expect(diffGateStates({}, { gates: [gate('a', 'passed')] })).toEqual([
      { gate: 'a', from: null, to: 'passed', reason: 'all conditions met' },
    ]);
  });
});
