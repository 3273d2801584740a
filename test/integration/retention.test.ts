import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withOrgAsSystem } from '../../src/db/system.ts';
import { enforceRetention, RETENTION_BATCH } from '../../src/jobs/retention.ts';
import { deleteDetailsBatch } from '../../src/modules/tests/tests.queries.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { apiToken, login, memberOf, ownerOfNewOrg, type Session } from '../helpers/actors.ts';

let t: TestApp;
let owner: Session & { orgId: string };
let developer: Session;
let ci: { auth: { authorization: string } };
/** Reads after the clock moved by days (a JWT lives 10 minutes). */
let admin: { auth: { authorization: string } };
let outsider: { auth: { authorization: string } };
const base = '/api/v1/orgs/keep/projects/app';
const DAY = 86_400_000;

const xml = (failing: boolean) =>
  `<testsuite name="s"><testcase classname="app.K" name="ok" time="0.5"/><testcase classname="app.K" name="flip" time="0.25">${
    failing ? '<failure message="boom">trace</failure><system-out>log</system-out>' : ''
  }</testcase></testsuite>`;

let build = 0;
const upload = async (failing: boolean, query = 'branch=main') => {
  const res = await t.app.inject({
    method: 'POST',
    url: `${base}/runs?${query}&build=k${build++}`,
    headers: { ...ci.auth, 'content-type': 'application/xml' },
    payload: xml(failing),
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json<{ id: string }>().id;
};

/** Rows stored of a run, read as the owner (the test looks under the app). */
async function stored(runId: string) {
  const { rows } = await sql<{ details: number; blocks: number; tests: number; failed: number }>`
    SELECT (SELECT count(*)::int FROM result_details WHERE run_id = ${runId}) AS details,
           (SELECT count(*)::int FROM run_blocks WHERE run_id = ${runId}) AS blocks,
           coalesce((SELECT tests FROM test_runs WHERE id = ${runId}), -1) AS tests,
           coalesce((SELECT failed FROM test_runs WHERE id = ${runId}), -1) AS failed`.execute(
    t.database.db,
  );
  return rows[0]!;
}

beforeAll(async () => {
  t = await startTestApp();
  owner = await ownerOfNewOrg(t.app, 'keep');
  developer = await memberOf(t.app, owner, 'keep', 'developer');
  outsider = await apiToken(t.app, await ownerOfNewOrg(t.app, 'keep-out'), 'keep-out', 'admin');
  expect(
    (
      await t.app.inject({
        method: 'POST',
        url: '/api/v1/orgs/keep/projects',
        headers: owner.auth,
        payload: { key: 'app', name: 'App' },
      })
    ).statusCode,
  ).toBe(201);
  ci = await apiToken(t.app, owner, 'keep');
  admin = await apiToken(t.app, owner, 'keep', 'admin');
});
afterAll(() => t.close());

describe('retention settings', () => {
  it('defaults to 30 days of details and 400 of history, changed by PATCH (projects:write only)', async () => {
    const get = await t.app.inject({ method: 'GET', url: base, headers: owner.auth });
    expect(get.json()).toMatchObject({ retention: { detailsDays: 30, resultsDays: 400 } });
    const patch = (payload: object, auth = owner.auth) =>
      t.app.inject({ method: 'PATCH', url: base, headers: auth, payload });
    expect((await patch({ retention: { detailsDays: 7 } }, developer.auth)).statusCode).toBe(403);
    expect((await patch({ retention: { detailsDays: 7 } }, outsider.auth)).statusCode).toBe(404);
    expect((await patch({ retention: { detailsDays: 0 } })).statusCode).toBe(400);
    const res = await patch({ retention: { detailsDays: 10, resultsDays: 20 } });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ retention: { detailsDays: 10, resultsDays: 20 } });
  });
});

describe('the retention job', () => {
  it('removes details past detailsDays and history past resultsDays, keeping run totals and trends', async () => {
    const start = t.clock.now();
    const oldest = await upload(true); // day 0
    t.clock.advance(12 * DAY);
    const middle = await upload(true); // day 12
    t.clock.advance(12 * DAY);
    const newest = await upload(true); // day 24
    expect(await stored(oldest)).toEqual({ details: 1, blocks: 1, tests: 2, failed: 1 });

    // Day 24: oldest is 24 days old (details go, history stays), middle 12 (details go),
    // newest 0 (kept).
    const outcome = await enforceRetention({ db: t.database.db, clock: t.clock });
    expect(outcome).toMatchObject({ detailsDeleted: 2, blocksDeleted: 1, runsThinned: 2 });
    expect(await stored(oldest)).toEqual({ details: 0, blocks: 0, tests: 2, failed: 1 });
    expect(await stored(middle)).toEqual({ details: 0, blocks: 1, tests: 2, failed: 1 });
    expect(await stored(newest)).toEqual({ details: 1, blocks: 1, tests: 2, failed: 1 });

    // Again: nothing left to do.
    expect(await enforceRetention({ db: t.database.db, clock: t.clock })).toMatchObject({
      detailsDeleted: 0,
      blocksDeleted: 0,
      runsThinned: 0,
    });

    // History of the failing test: the middle run without its message, the oldest gone.
    const list = await t.app.inject({
      method: 'GET',
      url: `${base}/tests?query=flip`,
      headers: admin.auth,
    });
    const flip = list.json<{ items: { testId: string }[] }>().items[0]!.testId;
    const history = await t.app.inject({
      method: 'GET',
      url: `${base}/tests/${flip}/history`,
      headers: admin.auth,
    });
    expect(
      history
        .json<{ items: { runId: string; status: string; failureMessage: string | null }[] }>()
        .items.map((i) => [i.runId, i.status, i.failureMessage]),
    ).toEqual([
      [newest, 'failed', 'boom'],
      [middle, 'failed', null],
    ]);

    // Trends come from run totals: all three runs still counted.
    const trends = await t.app.inject({
      method: 'GET',
      url: `${base}/trends?from=${start.toISOString()}&to=${t.clock.now().toISOString()}`,
      headers: admin.auth,
    });
    const items = trends.json<{ items: { runs: number; failed: number }[] }>().items;
    expect(items.reduce((n, i) => n + i.runs, 0)).toBe(3);
    expect(items.reduce((n, i) => n + i.failed, 0)).toBe(3);
  });

  it('never locks uploads out: an upload completes while a retention batch holds its locks', async () => {
    t.clock.advance(40 * DAY);
    const old = await upload(true);
    t.clock.advance(40 * DAY);
    // A retention batch deleting the old run's details, left open (not committed) while
    // an upload to the same project runs to its end.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let deleted = -1;
    const batch = withOrgAsSystem(
      t.database.db,
      owner.orgId,
      { reason: 'test batch' },
      async (trx) => {
        deleted = await deleteDetailsBatch(trx, owner.orgId, old, RETENTION_BATCH);
        await held;
      },
    );
    await new Promise((r) => setImmediate(r));
    while (deleted === -1) await new Promise((r) => setImmediate(r));
    expect(deleted).toBe(1);
    const fresh = await upload(true, 'branch=main&issue=1');
    expect(await stored(fresh)).toMatchObject({ details: 1, blocks: 1 });
    release();
    await batch;
    expect(await stored(old)).toMatchObject({ details: 0 });
  });
});

describe('deleting a run', () => {
  // The clock has moved by months (a JWT lives 10 minutes): sign in again.
  beforeAll(async () => {
    owner = { ...owner, ...(await login(t.app, owner.email, 'keep')) };
    developer = { ...developer, ...(await login(t.app, developer.email, 'keep')) };
  });

  it('is refused to a developer (403) and to another org (404)', async () => {
    const run = await upload(false);
    const del = (auth: { authorization: string }) =>
      t.app.inject({ method: 'DELETE', url: `${base}/runs/${run}`, headers: auth });
    expect((await del(developer.auth)).statusCode).toBe(403);
    expect((await del(ci.auth)).statusCode).toBe(403);
    expect((await del(outsider.auth)).statusCode).toBe(404);
    expect(await stored(run)).toMatchObject({ tests: 2, blocks: 1 });
  });

  it('removes the run and its results, audited, and judges its issue again on the newest remaining complete run', async () => {
    const passing = await upload(false, 'branch=fix&issue=4');
    const failing = await upload(true, 'branch=fix&issue=4');
    const gates = async () =>
      (
        await t.app.inject({ method: 'GET', url: `${base}/issues/4/gates`, headers: owner.auth })
      ).json<{ overall: string; runId: string }>();
    expect(await gates()).toMatchObject({ overall: 'blocked', runId: failing });

    const res = await t.app.inject({
      method: 'DELETE',
      url: `${base}/runs/${failing}`,
      headers: owner.auth,
    });
    expect(res.statusCode, res.body).toBe(204);
    expect(await stored(failing)).toEqual({ details: 0, blocks: 0, tests: -1, failed: -1 });
    expect(await gates()).toMatchObject({ overall: 'passed', runId: passing });
    expect(
      (await t.app.inject({ method: 'GET', url: `${base}/runs/${failing}`, headers: owner.auth }))
        .statusCode,
    ).toBe(404);
    const audit = await t.app.inject({
      method: 'GET',
      url: '/api/v1/orgs/keep/audit-events?action=run.deleted',
      headers: owner.auth,
    });
    expect(
      audit.json<{ items: { targetId: string; actorId: string; data: unknown }[] }>().items,
    ).toEqual([
      expect.objectContaining({
        targetId: failing,
        actorId: owner.userId,
        data: { project: 'app', issue: 4, rejudged: [4] },
      }),
    ]);
  });
});
