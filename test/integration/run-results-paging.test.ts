import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { apiToken, ownerOfNewOrg } from '../helpers/actors.ts';

// A run's results read page by page must come out whole and in result order whatever the
// page size: by test ord (first sight in the project), each test's first occurrence, then
// its repeats as they came, across blocks of 256 ords, uploads of one run and filters.

let t: TestApp;
let ci: { auth: { authorization: string } };
let ownerAuth: { authorization: string };
const base = '/api/v1/orgs/paging/projects/app/runs';

interface Case {
  name: string;
  status: 'passed' | 'failed' | 'error' | 'skipped';
  message: string | null;
  out: string | null;
}

function caseOf(i: number, name: string): Case {
  if (i % 13 === 5) return { name, status: 'failed', message: `broke ${i}`, out: null };
  if (i % 31 === 7) return { name, status: 'error', message: `crashed ${i}`, out: null };
  if (i % 17 === 3) return { name, status: 'skipped', message: null, out: null };
  if (i % 29 === 11) return { name, status: 'passed', message: null, out: `log ${i}` };
  return { name, status: 'passed', message: null, out: null };
}

function xmlOf(cases: Case[]): string {
  const body = cases.map((c) => {
    const open = `<testcase classname="app.PagingTest" name="${c.name}" time="0.012"`;
    if (c.status === 'failed')
      return `${open}><failure message="${c.message}">at x</failure></testcase>`;
    if (c.status === 'error') return `${open}><error message="${c.message}"/></testcase>`;
    if (c.status === 'skipped') return `${open}><skipped/></testcase>`;
    if (c.out !== null) return `${open}><system-out>${c.out}</system-out></testcase>`;
    return `${open}/>`;
  });
  return `<testsuites><testsuite name="paging">\n${body.join('\n')}\n</testsuite></testsuites>`;
}

/** 700 tests (three blocks of ords), repeats in every block and on block edges. */
function firstUpload(): Case[] {
  const cases: Case[] = [];
  for (let i = 0; i < 700; i++) {
    cases.push(caseOf(i, `t${i}`));
    if (i === 400) cases.push(caseOf(5, 't10'), caseOf(0, 't255'));
  }
  cases.push(caseOf(5, 't3'), caseOf(0, 't256'), caseOf(5, 't511'), caseOf(0, 't511'));
  cases.push(caseOf(11, 't699'), caseOf(7, 't255'));
  return cases;
}

/** The run's second shard: more repeats, of tests in every block, and tests new to the project. */
function secondUpload(): Case[] {
  const cases = [caseOf(5, 't0'), caseOf(3, 't256'), caseOf(5, 't600')];
  for (let i = 0; i < 10; i++) cases.push(caseOf(i, `n${i}`));
  cases.push(caseOf(0, 't10'));
  return cases;
}

/** What the results are, worked out from the uploads alone: ids, order and contents. */
function expected(occurrences: Case[]) {
  const ords = new Map<string, number>();
  const byOrd: { id: string; c: Case }[][] = [];
  occurrences.forEach((c, seq) => {
    let ord = ords.get(c.name);
    if (ord === undefined) {
      ord = ords.size;
      ords.set(c.name, ord);
      byOrd[ord] = [{ id: String(ord), c }];
    } else byOrd[ord]!.push({ id: `${ord}-${seq}`, c });
  });
  return byOrd.flat().map(({ id, c }) => ({
    id,
    name: c.name,
    status: c.status,
    failureMessage: c.message,
    systemOut: c.out,
  }));
}

let runId: string;
const all = [...firstUpload(), ...secondUpload()];

beforeAll(async () => {
  t = await startTestApp();
  const owner = await ownerOfNewOrg(t.app, 'paging');
  ownerAuth = owner.auth;
  const res = await t.app.inject({
    method: 'POST',
    url: '/api/v1/orgs/paging/projects',
    headers: owner.auth,
    payload: { key: 'app', name: 'App' },
  });
  expect(res.statusCode).toBe(201);
  ci = await apiToken(t.app, owner, 'paging');
  for (const cases of [firstUpload(), secondUpload()]) {
    const up = await t.app.inject({
      method: 'POST',
      url: `${base}?build=p1&shards=2`,
      headers: { ...ci.auth, 'content-type': 'application/xml' },
      payload: xmlOf(cases),
    });
    expect(up.statusCode, up.body).toBe(201);
    runId = up.json<{ id: string }>().id;
  }
});
afterAll(() => t.close());

async function readAll(limit: number, status?: string) {
  const items: Record<string, unknown>[] = [];
  let cursor: string | null = null;
  do {
    const q = new URLSearchParams({ limit: String(limit) });
    if (status !== undefined) q.set('status', status);
    if (cursor !== null) q.set('cursor', cursor);
    const res = await t.app.inject({
      method: 'GET',
      url: `${base}/${runId}/results?${q.toString()}`,
      headers: ci.auth,
    });
    expect(res.statusCode, res.body).toBe(200);
    const page = res.json<{ items: Record<string, unknown>[]; nextCursor: string | null }>();
    expect(page.items.length).toBeLessThanOrEqual(limit);
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor !== null);
  return items.map((r) => ({
    id: r['id'],
    name: r['name'],
    status: r['status'],
    failureMessage: r['failureMessage'],
    systemOut: r['systemOut'],
  }));
}

describe('paging through a run’s results', () => {
  it.each([7, 255, 256, 257, 1000])(
    'answers every result once, in result order, in pages of %i',
    async (limit) => {
      const want = expected(all);
      expect(want).toHaveLength(all.length);
      expect(await readAll(limit)).toEqual(want);
    },
  );

  it.each(['passed', 'failed', 'error', 'skipped'])(
    'answers the %s results alone, in the same order, page by page',
    async (status) => {
      const want = expected(all).filter((r) => r.status === status);
      expect(want.length).toBeGreaterThan(0);
      expect(await readAll(9, status)).toEqual(want);
      expect(await readAll(1000, status)).toEqual(want);
    },
  );
});

describe('a run’s failures read in one statement', () => {
  it('answers what the whole run answers for those results: names, ids and details alike', async () => {
    const full = await fullItems('');
    for (const status of ['failed', 'error']) {
      const alone = await fullItems(`status=${status}`);
      expect(alone.length).toBeGreaterThan(0);
      expect(alone).toEqual(full.filter((r) => r['status'] === status));
    }
  });

  it('says which is missing, the project or the run, as the other reads do', async () => {
    const missingRun = await t.app.inject({
      method: 'GET',
      url: `${base}/01a22c02-32a1-7f3c-bb37-b0c55d0eeae6/results?status=failed`,
      headers: ci.auth,
    });
    expect(missingRun.statusCode).toBe(404);
    expect(missingRun.json<{ detail: string }>().detail).toBe('Run not found');
    const missingProject = await t.app.inject({
      method: 'GET',
      url: `/api/v1/orgs/paging/projects/nowhere/runs/${runId}/results?status=error`,
      headers: ci.auth,
    });
    expect(missingProject.statusCode).toBe(404);
    expect(missingProject.json<{ detail: string }>().detail).toBe('Project not found');
  });

  it("does not answer one project's run under another project of the same org", async () => {
    const other = await t.app.inject({
      method: 'POST',
      url: '/api/v1/orgs/paging/projects',
      headers: ownerAuth,
      payload: { key: 'other', name: 'Other' },
    });
    expect(other.statusCode, other.body).toBe(201);
    for (const status of ['failed', 'error']) {
      const res = await t.app.inject({
        method: 'GET',
        url: `/api/v1/orgs/paging/projects/other/runs/${runId}/results?status=${status}`,
        headers: ci.auth,
      });
      expect(res.statusCode).toBe(404);
      expect(res.json<{ detail: string }>().detail).toBe('Run not found');
    }
  });
});

async function fullItems(query: string) {
  const res = await t.app.inject({
    method: 'GET',
    url: `${base}/${runId}/results?limit=1000&${query}`,
    headers: ci.auth,
  });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<{ items: Record<string, unknown>[] }>().items;
}
