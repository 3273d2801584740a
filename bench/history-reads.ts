// The history reads of issue 12, for `npm run bench history` (bench/history.ts,
// readLatencies): the paths to measure under load, found through the API itself.

const DAY = 86_400_000;

/** What the reads need from the bench's build-up. */
export interface HistoryReadTarget {
  server: { base: string; token: string };
  /** Path of the project's API: /api/v1/orgs/bench/projects/hist. */
  project: string;
  issues: number[];
}

/**
 * The paths measured: the test list (first page, default sort), one test's history (100
 * runs), the default branch's trends over 90 days by day, and an issue's trend. The test is
 * the first flaky one when there is one (its history has failures to show), else the first.
 * Beside them, the floors under the same 10 clients: the org itself (the tenant door alone:
 * BEGIN, the token and membership check, one read, COMMIT) and /healthz (no database).
 */
export async function historyReads(ctx: HistoryReadTarget): Promise<Record<string, string>> {
  const headers = { authorization: `Bearer ${ctx.server.token}` };
  const list = async (query: string) => {
    const res = await fetch(`${ctx.server.base}${ctx.project}/tests?limit=1${query}`, {
      headers,
    });
    if (!res.ok) throw new Error(`test list: ${res.status} ${await res.text()}`);
    return ((await res.json()) as { items: { testId: string }[] }).items[0]?.testId;
  };
  const testId = (await list('&flaky=true')) ?? (await list(''));
  if (testId === undefined) throw new Error('the project has no tests');
  const to = new Date();
  const from = new Date(to.getTime() - 90 * DAY);
  return {
    'test list': `${ctx.project}/tests?limit=50`,
    "a test's history (100 runs)": `${ctx.project}/tests/${testId}/history?limit=100`,
    'trends over 90 days': `${ctx.project}/trends?bucket=day&from=${from.toISOString()}&to=${to.toISOString()}`,
    "an issue's trend": `${ctx.project}/issues/${ctx.issues[0] ?? 1}/trend`,
    'floor: a bare tenant read (the org)': ctx.project.replace(/\/projects\/[^/]+$/, ''),
    'floor: /healthz (no database)': '/healthz',
  };
}
