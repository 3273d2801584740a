import {
  compilePattern,
  MATCH_INPUT_LIMIT,
  type MatchField,
  type QualityConfig,
} from './quality.ts';

/** A failed or errored testcase, as triage sees it. */
export interface Failure {
  id: string;
  testKey: string;
  classname: string;
  name: string;
  type: string | null;
  message: string | null;
  text: string | null;
  /** failed or error, when the reader knows it (excused failures leave the right total). */
  status?: 'failed' | 'error';
}

const MASKS: [RegExp, string][] = [
  [/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '<uuid>'],
  [/\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?\b/g, '<time>'],
  [/\b\d{2}:\d{2}:\d{2}(?:[.,]\d+)?\b/g, '<time>'],
  [/\b\d{4}-\d{2}-\d{2}\b/g, '<date>'],
  [/"[^"\n]{0,200}"|'[^'\n]{0,200}'|`[^`\n]{0,200}`|«[^»\n]{0,200}»/g, '<str>'],
  [/<(?!uuid>|time>|date>|str>|hex>|path>|n>)[^<>\s]{1,200}>/g, '<val>'],
  [/\b0x[0-9a-f]+\b/gi, '<hex>'],
  [/\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{8,}\b/gi, '<hex>'],
  [/(?:[A-Za-z]:)?(?:[\\/][\w.@-]+){2,}[\\/]?/g, '<path>'],
  [/:\d+(?::\d+)?\b/g, ':<n>'],
  // Digits not glued to a word before them ("1234ms" → "<n>ms", but "Service50Test" stays).
  [/(?<![A-Za-z_\d])\d+(?:[.,]\d+)*/g, '<n>'],
];

/**
 * The failure's message with everything that varies between occurrences masked: ids,
 * UUIDs, timestamps, quoted values, paths, line numbers and numbers. Linear in its input.
 */
export function normalizeMessage(message: string): string {
  let out = message.length > 2000 ? message.slice(0, 2000) : message;
  for (const [re, mask] of MASKS) out = out.replace(re, mask);
  return out.replace(/\s+/g, ' ').trim();
}

/** Failure type plus normalized message (or, without a message, the text's first line). */
export function signatureOf(f: Pick<Failure, 'type' | 'message' | 'text'>): string {
  const firstLine = (f.text ?? '').split('\n').find((l) => l.trim() !== '') ?? '';
  const message = f.message !== null && f.message.trim() !== '' ? f.message : firstLine;
  const type = f.type?.trim() ?? '';
  return `${type}${type !== '' ? ': ' : ''}${normalizeMessage(message)}`.slice(0, 500);
}

export type Categorizer = (f: Failure) => string | null;

/**
 * First matching category wins; every given field of a category must match. Each pattern
 * is compiled once here (and cached across configs), never per failure, and matched with
 * RE2 on at most MATCH_INPUT_LIMIT characters of its field.
 */
export function createCategorizer(config: Pick<QualityConfig, 'categories'>): Categorizer {
  const compiled = config.categories.map((c) => ({
    name: c.name,
    tests: Object.entries(c.match).map(([field, pattern]) => {
      const re = compilePattern(pattern ?? '');
      // A saved config that no longer compiles (saved before RE2, with a lookahead say)
      // fails loudly: skipping the category would let its failures slip past its gates.
      if (typeof re === 'string') throw new Error(`category ${c.name}: ${field} ${re}`);
      return { field: field as MatchField, re };
    }),
  }));
  return (f) => {
    const values: Record<MatchField, string> = {
      type: (f.type ?? '').slice(0, MATCH_INPUT_LIMIT),
      message: (f.message ?? '').slice(0, MATCH_INPUT_LIMIT),
      text: (f.text ?? '').slice(0, MATCH_INPUT_LIMIT),
      classname: f.classname.slice(0, MATCH_INPUT_LIMIT),
      name: f.name.slice(0, MATCH_INPUT_LIMIT),
    };
    for (const c of compiled) {
      if (c.tests.every((t) => t.re.test(values[t.field]))) return c.name;
    }
    return null;
  };
}

export interface Cluster {
  signature: string;
  count: number;
  samples: { id: string; classname: string; name: string }[];
}

export interface CategoryGroup {
  category: string | null;
  count: number;
  clusters: Cluster[];
}

const SAMPLES = 5;

/** Groups failures by category, then by signature: one pass, hash maps, no pairwise comparison. */
export function triage(failures: Failure[], categorize: Categorizer): CategoryGroup[] {
  const groups = new Map<string | null, Map<string, Cluster>>();
  for (const f of failures) {
    const category = categorize(f);
    let clusters = groups.get(category);
    if (clusters === undefined) {
      clusters = new Map();
      groups.set(category, clusters);
    }
    const signature = signatureOf(f);
    let cluster = clusters.get(signature);
    if (cluster === undefined) {
      cluster = { signature, count: 0, samples: [] };
      clusters.set(signature, cluster);
    }
    cluster.count++;
    if (cluster.samples.length < SAMPLES)
      cluster.samples.push({ id: f.id, classname: f.classname, name: f.name });
  }
  return [...groups.entries()]
    .map(([category, clusters]) => {
      const list = [...clusters.values()].sort(
        (a, b) => b.count - a.count || a.signature.localeCompare(b.signature),
      );
      return { category, count: list.reduce((n, c) => n + c.count, 0), clusters: list };
    })
    .sort((a, b) => (a.category === null ? 1 : b.category === null ? -1 : b.count - a.count));
}

export interface Observation {
  testKey: string;
  runId: string;
  status: 'passed' | 'failed' | 'error' | 'skipped';
  flakyMarker: boolean;
  /** "classname.name", for people reading the evidence. */
  label?: string;
}

export interface FlakyTest {
  testKey: string;
  label?: string;
  reason: 'rerun' | 'same_commit';
  passedIn: string[];
  failedIn: string[];
}

/**
 * Flaky: passed and failed on the same commit (across attempts or runs), or marked by
 * a surefire flakyFailure/flakyError rerun. `observations` are one commit's results.
 */
export function findFlaky(observations: Observation[]): FlakyTest[] {
  const byTest = new Map<
    string,
    { passed: Set<string>; failed: Set<string>; marker: Set<string>; label?: string }
  >();
  for (const o of observations) {
    let t = byTest.get(o.testKey);
    if (t === undefined) {
      t = { passed: new Set(), failed: new Set(), marker: new Set() };
      byTest.set(o.testKey, t);
    }
    if (o.status === 'passed') t.passed.add(o.runId);
    if (o.status === 'failed' || o.status === 'error') t.failed.add(o.runId);
    if (o.flakyMarker) t.marker.add(o.runId);
    if (o.label !== undefined) t.label ??= o.label;
  }
  const out: FlakyTest[] = [];
  for (const [testKey, t] of byTest) {
    const label = t.label === undefined ? {} : { label: t.label };
    if (t.passed.size > 0 && t.failed.size > 0) {
      out.push({
        testKey,
        ...label,
        reason: 'same_commit',
        passedIn: [...t.passed],
        failedIn: [...t.failed],
      });
    } else if (t.marker.size > 0) {
      out.push({
        testKey,
        ...label,
        reason: 'rerun',
        passedIn: [...t.marker],
        failedIn: [...t.marker],
      });
    }
  }
  return out;
}

export interface Regressions {
  /** Failing now, passed in the baseline. */
  newFailures: string[];
  /** Failing now and in the baseline. */
  stillFailing: string[];
}

/** Compares the failing tests of a run with the baseline run's statuses (by test key). */
export function compareWithBaseline(
  failingNow: string[],
  baseline: Map<string, string>,
): Regressions {
  const newFailures: string[] = [];
  const stillFailing: string[] = [];
  for (const key of failingNow) {
    const before = baseline.get(key);
    if (before === 'passed') newFailures.push(key);
    else if (before === 'failed' || before === 'error') stillFailing.push(key);
  }
  return { newFailures, stillFailing };
}
