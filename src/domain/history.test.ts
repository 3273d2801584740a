import { describe, expect, it } from 'vitest';
import {
  bucketStart,
  decodeStatus,
  DEFAULT_FLAKINESS,
  durationStats,
  excuseFailures,
  excuseTotals,
  flakyOverHistory,
  flipStats,
  gateStatesByRun,
  overallFromStates,
  summarizeTest,
  trendBuckets,
  type ResultStatus,
} from './history.ts';

const P: ResultStatus = 'passed';
const F: ResultStatus = 'failed';
const E: ResultStatus = 'error';
const S: ResultStatus = 'skipped';

describe('decodeStatus', () => {
  it('reads the status from the low nibble and the flaky and details flags', () => {
    expect(decodeStatus(0)).toEqual({ status: null, flaky: false, details: false });
    expect(decodeStatus(1)).toEqual({ status: 'passed', flaky: false, details: false });
    expect(decodeStatus(0x32)).toEqual({ status: 'failed', flaky: true, details: true });
    expect(decodeStatus(0x23).status).toBe('error');
    expect(decodeStatus(4).status).toBe('skipped');
  });
});

describe('flipStats', () => {
  it('counts changes between passing and failing, ignoring skipped and absent runs', () => {
    // P F (flip) skip P (flip) absent E (flip) E P (flip)
    const s = flipStats([P, F, S, P, null, E, E, P]);
    expect(s.runs).toBe(6);
    expect(s.flips).toBe(4);
    expect(s.flipRate).toBeCloseTo(4 / 5);
    expect(s.failureRate).toBeCloseTo(3 / 6);
    expect(s.flippedAt).toEqual([1, 3, 5, 7]);
  });

  it('says 0 for a test that always passes, always fails, or ran once', () => {
    expect(flipStats([P, P, P]).flipRate).toBe(0);
    expect(flipStats([F, E, F])).toMatchObject({ flips: 0, flipRate: 0, failureRate: 1 });
    expect(flipStats([F])).toMatchObject({ runs: 1, flipRate: 0 });
    expect(flipStats([])).toMatchObject({ runs: 0, flipRate: 0, failureRate: 0 });
  });
});

describe('durationStats', () => {
  it('gives the mean and the nearest-rank 95th percentile of known durations', () => {
    const d = Array.from({ length: 20 }, (_, i) => i + 1); // 1..20
    expect(durationStats([...d, null])).toEqual({ meanMs: 10.5, p95Ms: 19 });
    expect(durationStats([7])).toEqual({ meanMs: 7, p95Ms: 7 });
    expect(durationStats([null])).toEqual({ meanMs: null, p95Ms: null });
  });
});

describe('flakiness over history', () => {
  const settings = { flipRate: 0.1, minRuns: 10, window: 30 };

  it('flags a test flipping more than the rate over at least minRuns runs, with the runs where it flipped', () => {
    const runIds = Array.from({ length: 12 }, (_, i) => `r${i}`);
    const outcomes = new Map<string, (ResultStatus | null)[]>([
      // two flips over 11 gaps: 18% > 10%
      ['flaky', [P, P, P, F, P, P, P, P, P, P, P, P]],
      // one flip over 11 gaps: 9% (a test that broke once and stays broken)
      ['broke', [P, P, P, P, P, P, F, F, F, F, F, F]],
      // flips a lot, but over only 6 runs
      ['young', [null, null, null, null, null, null, P, F, P, F, P, F]],
      ['stable', Array<ResultStatus>(12).fill(P)],
    ]);
    const flaky = flakyOverHistory(runIds, outcomes, settings);
    expect(flaky).toEqual([
      { testKey: 'flaky', runs: 12, flips: 2, flipRate: 2 / 11, flippedIn: ['r3', 'r4'] },
    ]);
  });

  it('needs the rate exceeded, not reached', () => {
    // 10 runs, 9 gaps... one flip over 10 gaps is exactly 0.1 with 11 runs
    const eleven: ResultStatus[] = [P, P, P, P, P, F, F, F, F, F, F];
    expect(flipStats(eleven).flipRate).toBeCloseTo(0.1);
    expect(flakyOverHistory(['x'], new Map([['t', eleven]]), settings)).toEqual([]);
  });

  it('summarizes a test for the list: last status, rates, durations, flaky', () => {
    const s = summarizeTest(
      { statuses: [P, F, P, F, null], durations: [10, 20, 30, 40, null] },
      { ...DEFAULT_FLAKINESS, minRuns: 4 },
    );
    expect(s).toEqual({
      lastStatus: 'failed',
      runs: 4,
      failureRate: 0.5,
      flipRate: 1,
      flaky: true,
      meanMs: 25,
      p95Ms: 40,
    });
  });
});

describe('trend buckets', () => {
  const at = (iso: string) => new Date(iso);
  const run = (iso: string, passed: number, failed: number, skipped = 0, flaky = 0) => ({
    at: at(iso),
    tests: passed + failed + skipped,
    passed,
    failed,
    errored: 0,
    skipped,
    flaky,
    durationMs: 1000 * (passed + failed),
  });

  it('sums runs per day with pass rate, counts, mean duration and flaky count; empty days included', () => {
    const buckets = trendBuckets(
      [
        run('2026-03-01T08:00:00Z', 8, 2),
        run('2026-03-01T20:00:00Z', 9, 0, 1, 1),
        run('2026-03-03T10:00:00Z', 5, 5),
        run('2026-02-27T10:00:00Z', 1, 0), // before `from`
      ],
      at('2026-03-01T00:00:00Z'),
      at('2026-03-03T23:59:59Z'),
      'day',
    );
    expect(buckets).toEqual([
      {
        start: '2026-03-01T00:00:00.000Z',
        runs: 2,
        tests: 20,
        passed: 17,
        failed: 2,
        errored: 0,
        skipped: 1,
        flaky: 1,
        passRate: 17 / 19,
        meanDurationMs: 9500,
      },
      {
        start: '2026-03-02T00:00:00.000Z',
        runs: 0,
        tests: 0,
        passed: 0,
        failed: 0,
        errored: 0,
        skipped: 0,
        flaky: 0,
        passRate: null,
        meanDurationMs: null,
      },
      expect.objectContaining({ start: '2026-03-03T00:00:00.000Z', runs: 1, passRate: 0.5 }),
    ]);
  });

  it('takes sums per bucket as well as single runs: runs count, mean duration over them', () => {
    const [day] = trendBuckets(
      [{ ...run('2026-03-01T00:00:00Z', 30, 10), runs: 4, durationMs: 10_000 }],
      at('2026-03-01T06:00:00Z'),
      at('2026-03-01T23:00:00Z'),
      'day',
    );
    expect(day).toMatchObject({ runs: 4, passed: 30, failed: 10, passRate: 0.75 });
    expect(day!.meanDurationMs).toBe(2500);
  });

  it('starts weeks on Monday', () => {
    // 2026-03-05 is a Thursday
    expect(bucketStart(at('2026-03-05T12:00:00Z'), 'week').toISOString()).toBe(
      '2026-03-02T00:00:00.000Z',
    );
    const weeks = trendBuckets(
      [run('2026-03-05T12:00:00Z', 1, 1), run('2026-03-08T23:00:00Z', 2, 0)],
      at('2026-03-02T00:00:00Z'),
      at('2026-03-15T00:00:00Z'),
      'week',
    );
    expect(weeks.map((w) => [w.start.slice(0, 10), w.runs, w.passed])).toEqual([
      ['2026-03-02', 2, 3],
      ['2026-03-09', 0, 0],
    ]);
  });
});

describe('excused failures', () => {
  const now = new Date('2026-03-10T00:00:00Z');
  const failures = [
    { testKey: 'a', label: 'A.a', message: 'timeout' },
    { testKey: 'b', label: 'B.b', message: 'JWT claim missing' },
    { testKey: 'c', label: 'C.c', message: 'boom' },
    { testKey: 'd', label: 'D.d', message: 'boom' },
  ];
  const categoryOf = (f: { message: string }) => (f.message.startsWith('JWT') ? 'jwt' : null);

  it('excuses quarantined tests (until expiry) and failures in known categories, and counts the rest', () => {
    const quarantines = new Map([
      ['a', { testKey: 'a', reason: 'flaky on CI', expiresAt: null }],
      ['c', { testKey: 'c', reason: 'expired', expiresAt: new Date('2026-03-09T00:00:00Z') }],
    ]);
    const known = new Map([['jwt', { ticket: 'https://tracker/JWT-1' }]]);
    const { counted, excused } = excuseFailures(failures, categoryOf, quarantines, known, now);
    expect(counted.map((f) => f.testKey)).toEqual(['c', 'd']);
    expect(excused.map(({ failure: _f, ...e }) => e)).toEqual([
      { testId: 'a', test: 'A.a', why: 'quarantine', reason: 'flaky on CI' },
      { testId: 'b', test: 'B.b', why: 'known', category: 'jwt', ticket: 'https://tracker/JWT-1' },
    ]);
  });

  it('counts excused failures as skipped in the totals', () => {
    const run = { id: 'r', tests: 60, passed: 48, failed: 10, errored: 2, skipped: 0 };
    expect(excuseTotals(run, { failed: 3, errored: 2 })).toEqual({
      id: 'r',
      tests: 60,
      passed: 48,
      failed: 7,
      errored: 0,
      skipped: 5,
    });
  });
});

describe("an issue's gate states per run", () => {
  const t = (m: number) => new Date(Date.UTC(2026, 2, 1, 0, m));
  it('replays the changes: each run keeps the states after its own changes or those in force when it completed', () => {
    const runs = [
      { id: 'r1', completedAt: t(10) },
      { id: 'r2', completedAt: t(20) },
      { id: 'r3', completedAt: t(30) },
    ];
    const changes = [
      { gate: 'tests', to: 'blocked', runId: 'r1', at: t(10) },
      { gate: 'review', to: 'pending', runId: 'r1', at: t(10) },
      { gate: 'review', to: 'passed', runId: 'r1', at: t(15) },
      { gate: 'tests', to: 'passed', runId: 'r3', at: t(30) },
    ];
    const states = gateStatesByRun(runs, changes);
    expect(states.get('r1')).toEqual({ tests: 'blocked', review: 'passed' });
    expect(states.get('r2')).toEqual({ tests: 'blocked', review: 'passed' });
    expect(states.get('r3')).toEqual({ tests: 'passed', review: 'passed' });
    expect(overallFromStates(states.get('r2')!)).toBe('blocked');
    expect(overallFromStates(states.get('r3')!)).toBe('passed');
    expect(overallFromStates({})).toBe('none');
  });
});

describe('excused totals of unknown kind', () => {
  it('takes them from failed first, then errored', () => {
    const run = { tests: 10, passed: 6, failed: 1, errored: 3, skipped: 0 };
    expect(excuseTotals(run, { failed: 0, errored: 0, unknown: 3 })).toEqual({
      tests: 10,
      passed: 6,
      failed: 0,
      errored: 1,
      skipped: 3,
    });
  });
});
