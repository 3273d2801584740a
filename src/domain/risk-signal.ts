/**
 * What the live data says about a risk right now, from the judged gate report: the
 * failures in the categories it names, the state of the gates it names, whether the tests
 * it names are flaky. Pure; the report and the API both show it.
 */

export interface RiskLinks {
  categories?: readonly string[] | undefined;
  gates?: readonly string[] | undefined;
  /** Test labels ("classname.name", as the flaky list names them) or test ids. */
  tests?: readonly string[] | undefined;
}

/** The parts of a stored gate report a signal reads. */
export interface SignalReport {
  /** The complete run the gates were judged on; null before there was one. */
  runId: string | null;
  gates: readonly { key: string; name: string; state: string }[];
  flaky?: readonly { testId: string; test: string }[] | undefined;
}

export interface SignalEvidence {
  /** The stored gate report; undefined when it was never judged. */
  report: SignalReport | undefined;
  /** Failures of the judged run by category (none listed: none failed). */
  failuresByCategory: Readonly<Record<string, number>>;
}

/** red: it is happening now; amber: waiting to be known; green: calm now; none: no data. */
export type SignalLevel = 'red' | 'amber' | 'green' | 'none';

export interface SignalPart {
  kind: 'category' | 'gate' | 'test' | 'data';
  ref: string;
  level: SignalLevel;
  text: string;
}

export interface RiskSignal {
  level: SignalLevel;
  text: string;
  parts: SignalPart[];
}

const RANK: Record<SignalLevel, number> = { none: 0, green: 1, amber: 2, red: 3 };
const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'}`;

/** Each linked category, gate and test, as it stands in the evidence. */
export function riskSignalParts(links: RiskLinks, evidence: SignalEvidence): SignalPart[] {
  const { report } = evidence;
  const parts: SignalPart[] = [];
  const judged = report !== undefined && report.runId !== null;
  const categories = links.categories ?? [];
  const tests = links.tests ?? [];
  if (!judged && (categories.length > 0 || tests.length > 0))
    parts.push({ kind: 'data', ref: 'run', level: 'none', text: 'no complete test run yet' });
  if (judged)
    for (const c of categories) {
      const n = evidence.failuresByCategory[c] ?? 0;
      parts.push({
        kind: 'category',
        ref: c,
        level: n > 0 ? 'red' : 'green',
        text: n > 0 ? `${plural(n, 'failure')} in ${c} now` : `no failures in ${c} now`,
      });
    }
  for (const key of links.gates ?? []) {
    const gate = report?.gates.find((g) => g.key === key);
    if (gate === undefined) {
      parts.push({ kind: 'gate', ref: key, level: 'none', text: `gate ${key} not judged` });
      continue;
    }
    const level: SignalLevel =
      gate.state === 'blocked' ? 'red' : gate.state === 'passed' ? 'green' : 'amber';
    parts.push({ kind: 'gate', ref: key, level, text: `${gate.name} ${gate.state}` });
  }
  if (judged)
    for (const t of tests) {
      const flaky = (report.flaky ?? []).find((f) => f.test === t || f.testId === t);
      parts.push({
        kind: 'test',
        ref: t,
        level: flaky === undefined ? 'green' : 'red',
        text: flaky === undefined ? `not flaky now: ${t}` : `flaky: ${t}`,
      });
    }
  return parts;
}

/**
 * The risk's live signal: the worst level among its parts, and their texts, the worst
 * first (e.g. "7 failures in jwt now; Infrastructure Stability Gate blocked"). Null when
 * the risk links nothing.
 */
export function riskSignal(links: RiskLinks, evidence: SignalEvidence): RiskSignal | null {
  const parts = riskSignalParts(links, evidence);
  if (parts.length === 0) return null;
  const ordered = [...parts].sort((a, b) => RANK[b.level] - RANK[a.level]);
  return {
    level: ordered[0]!.level,
    text: ordered.map((p) => p.text).join('; '),
    parts,
  };
}
