/** The counting rule for JUnit XML (see ../shared/junit-corpus/README.md), as pure functions. */

export type TestStatus = 'passed' | 'failed' | 'error' | 'skipped';

export interface Rerun {
  kind: 'flakyFailure' | 'flakyError' | 'rerunFailure' | 'rerunError';
  type: string | null;
  message: string | null;
}

export interface TestCase {
  suitePath: string;
  classname: string;
  name: string;
  status: TestStatus;
  durationMs: number | null;
  failureType: string | null;
  failureMessage: string | null;
  failureText: string | null;
  systemOut: string | null;
  systemErr: string | null;
  truncated: boolean;
  flaky: boolean;
  reruns: Rerun[];
  properties: Record<string, string>;
}

export interface Totals {
  tests: number;
  passed: number;
  failed: number;
  errored: number;
  skipped: number;
  flaky: number;
  durationMs: number;
}

/** The counts of a run or file, as tools report them (no duration). */
export type Counts = Omit<Totals, 'durationMs'>;

const SKIP_STATUSES = new Set(['disabled', 'skipped', 'ignored', 'notrun', 'notrunnable']);

/** The result from a testcase's direct children: error > failure > skipped > status attribute > passed. */
export function statusOf(
  children: { error: boolean; failure: boolean; skipped: boolean },
  statusAttr: string | undefined,
): TestStatus {
  if (children.error) return 'error';
  if (children.failure) return 'failed';
  if (children.skipped) return 'skipped';
  if (statusAttr !== undefined && SKIP_STATUSES.has(statusAttr.trim().toLowerCase()))
    return 'skipped';
  return 'passed';
}

/** Seconds as written by real tools ("1.5", "1,473.309", "") to milliseconds; null when absent or not a number. */
export function parseSeconds(value: string | undefined): number | null {
  if (value === undefined) return null;
  // Number() trims whitespace itself; the comma pass only runs when there is one.
  const cleaned = value.includes(',') ? value.replace(/,/g, '') : value;
  const seconds = Number(cleaned);
  if (seconds === 0 && cleaned.trim() === '') return null;
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : null;
}

export function emptyTotals(): Totals {
  return { tests: 0, passed: 0, failed: 0, errored: 0, skipped: 0, flaky: 0, durationMs: 0 };
}

export function addCase(
  totals: Totals,
  tc: Pick<TestCase, 'status' | 'flaky' | 'durationMs'>,
): void {
  totals.tests++;
  if (tc.status === 'passed') totals.passed++;
  else if (tc.status === 'failed') totals.failed++;
  else if (tc.status === 'error') totals.errored++;
  else totals.skipped++;
  if (tc.flaky) totals.flaky++;
  totals.durationMs += tc.durationMs ?? 0;
}

export function addTotals(into: Totals, more: Totals): void {
  into.tests += more.tests;
  into.passed += more.passed;
  into.failed += more.failed;
  into.errored += more.errored;
  into.skipped += more.skipped;
  into.flaky += more.flaky;
  into.durationMs += more.durationMs;
}

/** passed / (tests − skipped); null when nothing ran. */
export function passRate(t: Pick<Totals, 'tests' | 'passed' | 'skipped'>): number | null {
  const ran = t.tests - t.skipped;
  return ran > 0 ? t.passed / ran : null;
}
