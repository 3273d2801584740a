import type { Executor } from '../../db/executor.ts';
import { summarizeTest, type FlakinessSettings, type TestSummary } from '../../domain/history.ts';
import { readWindow } from './test-window.ts';
import { testsOfProject } from './tests.queries.ts';

export type TestSort = 'name' | 'failureRate' | 'flipRate' | 'duration' | 'p95';

export interface TestRowSummary extends TestSummary {
  testId: string;
  suite: string;
  classname: string;
  name: string;
}

interface Entry {
  key: string;
  windowRuns: number;
  byName: TestRowSummary[];
  sorted: Map<TestSort, TestRowSummary[]>;
}

const byName = (a: TestRowSummary, b: TestRowSummary) =>
  a.classname < b.classname
    ? -1
    : a.classname > b.classname
      ? 1
      : a.name < b.name
        ? -1
        : a.name > b.name
          ? 1
          : a.testId < b.testId
            ? -1
            : 1;

const desc = (f: (r: TestRowSummary) => number | null) => (a: TestRowSummary, b: TestRowSummary) =>
  (f(b) ?? -1) - (f(a) ?? -1) || byName(a, b);

const ORDERS: Record<TestSort, (a: TestRowSummary, b: TestRowSummary) => number> = {
  name: byName,
  failureRate: desc((r) => r.failureRate),
  flipRate: desc((r) => r.flipRate),
  duration: desc((r) => r.meanMs),
  p95: desc((r) => r.p95Ms),
};

/**
 * Each project's test summaries over its window, kept in memory while nothing they depend
 * on changes: the window's runs (ids, and when each last changed), the project's newest
 * test and those awaiting their first stored upload, and the flakiness settings. The caller
 * reads those (testListStatement, the statement that finds the project); recomputing reads
 * window × tests/256 blocks and summarizes every test. Concurrent requests that find the
 * summaries stale compute them once: they share the computation in flight (its data is the
 * project's, whoever's transaction reads it). Per process, bounded.
 */
export function createTestListCache(maxProjects = 64) {
  const entries = new Map<string, Entry>();
  const computing = new Map<string, { key: string; entry: Promise<Entry> }>();

  const compute = async (
    db: Executor,
    orgId: string,
    project: { id: string; default_branch: string },
    settings: FlakinessSettings,
    runs: { id: string }[],
    key: string,
  ): Promise<Entry> => {
    const window = await readWindow(
      db,
      orgId,
      project.id,
      project.default_branch,
      settings.window,
      true,
      runs,
    );
    const tests = await testsOfProject(db, orgId, project.id, undefined);
    const rows = tests.map((t) => ({
      testId: t.test_key.toString('hex'),
      suite: t.suite,
      classname: t.classname,
      name: t.name,
      ...summarizeTest(
        { statuses: window.statusesOf(t.ord), durations: window.durationsOf(t.ord) },
        settings,
      ),
    }));
    rows.sort(byName);
    return { key, windowRuns: runs.length, byName: rows, sorted: new Map([['name', rows]]) };
  };

  return {
    /**
     * The summaries for what the caller saw (`seen`); `inTenant` runs a computation in a
     * transaction of the caller's tenant, when the cached summaries are stale.
     */
    async summaries(
      inTenant: <X>(fn: (db: Executor) => Promise<X>) => Promise<X>,
      orgId: string,
      project: { id: string; default_branch: string },
      settings: FlakinessSettings,
      seen: { runs: { id: string; updated_at: Date }[]; fingerprint: string },
    ): Promise<{
      windowRuns: number;
      sorted(sort: TestSort): TestRowSummary[];
    }> {
      const runs = seen.runs.slice(0, settings.window);
      const key = JSON.stringify([
        runs.map((r) => `${r.id}@${r.updated_at.getTime()}`),
        seen.fingerprint,
        settings,
        project.default_branch,
      ]);
      const cacheKey = `${orgId}:${project.id}`;
      let entry = entries.get(cacheKey);
      if (entry?.key !== key) {
        let pending = computing.get(cacheKey);
        if (pending?.key !== key) {
          pending = {
            key,
            entry: inTenant((db) => compute(db, orgId, project, settings, runs, key)),
          };
          computing.set(cacheKey, pending);
          const mine = pending;
          // Settled either way: a failed computation is not shared with later requests.
          mine.entry.then(
            () => computing.get(cacheKey) === mine && computing.delete(cacheKey),
            () => computing.get(cacheKey) === mine && computing.delete(cacheKey),
          );
        }
        entry = await pending.entry;
        if (entries.get(cacheKey)?.key !== key) {
          entries.delete(cacheKey);
          entries.set(cacheKey, entry);
          if (entries.size > maxProjects) entries.delete(entries.keys().next().value!);
        }
      }
      const found = entry;
      return {
        windowRuns: found.windowRuns,
        sorted(sort) {
          let list = found.sorted.get(sort);
          if (list === undefined) {
            list = [...found.byName].sort(ORDERS[sort]);
            found.sorted.set(sort, list);
          }
          return list;
        },
      };
    },
  };
}
