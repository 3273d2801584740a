import type { Counts, Totals } from './junit.ts';

/**
 * A project's test history as people read it: flip rate and failure rate over the last runs,
 * duration statistics, flakiness over history, trend buckets, excused failures (quarantined
 * tests and known failures) and the gate state each run of an issue left. Pure: the clock's
 * `now` is passed in.
 */

export type ResultStatus = 'passed' | 'failed' | 'error' | 'skipped';

/** Status codes of the compact per-run blocks (low nibble), with their flag bits. */
const STATUS_BY_CODE: Record<number, ResultStatus> = {
  1: 'passed',
  2: 'failed',
  3: 'error',
  4: 'skipped',
};
export const FLAKY_BIT = 0x10;
export const DETAILS_BIT = 0x20;

/** One byte of a run block: the status (null: the test was not in the run) and its flags. */
export function decodeStatus(byte: number): {
  status: ResultStatus | null;
  flaky: boolean;
  details: boolean;
} {
  return {
    status: STATUS_BY_CODE[byte & 0x0f] ?? null,
    flaky: (byte & FLAKY_BIT) !== 0,
    details: (byte & DETAILS_BIT) !== 0,
  };
}

const failing = (s: ResultStatus | null) => s === 'failed' || s === 'error';
const judged = (s: ResultStatus | null) => s === 'passed' || failing(s);

export interface FlipStats {
  /** Runs where the test passed or failed (skipped and absent ones say nothing). */
  runs: number;
  /** Changes between passing and failing from one such run to the next. */
  flips: number;
  /** flips / (runs − 1); 0 with fewer than two runs. */
  flipRate: number;
  /** failed or errored / runs; 0 with no run. */
  failureRate: number;
  /** Indexes (into the given outcomes) of the runs whose outcome differs from the one before. */
  flippedAt: number[];
}

/** Flip and failure rates of one test's outcomes, oldest first. */
export function flipStats(outcomes: readonly (ResultStatus | null)[]): FlipStats {
  let runs = 0;
  let failures = 0;
  let previous: boolean | null = null;
  const flippedAt: number[] = [];
  outcomes.forEach((s, i) => {
    if (!judged(s)) return;
    runs++;
    const failed = failing(s);
    if (failed) failures++;
    if (previous !== null && previous !== failed) flippedAt.push(i);
    previous = failed;
  });
  return {
    runs,
    flips: flippedAt.length,
    flipRate: runs < 2 ? 0 : flippedAt.length / (runs - 1),
    failureRate: runs === 0 ? 0 : failures / runs,
    flippedAt,
  };
}

/** Mean and 95th percentile (nearest rank) of the known durations; null without any. */
export function durationStats(durations: readonly (number | null)[]): {
  meanMs: number | null;
  p95Ms: number | null;
} {
  const known = durations.filter((d): d is number => d !== null && Number.isFinite(d));
  if (known.length === 0) return { meanMs: null, p95Ms: null };
  const sorted = [...known].sort((a, b) => a - b);
  const mean = known.reduce((n, d) => n + d, 0) / known.length;
  const p95 = sorted[Math.max(0, Math.ceil(0.95 * sorted.length) - 1)]!;
  return { meanMs: mean, p95Ms: p95 };
}

/** When a test counts as flaky over history (quality config `flakiness`). */
export interface FlakinessSettings {
  /** Flaky when its flip rate is above this fraction. */
  flipRate: number;
  /** ... over at least this many runs that passed or failed. */
  minRuns: number;
  /** How many of the default branch's latest complete runs are read. */
  window: number;
}

export const DEFAULT_FLAKINESS: FlakinessSettings = { flipRate: 0.1, minRuns: 10, window: 30 };

/** The configured flakiness settings with the defaults filled in. */
export function flakinessSettings(config?: Partial<FlakinessSettings>): FlakinessSettings {
  return { ...DEFAULT_FLAKINESS, ...config };
}

/** Automatic quarantine (quality config `quarantine`) with the defaults filled in. */
export function quarantineSettings(config?: { auto?: boolean; afterDays?: number }) {
  return { auto: config?.auto ?? false, afterDays: config?.afterDays ?? 3 };
}

export function isFlakyOverHistory(stats: FlipStats, settings: FlakinessSettings): boolean {
  return stats.runs >= settings.minRuns && stats.flipRate > settings.flipRate + 1e-12;
}

/** One test's outcomes over a window of runs (oldest first), as the test list reads them. */
export interface TestWindow {
  statuses: readonly (ResultStatus | null)[];
  durations: readonly (number | null)[];
}

export interface TestSummary {
  lastStatus: ResultStatus | null;
  runs: number;
  failureRate: number;
  flipRate: number;
  flaky: boolean;
  meanMs: number | null;
  p95Ms: number | null;
}

/** What the test list says of one test over the window. */
export function summarizeTest(w: TestWindow, settings: FlakinessSettings): TestSummary {
  const stats = flipStats(w.statuses);
  let lastStatus: ResultStatus | null = null;
  for (let i = w.statuses.length - 1; i >= 0 && lastStatus === null; i--)
    lastStatus = w.statuses[i] ?? null;
  return {
    lastStatus,
    runs: stats.runs,
    failureRate: stats.failureRate,
    flipRate: stats.flipRate,
    flaky: isFlakyOverHistory(stats, settings),
    ...durationStats(w.durations),
  };
}

/** A flaky-over-history test with the runs as evidence: where it flipped. */
export interface HistoryFlaky {
  testKey: string;
  runs: number;
  flips: number;
  flipRate: number;
  /** Runs (ids) whose outcome differed from the run before, oldest first. */
  flippedIn: string[];
}

/** The tests flaky over history, given each test's outcomes in `runIds` (oldest first). */
export function flakyOverHistory(
  runIds: readonly string[],
  outcomes: ReadonlyMap<string, readonly (ResultStatus | null)[]>,
  settings: FlakinessSettings,
): HistoryFlaky[] {
  const out: HistoryFlaky[] = [];
  for (const [testKey, statuses] of outcomes) {
    const stats = flipStats(statuses);
    if (!isFlakyOverHistory(stats, settings)) continue;
    out.push({
      testKey,
      runs: stats.runs,
      flips: stats.flips,
      flipRate: stats.flipRate,
      flippedIn: stats.flippedAt.map((i) => runIds[i]!),
    });
  }
  return out.sort((a, b) => b.flipRate - a.flipRate || a.testKey.localeCompare(b.testKey));
}

// --- trends -------------------------------------------------------------------------------

export type Bucket = 'day' | 'week';

/** A run's totals at its completion, or (with `runs`) several runs' totals summed. */
export interface RunPoint extends Totals {
  at: Date;
  /** How many runs the point sums (default 1); `durationMs` is then their summed duration. */
  runs?: number;
}

export interface TrendBucket extends Counts {
  /** Start of the bucket (UTC midnight; weeks start on Monday). */
  start: string;
  runs: number;
  /** passed / (tests − skipped) over the bucket's runs; null when nothing ran. */
  passRate: number | null;
  /** Mean run duration; null without runs. */
  meanDurationMs: number | null;
}

/** A day in milliseconds (buckets are UTC days and weeks). */
export const DAY = 86_400_000;

/** The start of the bucket holding `at`. */
export function bucketStart(at: Date, bucket: Bucket): Date {
  const day = Math.floor(at.getTime() / DAY) * DAY;
  if (bucket === 'day') return new Date(day);
  const weekday = (new Date(day).getUTCDay() + 6) % 7; // Monday 0
  return new Date(day - weekday * DAY);
}

/**
 * Every bucket from `from` to `to` (empty ones too), with the runs that fall in each. The
 * caller gives the runs completed between `from` and `to` (or their sums per bucket).
 */
export function trendBuckets(
  runs: readonly RunPoint[],
  from: Date,
  to: Date,
  bucket: Bucket,
): TrendBucket[] {
  const step = bucket === 'day' ? DAY : 7 * DAY;
  const buckets = new Map<number, TrendBucket & { durationSum: number }>();
  for (let s = bucketStart(from, bucket).getTime(); s <= to.getTime(); s += step)
    buckets.set(s, {
      start: new Date(s).toISOString(),
      runs: 0,
      tests: 0,
      passed: 0,
      failed: 0,
      errored: 0,
      skipped: 0,
      flaky: 0,
      passRate: null,
      meanDurationMs: null,
      durationSum: 0,
    });
  for (const r of runs) {
    if (r.at > to) continue;
    const b = buckets.get(bucketStart(r.at, bucket).getTime());
    if (b === undefined) continue;
    b.runs += r.runs ?? 1;
    b.tests += r.tests;
    b.passed += r.passed;
    b.failed += r.failed;
    b.errored += r.errored;
    b.skipped += r.skipped;
    b.flaky += r.flaky;
    b.durationSum += r.durationMs;
  }
  return [...buckets.values()].map(({ durationSum, ...b }) => ({
    ...b,
    passRate: b.tests - b.skipped > 0 ? b.passed / (b.tests - b.skipped) : null,
    meanDurationMs: b.runs > 0 ? durationSum / b.runs : null,
  }));
}

// --- excused failures ---------------------------------------------------------------------

/** A quarantine of a test: active from when it was set until it expires (null: never). */
export interface Quarantine {
  testKey: string;
  reason: string;
  expiresAt: Date | null;
}

export const isActive = (q: Pick<Quarantine, 'expiresAt'>, now: Date) =>
  q.expiresAt === null || q.expiresAt > now;

/** A failure whose test is quarantined or whose category is a known failure. */
export interface Excused {
  testId: string;
  test: string;
  why: 'quarantine' | 'known';
  reason?: string;
  category?: string;
  ticket?: string;
}

/**
 * Splits failures into those that count and those excused: a test under an active
 * quarantine first, else a failure in a category marked `known`.
 */
export function excuseFailures<F extends { testKey: string; label: string }>(
  failures: readonly F[],
  categoryOf: (f: F) => string | null,
  quarantines: ReadonlyMap<string, Quarantine>,
  known: ReadonlyMap<string, { ticket?: string | undefined }>,
  now: Date,
): { counted: F[]; excused: (Excused & { failure: F })[] } {
  const counted: F[] = [];
  const excused: (Excused & { failure: F })[] = [];
  for (const f of failures) {
    const q = quarantines.get(f.testKey);
    if (q !== undefined && isActive(q, now)) {
      excused.push({
        testId: f.testKey,
        test: f.label,
        why: 'quarantine',
        reason: q.reason,
        failure: f,
      });
      continue;
    }
    const category = categoryOf(f);
    const mark = category === null ? undefined : known.get(category);
    if (category !== null && mark !== undefined) {
      excused.push({
        testId: f.testKey,
        test: f.label,
        why: 'known',
        category,
        ...(mark.ticket === undefined ? {} : { ticket: mark.ticket }),
        failure: f,
      });
      continue;
    }
    counted.push(f);
  }
  return { counted, excused };
}

/**
 * A run's totals with its excused failures counted the way skipped tests are. Excused
 * failures of unknown kind are taken from failed first, then errored.
 */
export function excuseTotals<
  T extends { tests: number; passed: number; failed: number; errored: number; skipped: number },
>(run: T, excused: { failed: number; errored: number; unknown?: number }): T {
  let failed = Math.min(excused.failed, run.failed);
  let errored = Math.min(excused.errored, run.errored);
  let rest = excused.failed - failed + (excused.errored - errored) + (excused.unknown ?? 0);
  const moreFailed = Math.min(rest, run.failed - failed);
  failed += moreFailed;
  rest -= moreFailed;
  errored += Math.min(rest, run.errored - errored);
  return {
    ...run,
    failed: run.failed - failed,
    errored: run.errored - errored,
    skipped: run.skipped + failed + errored,
  };
}

// --- an issue's trend ---------------------------------------------------------------------

export interface GateChange {
  gate: string;
  to: string;
  runId: string | null;
  at: Date;
}

/**
 * The gate states each of an issue's runs left, from the recorded state changes: replayed
 * in order, a run's states are those after the last change judged on it, or, if it changed
 * nothing, those in force when it completed. Runs oldest first; `gates` in config order.
 */
export function gateStatesByRun(
  runs: readonly { id: string; completedAt: Date }[],
  changes: readonly GateChange[],
): Map<string, Record<string, string>> {
  const ordered = [...changes].sort((a, b) => a.at.getTime() - b.at.getTime());
  const lastOnRun = new Map<string, number>();
  ordered.forEach((c, i) => {
    if (c.runId !== null) lastOnRun.set(c.runId, i);
  });
  const out = new Map<string, Record<string, string>>();
  for (const run of runs) {
    let upTo = -1;
    ordered.forEach((c, i) => {
      if (c.at <= run.completedAt) upTo = Math.max(upTo, i);
    });
    upTo = Math.max(upTo, lastOnRun.get(run.id) ?? -1);
    const states: Record<string, string> = {};
    for (let i = 0; i <= upTo; i++) states[ordered[i]!.gate] = ordered[i]!.to;
    out.set(run.id, states);
  }
  return out;
}

/** An issue's overall state from its gates' states: as overallOf in gates.ts. */
export function overallFromStates(states: Record<string, string>): string {
  const values = Object.values(states);
  if (values.length === 0) return 'none';
  if (values.includes('blocked')) return 'blocked';
  if (values.includes('pending')) return 'pending';
  return 'passed';
}
