import { describe, expect, it } from 'vitest';
import { renderGates, renderTriage, type GateReport, type Triage } from '@gatehouse/cli';

const gates: GateReport = {
  issue: 2,
  overall: 'passed',
  gates: [{ key: 'reliability', name: 'Reliability', state: 'passed', reasons: [], requires: [] }],
  criteria: [],
};

describe('renderGates', () => {
  it('lists the excused tests, and why, when the answer carries them', () => {
    const lines = renderGates({
      ...gates,
      excused: [
        { testId: 't1', test: 'app.LoginTest.expires', why: 'quarantine', until: '2026-12-01' },
        { testId: 't2', test: 'app.DbTest.pool', why: 'known', reason: 'database outage' },
      ],
    });
    expect(lines).toEqual([
      'Issue #2: overall PASSED',
      '  ✓ Reliability (reliability): PASSED',
      'Excused (failures not counted against the gates): 2',
      '  - app.LoginTest.expires (quarantine, until 2026-12-01)',
      '  - app.DbTest.pool (known, database outage)',
    ]);
  });

  it('prints no excused section without excused tests', () => {
    expect(renderGates({ ...gates, excused: [] }).join('\n')).not.toContain('Excused');
    expect(renderGates(gates).join('\n')).not.toContain('Excused');
  });
});

describe('renderTriage', () => {
  const ref = (name: string) => ({ testId: name, classname: 'app.T', name });
  it('groups by category, then cluster, then flaky tests and regressions', () => {
    const triage: Triage = {
      runId: 'r2',
      failures: 3,
      categories: [
        {
          category: 'jwt',
          label: 'JWT token structure',
          blocking: true,
          count: 2,
          clusters: [
            {
              signature: 'invalid token <n>',
              count: 2,
              samples: [
                { id: '1', classname: 'app.T', name: 'a' },
                { id: '2', classname: 'app.T', name: 'b' },
              ],
              firstSeenRunId: 'r1',
            },
          ],
        },
        {
          category: null,
          label: null,
          blocking: false,
          count: 1,
          clusters: [{ signature: 'boom', count: 1, samples: [], firstSeenRunId: null }],
        },
      ],
      flaky: [{ ...ref('c'), reason: 'passed on rerun' }],
      regressions: { baselineRunId: 'r1', newFailures: [ref('a')], stillFailing: [ref('b')] },
    };
    expect(renderTriage(triage)).toEqual([
      'Run r2: 3 failure(s)',
      '  jwt (JWT token structure), blocking: 2',
      '    2 × invalid token <n>',
      '        app.T.a, app.T.b',
      '  uncategorized: 1',
      '    1 × boom',
      'Flaky: 1',
      '  - app.T.c (passed on rerun)',
      'Against run r1: 1 new failure(s), 1 still failing',
      '  new: app.T.a',
    ]);
  });
});
