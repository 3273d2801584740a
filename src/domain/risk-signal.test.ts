import { describe, expect, it } from 'vitest';
import { riskSignal, riskSignalParts, type SignalEvidence } from './risk-signal.ts';

const report = {
  runId: 'run-1',
  gates: [
    { key: 'security', name: 'Security Implementation Gate', state: 'passed' },
    { key: 'infrastructure', name: 'Infrastructure Stability Gate', state: 'blocked' },
    { key: 'reliability', name: 'Test Reliability Gate', state: 'pending' },
  ],
  flaky: [{ testId: 'ab12', test: 'app.auth.refreshes token' }],
};
const seed: SignalEvidence = { report, failuresByCategory: { jwt: 7, database: 5 } };

describe('riskSignal', () => {
  it('counts the failures in a linked category now', () => {
    expect(riskSignal({ categories: ['jwt'] }, seed)).toEqual({
      level: 'red',
      text: '7 failures in jwt now',
      parts: [{ kind: 'category', ref: 'jwt', level: 'red', text: '7 failures in jwt now' }],
    });
  });

  it('is green when a linked category has no failures in the judged run', () => {
    expect(riskSignal({ categories: ['security'] }, seed)).toMatchObject({
      level: 'green',
      text: 'no failures in security now',
    });
    expect(
      riskSignal({ categories: ['jwt'] }, { report, failuresByCategory: { jwt: 1 } })?.text,
    ).toBe('1 failure in jwt now');
  });

  it('names a linked gate by its name and state: blocked red, pending amber, passed green', () => {
    expect(riskSignal({ gates: ['infrastructure'] }, seed)).toMatchObject({
      level: 'red',
      text: 'Infrastructure Stability Gate blocked',
    });
    expect(riskSignal({ gates: ['reliability'] }, seed)?.level).toBe('amber');
    expect(riskSignal({ gates: ['security'] }, seed)?.level).toBe('green');
  });

  it('says which linked tests are flaky, by label or by test id', () => {
    expect(riskSignal({ tests: ['app.auth.refreshes token'] }, seed)?.text).toBe(
      'flaky: app.auth.refreshes token',
    );
    expect(riskSignal({ tests: ['ab12'] }, seed)?.level).toBe('red');
    expect(riskSignal({ tests: ['app.other'] }, seed)).toMatchObject({
      level: 'green',
      text: 'not flaky now: app.other',
    });
  });

  it('puts the worst first and takes its level', () => {
    const s = riskSignal(
      { categories: ['security', 'jwt'], gates: ['reliability', 'infrastructure'] },
      seed,
    );
    expect(s?.level).toBe('red');
    expect(s?.text).toBe(
      '7 failures in jwt now; Infrastructure Stability Gate blocked; Test Reliability Gate pending; no failures in security now',
    );
  });

  it('has no counts before a complete run was judged, but gates still have states', () => {
    const early: SignalEvidence = {
      report: { ...report, runId: null, flaky: [] },
      failuresByCategory: {},
    };
    expect(riskSignal({ categories: ['jwt'], tests: ['t'] }, early)).toMatchObject({
      level: 'none',
      text: 'no complete test run yet',
    });
    expect(riskSignal({ gates: ['reliability'] }, early)?.text).toBe(
      'Test Reliability Gate pending',
    );
    expect(
      riskSignal({ categories: ['jwt'] }, { report: undefined, failuresByCategory: {} }),
    ).toMatchObject({
      level: 'none',
    });
  });

  it('says so when a linked gate is not in the report (the configuration changed)', () => {
    expect(riskSignalParts({ gates: ['gone'] }, seed)).toEqual([
      { kind: 'gate', ref: 'gone', level: 'none', text: 'gate gone not judged' },
    ]);
  });

  it('is null for a risk that links nothing', () => {
    expect(riskSignal({}, seed)).toBeNull();
    expect(riskSignal({ categories: [], gates: [], tests: [] }, seed)).toBeNull();
  });
});
