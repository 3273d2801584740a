import { compileLinear, type LinearRegex } from '../lib/linear-regex.ts';
import { ACTIVITY_STATUSES, type ActivityStatus } from './schedule.ts';

/** The per-project quality configuration: root-cause categories, gates, success criteria. */

export const MATCH_FIELDS = ['type', 'message', 'text', 'classname', 'name'] as const;
export type MatchField = (typeof MATCH_FIELDS)[number];

export interface Category {
  name: string;
  label?: string;
  blocking?: boolean;
  match: Partial<Record<MatchField, string>>;
  /** Known failures: matching failures are excused (not counted against gates) while set. */
  known?: boolean;
  /** Where the known failure is tracked (a link or ticket id). */
  ticket?: string;
}

export const OPS = ['>=', '>', '<=', '<', '==', '!=', 'in'] as const;
export type Op = (typeof OPS)[number];

export interface Condition {
  metric: string;
  op: Op;
  value: number | string | (number | string)[];
  /** For failed_in_category (required) and regressions (optional): one category or several. */
  category?: string | string[];
  /** For activity_status (required): the key of the activity whose status is read. */
  activity?: string;
  /** For open_risks (optional): count only the open risks of this severity. */
  severity?: RiskSeverity;
}

export { ACTIVITY_STATUSES, type ActivityStatus };

/**
 * How a metric's value is compared: by size (a rate is a fraction from 0 to 1, a count a
 * whole number from 0), or as one of a fixed set of words.
 */
export type MetricKind = 'rate' | 'count' | 'verdict' | 'status';

export const VERDICTS = ['pass', 'conditional_pass', 'fail'] as const;

/** Rates and counts compare by size; verdicts and statuses as words. */
export const isNumeric = (kind: MetricKind) => kind === 'rate' || kind === 'count';

export const RISK_SEVERITIES = ['high', 'medium', 'low'] as const;
export type RiskSeverity = (typeof RISK_SEVERITIES)[number];

export interface Gate {
  key: string;
  name: string;
  requires?: string[];
  conditions: Condition[];
}

export interface Criterion {
  key: string;
  text: string;
  gate?: string;
  condition?: Condition;
  manual?: boolean;
}

/** When a test is flaky over history: flipping between pass and fail on the default branch. */
export interface FlakinessConfig {
  /** Flaky when the flip rate is above this fraction (default 0.1). */
  flipRate?: number;
  /** ... over at least this many runs that passed or failed (default 10). */
  minRuns?: number;
  /** How many of the default branch's latest complete runs are read (default 30). */
  window?: number;
}

/** Automatic quarantine of tests flaky over history. */
export interface QuarantineConfig {
  /** Quarantine tests flaky over history automatically (default false). */
  auto?: boolean;
  /** ... once they have been flaky for this many days (default 3). */
  afterDays?: number;
}

export interface QualityConfig {
  categories: Category[];
  gates: Gate[];
  criteria: Criterion[];
  flakiness?: FlakinessConfig;
  quarantine?: QuarantineConfig;
}

export interface ConfigError {
  path: string;
  message: string;
}

/** With no configuration: one gate, pass rate ≥ 90% with at least one test and no failure in a blocking category. */
export const DEFAULT_CONFIG: QualityConfig = {
  categories: [],
  gates: [
    {
      key: 'tests',
      name: 'Tests',
      conditions: [
        { metric: 'tests_total', op: '>=', value: 1 },
        { metric: 'pass_rate', op: '>=', value: 0.9 },
        { metric: 'blocking_failures', op: '==', value: 0 },
      ],
    },
  ],
  criteria: [],
};

/** The values a check refused, as written: `"conditional pass"`, or `95, 100` for several. */
const given = (values: unknown[]) => values.map((v) => JSON.stringify(v)).join(', ');

export const MAX_PATTERN_LENGTH = 500;
/** Matching looks at this many characters of each field, so no pattern meets a megabyte. */
export const MATCH_INPUT_LIMIT = 4096;

/**
 * Compiles a category's pattern for RE2, which matches in time linear in the input
 * whatever the pattern (`(?i)` prefix or any inline flag for case-insensitive), or says
 * why not: too long, backreferences or lookaround (RE2 has neither), invalid, or
 * compiling to too large a program. Cached by pattern.
 */
export function compilePattern(pattern: string): LinearRegex | string {
  if (pattern.length > MAX_PATTERN_LENGTH) return `is longer than ${MAX_PATTERN_LENGTH} characters`;
  return compileLinear(pattern);
}

function cycleFrom(gates: Gate[]): string[] | null {
  const byKey = new Map(gates.map((g) => [g.key, g]));
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (key: string): string[] | null => {
    if (state.get(key) === 'done') return null;
    if (state.get(key) === 'visiting') return [...stack.slice(stack.indexOf(key)), key];
    state.set(key, 'visiting');
    stack.push(key);
    for (const dep of byKey.get(key)?.requires ?? []) {
      const cycle = visit(dep);
      if (cycle !== null) return cycle;
    }
    stack.pop();
    state.set(key, 'done');
    return null;
  };
  for (const g of gates) {
    const cycle = visit(g.key);
    if (cycle !== null) return cycle;
  }
  return null;
}

/**
 * The checks a schema cannot make: patterns, references between parts, cycles and
 * metric-specific values. Paths are JSON-pointer-like, from `body`.
 */
export function validateConfig(
  config: QualityConfig,
  metricKinds: Record<string, MetricKind>,
): ConfigError[] {
  const errors: ConfigError[] = [];
  const categories = new Set<string>();
  config.categories.forEach((c, i) => {
    if (categories.has(c.name))
      errors.push({
        path: `body/categories/${i}/name`,
        message: `repeats the category "${c.name}"`,
      });
    categories.add(c.name);
    const fields = Object.entries(c.match);
    if (fields.length === 0)
      errors.push({
        path: `body/categories/${i}/match`,
        message: 'needs at least one of type, message, text, classname, name',
      });
    for (const [field, pattern] of fields) {
      const compiled = compilePattern(pattern ?? '');
      if (typeof compiled === 'string')
        errors.push({ path: `body/categories/${i}/match/${field}`, message: compiled });
    }
    if (c.ticket !== undefined && c.known !== true)
      errors.push({
        path: `body/categories/${i}/ticket`,
        message: 'only applies to a category marked known: true',
      });
  });
  const flakiness = config.flakiness ?? {};
  if (flakiness.flipRate !== undefined && (flakiness.flipRate < 0 || flakiness.flipRate > 1))
    errors.push({
      path: 'body/flakiness/flipRate',
      message: 'must be a fraction between 0 and 1 (0.1 for 10%)',
    });
  if ((flakiness.minRuns ?? 10) > (flakiness.window ?? 30))
    errors.push({
      path: 'body/flakiness/window',
      message: `must be at least minRuns (${flakiness.minRuns ?? 10}): the runs read must be able to hold that many`,
    });

  const checkCondition = (cond: Condition, path: string) => {
    const kind = metricKinds[cond.metric];
    if (kind === undefined) {
      errors.push({
        path: `${path}/metric`,
        message: `is not a known metric (${Object.keys(metricKinds).join(', ')})`,
      });
      return;
    }
    const cats =
      cond.category === undefined
        ? []
        : Array.isArray(cond.category)
          ? cond.category
          : [cond.category];
    if (cond.metric === 'failed_in_category' && cats.length === 0) {
      errors.push({ path: `${path}/category`, message: 'is required for failed_in_category' });
    }
    for (const cat of cats) {
      if (!categories.has(cat))
        errors.push({ path: `${path}/category`, message: `names no category ("${cat}")` });
    }
    if (cond.op === 'in') {
      if (!Array.isArray(cond.value))
        errors.push({ path: `${path}/value`, message: 'must be a list with the operator "in"' });
    } else if (Array.isArray(cond.value)) {
      errors.push({
        path: `${path}/value`,
        message: `must not be a list with the operator "${cond.op}"`,
      });
    }
    const values = Array.isArray(cond.value) ? cond.value : [cond.value];
    const numeric = isNumeric(kind);
    if (numeric && values.some((v) => typeof v !== 'number')) {
      errors.push({ path: `${path}/value`, message: `must be a number for ${cond.metric}` });
    } else {
      // 90 for 90% would read "below 9000%" and never pass.
      const outOfRange = values.filter((v) =>
        kind === 'rate'
          ? Number(v) < 0 || Number(v) > 1
          : kind === 'count' && (!Number.isInteger(v) || Number(v) < 0),
      );
      if (outOfRange.length > 0)
        errors.push({
          path: `${path}/value`,
          message: `${kind === 'rate' ? 'must be a fraction between 0 and 1 (0.9 for 90%)' : 'must be a whole number, 0 or more,'} for ${cond.metric}, not ${given(outOfRange)}`,
        });
    }
    if (!numeric && !['==', '!=', 'in'].includes(cond.op))
      errors.push({ path: `${path}/op`, message: `must be ==, != or in for ${cond.metric}` });
    if (kind === 'verdict') {
      const wrong = values.filter((v) => !(VERDICTS as readonly unknown[]).includes(v));
      if (wrong.length > 0)
        errors.push({
          path: `${path}/value`,
          message: `must be ${VERDICTS.slice(0, -1).join(', ')} or ${VERDICTS.at(-1)}, not ${given(wrong)}`,
        });
    }
    if (kind === 'status') {
      const wrong = values.filter((v) => !(ACTIVITY_STATUSES as readonly unknown[]).includes(v));
      if (wrong.length > 0)
        errors.push({
          path: `${path}/value`,
          message: `must be an activity status (${ACTIVITY_STATUSES.join(', ')})`,
        });
    }
    if (cond.metric === 'activity_status') {
      if (typeof cond.activity !== 'string' || cond.activity.trim() === '')
        errors.push({
          path: `${path}/activity`,
          message: 'is required for activity_status: the key of the activity whose status is read',
        });
    } else if (cond.activity !== undefined) {
      errors.push({ path: `${path}/activity`, message: `only applies to activity_status` });
    }
    if (cond.severity !== undefined) {
      if (cond.metric !== 'open_risks')
        errors.push({ path: `${path}/severity`, message: 'only applies to open_risks' });
      else if (!(RISK_SEVERITIES as readonly unknown[]).includes(cond.severity))
        errors.push({ path: `${path}/severity`, message: 'must be high, medium or low' });
    }
  };

  const gates = new Set<string>();
  config.gates.forEach((g, i) => {
    if (gates.has(g.key))
      errors.push({ path: `body/gates/${i}/key`, message: `repeats the gate "${g.key}"` });
    gates.add(g.key);
    g.conditions.forEach((c, j) => checkCondition(c, `body/gates/${i}/conditions/${j}`));
  });
  config.gates.forEach((g, i) =>
    (g.requires ?? []).forEach((r, j) => {
      if (!gates.has(r))
        errors.push({ path: `body/gates/${i}/requires/${j}`, message: `names no gate ("${r}")` });
      if (r === g.key)
        errors.push({
          path: `body/gates/${i}/requires/${j}`,
          message: 'a gate cannot require itself',
        });
    }),
  );
  const cycle = cycleFrom(config.gates.filter((g) => !(g.requires ?? []).includes(g.key)));
  if (cycle !== null) {
    const i = config.gates.findIndex((g) => g.key === cycle[0]);
    errors.push({
      path: `body/gates/${i}/requires`,
      message: `forms a cycle: ${cycle.join(' → ')}`,
    });
  }

  const criteria = new Set<string>();
  config.criteria.forEach((c, i) => {
    if (criteria.has(c.key))
      errors.push({ path: `body/criteria/${i}/key`, message: `repeats the criterion "${c.key}"` });
    criteria.add(c.key);
    const bindings = [c.gate !== undefined, c.condition !== undefined, c.manual === true].filter(
      Boolean,
    ).length;
    if (bindings !== 1)
      errors.push({
        path: `body/criteria/${i}`,
        message: 'needs exactly one of gate, condition or manual: true',
      });
    if (c.gate !== undefined && !gates.has(c.gate))
      errors.push({ path: `body/criteria/${i}/gate`, message: `names no gate ("${c.gate}")` });
    if (c.condition !== undefined) checkCondition(c.condition, `body/criteria/${i}/condition`);
  });
  return errors;
}
