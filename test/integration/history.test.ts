import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { apiToken, ownerOfNewOrg, type Session } from '../helpers/actors.ts';

// A known history: 12 runs of the default branch (main), two a day over six days, of three
// tests, then one run of a feature branch.
//   steady  always passes, durations 10, 20, ... 120 ms
//   flaky   passes on even runs, fails on odd ones: 11 flips over 12 runs
//   broken  passes in runs 0-3, fails from run 4 on: 1 flip, failure rate 8/12
// An issue #7 gets two runs on its branch: the first blocked, the second passed.

let t: TestApp;
let owner: Session & { orgId: string };
let ci: { auth: { authorization: string } };
let outsider: { auth: { authorization: string } };
const base = '/api/v1/orgs/hist/projects/app';
const DAY = 86_400_000;
const start = new Date('2026-03-01T08:00:00.000Z');
const mainRuns: string[] = [];

interface Case {
  name: string;
  fail?: string;
  ms?: number;
}
const xml = (cases: Case[]) =>
  `<testsuites><testsuite name="s">${cases
    .map((c) => {
      const time = c.ms === undefined ? '' : ` time="${c.ms / 1000}"`;
      const open = `<testcase classname="app.HistTest" name="${c.name}"${time}`;
      return c.fail === undefined
        ? `${open}/>`
        : `${open}><failure type="AssertionError" message="${c.fail}">trace</failure></testcase>`;
    })
    .join('')}</testsuite></testsuites>`;

const upload = async (query: string, body: string) => {
  const res = await t.app.inject({
    method: 'POST',
    url: `${base}/runs?${query}`,
    headers: { ...ci.auth, 'content-type': 'application/xml' },
    payload: body,
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json<{ id: string }>().id;
};

const get = (url: string, auth: { authorization: string } = owner.auth) =>
  t.app.inject({ method: 'GET', url, headers: auth });

interface TestItem {
  testId: string;
  name: string;
  lastStatus: string | null;
  runs: number;
  failureRate: number;
  flipRate: number;
  flaky: boolean;
  meanMs: number | null;
  p95Ms: number | null;
  quarantined: unknown;
}

beforeAll(async () => {
  t = await startTestApp();
  owner = await ownerOfNewOrg(t.app, 'hist');
  // Another org's admin token: everything of this org is a 404 to it.
  outsider = await apiToken(
    t.app,
    await ownerOfNewOrg(t.app, 'hist-outsider'),
    'hist-outsider',
    'admin',
  );
  const project = await t.app.inject({
    method: 'POST',
    url: '/api/v1/orgs/hist/projects',
    headers: owner.auth,
    payload: { key: 'app', name: 'App', defaultBranch: 'main' },
  });
  expect(project.statusCode).toBe(201);
  ci = await apiToken(t.app, owner, 'hist');
  for (let i = 0; i < 12; i++) {
    t.clock.set(new Date(start.getTime() + Math.floor(i / 2) * DAY + (i % 2) * 3_600_000));
    mainRuns.push(
      await upload(
        `branch=main&commit=m${i}&build=main-${i}`,
        xml([
          { name: 'steady', ms: (i + 1) * 10 },
          { name: 'flaky', ms: 5, ...(i % 2 === 1 ? { fail: `timeout after ${i}s` } : {}) },
          { name: 'broken', ms: 5, ...(i >= 4 ? { fail: 'expected 1 but was 2' } : {}) },
        ]),
      ),
    );
  }
  t.clock.set(new Date(start.getTime() + 6 * DAY));
  await upload(
    'branch=feature&commit=f1&build=feature-1',
    xml([{ name: 'steady', ms: 1 }, { name: 'flaky', fail: 'on feature' }, { name: 'broken' }]),
  );
});
afterAll(() => t.close());

async function testList(query = '') {
  const res = await get(`${base}/tests${query}`);
  expect(res.statusCode, res.body).toBe(200);
  return res.json<{
    items: TestItem[];
    nextCursor: string | null;
    window: { branch: string; runs: number };
  }>();
}

describe('the test list', () => {
  it("gives each test's last status, failure and flip rates over the default branch, mean and p95 duration", async () => {
    const list = await testList();
    expect(list.window).toEqual({ branch: 'main', runs: 12 });
    const byName = Object.fromEntries(list.items.map((i) => [i.name, i]));
    expect(list.items.map((i) => i.name)).toEqual(['broken', 'flaky', 'steady']);
    expect(byName['steady']).toMatchObject({
      lastStatus: 'passed',
      runs: 12,
      failureRate: 0,
      flipRate: 0,
      flaky: false,
      meanMs: 65,
      p95Ms: 120,
      quarantined: null,
    });
    expect(byName['flaky']).toMatchObject({
      lastStatus: 'failed',
      runs: 12,
      failureRate: 0.5,
      flipRate: 1,
      flaky: true,
      meanMs: 5,
    });
    expect(byName['broken']).toMatchObject({ lastStatus: 'failed', flaky: false });
    expect(byName['broken']!.failureRate).toBeCloseTo(8 / 12);
    expect(byName['broken']!.flipRate).toBeCloseTo(1 / 11);
    expect(byName['steady']!.testId).toMatch(/^[0-9a-f]{32}$/);
  });

  it('filters by name, last status and flakiness, and sorts by rates', async () => {
    expect((await testList('?query=stead')).items.map((i) => i.name)).toEqual(['steady']);
    expect((await testList('?status=failed')).items.map((i) => i.name)).toEqual([
      'broken',
      'flaky',
    ]);
    expect((await testList('?flaky=true')).items.map((i) => i.name)).toEqual(['flaky']);
    expect((await testList('?flaky=false')).items.map((i) => i.name)).toEqual(['broken', 'steady']);
    expect((await testList('?sort=failureRate')).items.map((i) => i.name)).toEqual([
      'broken',
      'flaky',
      'steady',
    ]);
    expect((await testList('?sort=flipRate')).items.map((i) => i.name)).toEqual([
      'flaky',
      'broken',
      'steady',
    ]);
    expect((await testList('?sort=duration')).items[0]!.name).toBe('steady');
  });

  it('pages with a cursor', async () => {
    const first = await testList('?limit=2');
    expect(first.items.map((i) => i.name)).toEqual(['broken', 'flaky']);
    expect(first.nextCursor).not.toBeNull();
    const second = await testList(`?limit=2&cursor=${first.nextCursor}`);
    expect(second.items.map((i) => i.name)).toEqual(['steady']);
    expect(second.nextCursor).toBeNull();
  });
});

describe("a test's history", () => {
  it('lists its results across runs, newest first, paged, with status, duration, commit and failure message', async () => {
    const flaky = (await testList('?query=flaky')).items[0]!;
    const page1 = await get(`${base}/tests/${flaky.testId}/history?limit=5`);
    expect(page1.statusCode, page1.body).toBe(200);
    const body = page1.json<{
      test: { name: string };
      items: {
        runId: string;
        branch: string;
        commit: string;
        status: string;
        durationMs: number | null;
        failureMessage: string | null;
      }[];
      nextCursor: string | null;
    }>();
    expect(body.test.name).toBe('flaky');
    expect(body.items.map((i) => [i.branch, i.commit, i.status])).toEqual([
      ['feature', 'f1', 'failed'],
      ['main', 'm11', 'failed'],
      ['main', 'm10', 'passed'],
      ['main', 'm9', 'failed'],
      ['main', 'm8', 'passed'],
    ]);
    expect(body.items[1]).toMatchObject({
      runId: mainRuns[11],
      durationMs: 5,
      failureMessage: 'timeout after 11s',
    });
    expect(body.items[2]!.failureMessage).toBeNull();
    const rest: string[] = [];
    let cursor = body.nextCursor;
    while (cursor !== null) {
      const page = await get(`${base}/tests/${flaky.testId}/history?limit=5&cursor=${cursor}`);
      const b = page.json<{ items: { commit: string }[]; nextCursor: string | null }>();
      rest.push(...b.items.map((i) => i.commit));
      cursor = b.nextCursor;
    }
    expect(rest).toEqual(['m7', 'm6', 'm5', 'm4', 'm3', 'm2', 'm1', 'm0']);
  });

  it('keeps to one branch when asked', async () => {
    const steady = (await testList('?query=steady')).items[0]!;
    const res = await get(`${base}/tests/${steady.testId}/history?branch=feature`);
    expect(res.json<{ items: { commit: string; durationMs: number }[] }>().items).toEqual([
      expect.objectContaining({ commit: 'f1', durationMs: 1 }),
    ]);
  });

  it("answers 404 for an unknown test and for another org's", async () => {
    const steady = (await testList('?query=steady')).items[0]!;
    expect((await get(`${base}/tests/${'0'.repeat(32)}/history`)).statusCode).toBe(404);
    expect((await get(`${base}/tests/${steady.testId}/history`, outsider.auth)).statusCode).toBe(
      404,
    );
    expect((await get(`${base}/tests`, outsider.auth)).statusCode).toBe(404);
    expect((await get(`${base}/trends`, outsider.auth)).statusCode).toBe(404);
  });
});

describe('trends', () => {
  it('sums the default branch per day: pass rate, counts, flaky, mean duration; empty days kept', async () => {
    const res = await get(
      `${base}/trends?from=2026-03-01T00:00:00Z&to=2026-03-07T23:59:59Z&bucket=day`,
    );
    expect(res.statusCode, res.body).toBe(200);
    const items = res.json<{
      items: {
        start: string;
        runs: number;
        tests: number;
        passed: number;
        failed: number;
        passRate: number | null;
      }[];
    }>().items;
    expect(items.map((i) => i.start.slice(0, 10))).toEqual([
      '2026-03-01',
      '2026-03-02',
      '2026-03-03',
      '2026-03-04',
      '2026-03-05',
      '2026-03-06',
      '2026-03-07',
    ]);
    // Day 0: runs 0 (3 passed) and 1 (flaky failed): 5 of 6 passed.
    expect(items[0]).toMatchObject({ runs: 2, tests: 6, passed: 5, failed: 1 });
    expect(items[0]!.passRate).toBeCloseTo(5 / 6);
    // Day 2: runs 4 and 5: broken fails in both, flaky in run 5: 3 of 6.
    expect(items[2]).toMatchObject({ runs: 2, passed: 3, failed: 3, passRate: 0.5 });
    // The feature run (day 6) is on another branch: nothing on main that day.
    expect(items[6]).toMatchObject({ runs: 0, passRate: null });
  });

  it('reads another branch when asked, by week', async () => {
    const res = await get(
      `${base}/trends?branch=feature&from=2026-03-01T00:00:00Z&to=2026-03-10T00:00:00Z&bucket=week`,
    );
    const items = res.json<{ items: { start: string; runs: number }[] }>().items;
    expect(items.map((i) => [i.start.slice(0, 10), i.runs])).toEqual([
      ['2026-02-23', 0],
      ['2026-03-02', 1],
      ['2026-03-09', 0],
    ]);
  });
});

describe("an issue's trend and flakiness over history in gates", () => {
  it("lists the issue's complete runs with pass rate and the gate state each left", async () => {
    t.clock.set(new Date(start.getTime() + 7 * DAY));
    await upload(
      'branch=fix&commit=x1&build=fix-1&issue=7',
      xml([{ name: 'steady' }, { name: 'flaky', fail: 'boom' }, { name: 'broken', fail: 'no' }]),
    );
    t.clock.set(new Date(start.getTime() + 8 * DAY));
    await upload(
      'branch=fix&commit=x2&build=fix-2&issue=7',
      xml([{ name: 'steady' }, { name: 'flaky' }, { name: 'broken' }]),
    );
    const res = await get(`${base}/issues/7/trend`);
    expect(res.statusCode, res.body).toBe(200);
    const items = res.json<{
      items: { commit: string; passRate: number; overall: string; gates: Record<string, string> }[];
    }>().items;
    expect(items.map((i) => [i.commit, i.overall, i.gates['tests']])).toEqual([
      ['x1', 'blocked', 'blocked'],
      ['x2', 'passed', 'passed'],
    ]);
    expect(items[0]!.passRate).toBeCloseTo(1 / 3);
    expect(items[1]!.passRate).toBe(1);
  });

  it('blocks a flaky_over_history gate with the flaky tests and the runs where they flipped as evidence', async () => {
    const put = await t.app.inject({
      method: 'PUT',
      url: `${base}/quality-config`,
      headers: owner.auth,
      payload: {
        flakiness: { flipRate: 0.2, minRuns: 10, window: 12 },
        gates: [
          {
            key: 'stable',
            name: 'Stable history',
            conditions: [{ metric: 'flaky_over_history', op: '==', value: 0 }],
          },
        ],
      },
    });
    expect(put.statusCode, put.body).toBe(200);
    const gates = (await get(`${base}/issues/7/gates`)).json<{
      overall: string;
      gates: { reasons: string[] }[];
      flakyOverHistory: { test: string; runs: number; flips: number; flippedIn: string[] }[];
    }>();
    expect(gates.overall).toBe('blocked');
    expect(gates.gates[0]!.reasons).toEqual(["1 test flaky over the default branch's history"]);
    expect(gates.flakyOverHistory).toEqual([
      expect.objectContaining({
        test: 'app.HistTest.flaky',
        runs: 12,
        flips: 11,
        flippedIn: mainRuns.slice(1),
      }),
    ]);
  });

  it('refuses flakiness settings that cannot hold', async () => {
    const put = (flakiness: object) =>
      t.app.inject({
        method: 'PUT',
        url: `${base}/quality-config`,
        headers: owner.auth,
        payload: { flakiness, gates: [] },
      });
    const rate = await put({ flipRate: 1.5 });
    expect(rate.statusCode).toBe(400);
    expect(rate.body).toContain('body/flakiness/flipRate');
    const window = await put({ minRuns: 20, window: 10 });
    expect(window.statusCode).toBe(400);
    expect(window.json<{ errors: { path: string; message: string }[] }>().errors).toEqual([
      {
        path: 'body/flakiness/window',
        message: 'must be at least minRuns (20): the runs read must be able to hold that many',
      },
    ]);
  });

  it('sees a new run of the default branch and a new test at once (the list is never stale)', async () => {
    expect((await testList('?query=steady')).items[0]!.lastStatus).toBe('passed');
    t.clock.set(new Date(start.getTime() + 9 * DAY));
    await upload(
      'branch=main&commit=m12&build=main-12',
      xml([{ name: 'steady', fail: 'finally' }, { name: 'newcomer' }]),
    );
    const list = await testList();
    expect(list.window.runs).toBe(12);
    const byName = Object.fromEntries(list.items.map((i) => [i.name, i]));
    expect(byName['steady']!.lastStatus).toBe('failed');
    expect(byName['newcomer']).toMatchObject({ lastStatus: 'passed', runs: 1 });
  });
});
