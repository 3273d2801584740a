import {
  isNumeric,
  type ActivityStatus,
  type Condition,
  type Criterion,
  type Gate,
  type MetricKind,
  type Op,
  type QualityConfig,
  type RiskSeverity,
} from './quality.ts';

export type GateState = 'passed' | 'blocked' | 'pending';
/** An issue's verdict over all its gates: `none` when its configuration has no gate. */
export type OverallState = GateState | 'none';
export type CriterionState = 'met' | 'unmet' | 'pending';

/** The coordination side of an issue, as gates read it. */
export interface CoordinationFacts {
  /** The issue's activities by key: status, and whether it is open past its latest finish. */
  activities: Record<string, { status: ActivityStatus; overdue: boolean }>;
  /** Escalations not yet resolved. */
  openEscalations: number;
  /** Open risks, by severity. */
  openRisks: Record<RiskSeverity, number>;
}

/** What is known about an issue when its gates are evaluated. */
export interface GateFacts extends CoordinationFacts {
  issueNumber: number;
  run: {
    id: string;
    tests: number;
    passed: number;
    failed: number;
    errored: number;
    skipped: number;
  } | null;
  failuresByCategory: Record<string, number>;
  uncategorizedFailures: number;
  blockingFailures: number;
  flakyTests: number;
  /** Tests flaky over the default branch's history (quality config `flakiness`); 0 when not read. */
  flakyOverHistory?: number;
  regressions: { total: number; byCategory: Record<string, number> };
  review: { verdict: string; openConditions: number } | null;
  manual: Record<string, { checked: boolean; by: string | null; at: string | null }>;
}

/** Nothing coordinated yet: no activity, escalation or risk. */
export const NO_COORDINATION: CoordinationFacts = {
  activities: {},
  openEscalations: 0,
  openRisks: { high: 0, medium: 0, low: 0 },
};

type Value = number | string | null;

interface Metric {
  /** rate (0..1) and count: compared by size; verdict and status: one of a fixed set of words. */
  kind: MetricKind;
  /** null: no data yet (the gate waits rather than blocks). */
  value(f: GateFacts, c: Condition): Value;
  /** Why there is no data (default: no complete run yet). */
  missing?: (f: GateFacts, c: Condition) => string;
  /** How the actual value reads in a reason, e.g. "pass rate 80.0% (48 of 60)". */
  describe(actual: Value, f: GateFacts, c: Condition): string;
  /** How an expected value reads, e.g. "90%". */
  expected?: (v: number | string) => string;
}

const cats = (c: Condition) =>
  c.category === undefined ? [] : Array.isArray(c.category) ? c.category : [c.category];
const sumOf = (by: Record<string, number>, names: string[]) =>
  names.reduce((n, name) => n + (by[name] ?? 0), 0);
const plural = (n: Value, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const percent = (v: number | string) => `${(Number(v) * 100).toFixed(1).replace(/\.0$/, '')}%`;
const ran = (f: GateFacts) => (f.run === null ? 0 : f.run.tests - f.run.skipped);
const noReview = () => 'no code review recorded yet';
const overdue = (f: GateFacts) =>
  Object.entries(f.activities)
    .filter(([, a]) => a.overdue)
    .map(([key]) => key);

/** Each metric is one small entry; adding one adds a line here and nothing elsewhere. */
export const METRICS: Record<string, Metric> = {
  tests_total: {
    kind: 'count',
    value: (f) => f.run?.tests ?? null,
    describe: (a) => `${plural(a, 'test')} ran`,
  },
  tests_passed: {
    kind: 'count',
    value: (f) => f.run?.passed ?? null,
    describe: (a) => `${plural(a, 'test')} passed`,
  },
  tests_failed: {
    kind: 'count',
    value: (f) => (f.run === null ? null : f.run.failed + f.run.errored),
    describe: (a) => `${plural(a, 'test')} failed`,
  },
  pass_rate: {
    kind: 'rate',
    value: (f) => (f.run === null || ran(f) === 0 ? null : f.run.passed / ran(f)),
    describe: (a, f) => `pass rate ${percent(a ?? 0)} (${f.run?.passed ?? 0} of ${ran(f)})`,
    expected: percent,
  },
  failed_in_category: {
    kind: 'count',
    value: (f, c) => (f.run === null ? null : sumOf(f.failuresByCategory, cats(c))),
    describe: (a, _f, c) => `${plural(a, 'failure')} in ${cats(c).join(', ')}`,
  },
  uncategorized_failures: {
    kind: 'count',
    value: (f) => (f.run === null ? null : f.uncategorizedFailures),
    describe: (a) => `${plural(a, 'failure')} with no category`,
  },
  blocking_failures: {
    kind: 'count',
    value: (f) => (f.run === null ? null : f.blockingFailures),
    describe: (a) => `${plural(a, 'failure')} in blocking categories`,
  },
  flaky_tests: {
    kind: 'count',
    value: (f) => (f.run === null ? null : f.flakyTests),
    describe: (a) => `${plural(a, 'flaky test')}`,
  },
  flaky_over_history: {
    kind: 'count',
    value: (f) => f.flakyOverHistory ?? 0,
    describe: (a) => `${plural(a, 'test')} flaky over the default branch's history`,
  },
  regressions: {
    kind: 'count',
    value: (f, c) =>
      f.run === null
        ? null
        : cats(c).length > 0
          ? sumOf(f.regressions.byCategory, cats(c))
          : f.regressions.total,
    describe: (a, _f, c) =>
      `${plural(a, 'regression')}${cats(c).length > 0 ? ` in ${cats(c).join(', ')}` : ''}`,
  },
  review_verdict: {
    kind: 'verdict',
    value: (f) => f.review?.verdict ?? null,
    missing: noReview,
    describe: (a) => `review verdict is ${a}`,
  },
  review_open_conditions: {
    kind: 'count',
    value: (f) => f.review?.openConditions ?? null,
    missing: noReview,
    describe: (a) => `${plural(a, 'review condition')} still open`,
  },
  activity_status: {
    kind: 'status',
    value: (f, c) => f.activities[c.activity ?? '']?.status ?? null,
    missing: (f, c) => `no activity "${c.activity}" on issue #${f.issueNumber} yet`,
    describe: (a, _f, c) => `activity ${c.activity} is ${a}`,
  },
  open_escalations: {
    kind: 'count',
    value: (f) => f.openEscalations,
    describe: (a) => plural(a, 'open escalation'),
  },
  open_risks: {
    kind: 'count',
    value: (f, c) =>
      c.severity === undefined
        ? f.openRisks.high + f.openRisks.medium + f.openRisks.low
        : f.openRisks[c.severity],
    describe: (a, _f, c) =>
      plural(a, `open ${c.severity === undefined ? '' : `${c.severity} `}risk`),
  },
  overdue_activities: {
    kind: 'count',
    value: (f) => overdue(f).length,
    describe: (a, f) => {
      const keys = overdue(f);
      return `${plural(a, 'overdue activity', 'overdue activities')}${keys.length > 0 ? ` (${keys.join(', ')})` : ''}`;
    },
  },
};

export const METRIC_KINDS = Object.fromEntries(
  Object.entries(METRICS).map(([k, m]) => [k, m.kind]),
) as Record<string, MetricKind>;

const FAILS_BECAUSE: Record<Op, string> = {
  '>=': 'is below',
  '>': 'is not above',
  '<=': 'is above',
  '<': 'is not below',
  '==': 'is not',
  '!=': 'is',
  in: 'is not one of',
};

export function compare(actual: number | string, op: Op, expected: Condition['value']): boolean {
  switch (op) {
    case '>=':
      return Number(actual) >= Number(expected);
    case '>':
      return Number(actual) > Number(expected);
    case '<=':
      return Number(actual) <= Number(expected);
    case '<':
      return Number(actual) < Number(expected);
    case '==':
      // A rate of exactly 0.9 must equal 0.9: compare numbers with a tolerance for float noise.
      return typeof actual === 'number'
        ? Math.abs(actual - Number(expected)) < 1e-9
        : actual === expected;
    case '!=':
      return !compare(actual, '==', expected);
    case 'in':
      return Array.isArray(expected) && expected.some((e) => compare(actual, '==', e));
  }
}

export interface ConditionResult {
  ok: boolean | null;
  reason: string | null;
}

/** One condition: ok, failing (with a reason a person can act on), or no data (ok: null). */
export function checkCondition(c: Condition, f: GateFacts): ConditionResult {
  const metric = METRICS[c.metric];
  if (metric === undefined) return { ok: false, reason: `unknown metric ${c.metric}` };
  let actual = metric.value(f, c);
  if (actual === null) {
    const missing = metric.missing?.(f, c) ?? `no test run for issue #${f.issueNumber} yet`;
    return { ok: null, reason: missing };
  }
  // Rates compare at the precision people read them: 54 of 60 is 90%, not 89.99999%.
  if (c.metric === 'pass_rate' && typeof actual === 'number')
    actual = Math.round(actual * 1e9) / 1e9;
  if (compare(actual, c.op, c.value)) return { ok: true, reason: null };
  const fmt = (v: number | string) =>
    metric.expected === undefined ? String(v) : metric.expected(v);
  const expected = Array.isArray(c.value) ? c.value.map((v) => fmt(v)).join(', ') : fmt(c.value);
  const subject = metric.describe(actual, f, c);
  if (isNumeric(metric.kind) && c.op === '==' && Number(c.value) === 0)
    return { ok: false, reason: subject };
  if (!isNumeric(metric.kind))
    return {
      ok: false,
      reason: `${subject}; needs ${c.op === 'in' ? `one of ${expected}` : `${c.op === '!=' ? 'anything but ' : ''}${expected}`}`,
    };
  return { ok: false, reason: `${subject} ${FAILS_BECAUSE[c.op]} ${expected}` };
}

export interface GateResult {
  key: string;
  name: string;
  state: GateState;
  reasons: string[];
  requires: string[];
}

export interface CriterionResult {
  key: string;
  text: string;
  state: CriterionState;
  kind: 'gate' | 'condition' | 'manual';
  checkedBy?: string | null;
  checkedAt?: string | null;
}

export interface GateReport {
  overall: OverallState;
  gates: GateResult[];
  criteria: CriterionResult[];
}

/**
 * Every gate's state. `pending` while a gate it requires has not passed, whatever its own
 * conditions say (its own failing conditions are still listed, after what it waits for);
 * otherwise `blocked` when one of its own conditions fails; otherwise `pending` while a
 * condition has no data; otherwise `passed`. The issue's overall state is `blocked` when
 * any gate is blocked, else `pending` when any is pending, else `passed` (`none` without
 * gates). The config must be valid (no cycles).
 */
export function evaluateGates(config: QualityConfig, facts: GateFacts): GateReport {
  const byKey = new Map(config.gates.map((g) => [g.key, g]));
  const results = new Map<string, GateResult>();
  const evaluate = (gate: Gate): GateResult => {
    const done = results.get(gate.key);
    if (done !== undefined) return done;
    const own = gate.conditions.map((c) => checkCondition(c, facts));
    const failing = own.filter((r) => r.ok === false).map((r) => r.reason!);
    const noData = [...new Set(own.filter((r) => r.ok === null).map((r) => r.reason!))];
    const requires = gate.requires ?? [];
    const waiting = requires
      .map((r) => evaluate(byKey.get(r)!))
      .filter((r) => r.state !== 'passed')
      .map((r) => `waiting for ${r.name}`);
    const [state, reasons]: [GateState, string[]] =
      waiting.length > 0
        ? ['pending', [...waiting, ...failing, ...noData]]
        : failing.length > 0
          ? ['blocked', failing]
          : noData.length > 0
            ? ['pending', noData]
            : ['passed', []];
    const result: GateResult = { key: gate.key, name: gate.name, state, reasons, requires };
    results.set(gate.key, result);
    return result;
  };
  const gates = config.gates.map(evaluate);
  return {
    overall: overallOf(gates),
    gates,
    criteria: config.criteria.map((c) => criterionState(c, results, facts)),
  };
}

/** `blocked` when any gate is blocked, else `pending` when any is, else `passed`; `none` without gates. */
export function overallOf(gates: readonly { state: GateState }[]): OverallState {
  if (gates.length === 0) return 'none';
  if (gates.some((g) => g.state === 'blocked')) return 'blocked';
  if (gates.some((g) => g.state === 'pending')) return 'pending';
  return 'passed';
}

function criterionState(
  c: Criterion,
  gates: Map<string, GateResult>,
  facts: GateFacts,
): CriterionResult {
  if (c.manual === true) {
    const check = facts.manual[c.key];
    return {
      key: c.key,
      text: c.text,
      kind: 'manual',
      state: check?.checked === true ? 'met' : 'pending',
      checkedBy: check?.by ?? null,
      checkedAt: check?.at ?? null,
    };
  }
  if (c.condition !== undefined) {
    const r = checkCondition(c.condition, facts);
    return {
      key: c.key,
      text: c.text,
      kind: 'condition',
      state: r.ok === null ? 'pending' : r.ok ? 'met' : 'unmet',
    };
  }
  const gate = gates.get(c.gate ?? '');
  const state: CriterionState =
    gate?.state === 'passed' ? 'met' : gate?.state === 'blocked' ? 'unmet' : 'pending';
  return { key: c.key, text: c.text, kind: 'gate', state };
}
