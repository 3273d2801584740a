import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { apiToken, ownerOfNewOrg } from '../helpers/actors.ts';
import { migrateBackIn, migrateOut } from '../helpers/migrations.ts';

// Trends read a branch's complete runs summed per day (run_day_totals, kept by a trigger on
// test_runs): every way a run changes keeps the day totals equal to the sums of the runs
// themselves, and a day the range cuts is summed from its runs instead.

let t: TestApp;
/** Admin and CI tokens: the clock moves by days, past any JWT's life. */
let admin: { auth: { authorization: string } };
let ci: { auth: { authorization: string } };
const base = '/api/v1/orgs/days/projects/app';
const D = new Date('2026-05-04T00:00:00.000Z');
const HOUR = 3_600_000;
const at = (hours: number) => new Date(D.getTime() + hours * HOUR);

const xml = (passed: number, failed: number, ms = 100) =>
  `<testsuite name="s">${[
    ...Array.from(
      { length: passed },
      (_, i) => `<testcase classname="c" name="p${i}" time="${ms / 1000}"/>`,
    ),
    ...Array.from(
      { length: failed },
      (_, i) => `<testcase classname="c" name="f${i}"><failure message="no"/></testcase>`,
    ),
  ].join('')}</testsuite>`;

async function upload(query: string, body: string) {
  const res = await t.app.inject({
    method: 'POST',
    url: `${base}/runs?${query}`,
    headers: { ...ci.auth, 'content-type': 'application/xml' },
    payload: body,
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json<{ id: string; status: string }>();
}

interface Bucket {
  start: string;
  runs: number;
  tests: number;
  passed: number;
  failed: number;
}

async function trends(from: Date, to: Date, query = ''): Promise<[string, number, number][]> {
  const res = await t.app.inject({
    method: 'GET',
    url: `${base}/trends?bucket=day&from=${from.toISOString()}&to=${to.toISOString()}${query}`,
    headers: admin.auth,
  });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<{ items: Bucket[] }>().items.map((b) => [b.start.slice(0, 10), b.runs, b.passed]);
}

/** The day totals and the same sums made from the runs, read under the app (as the owner). */
async function dayTotals() {
  const db = t.database.db;
  const cols = sql`runs, tests, passed, failed, errored, skipped, flaky,
    round(duration_ms::numeric, 3)::float8 AS duration_ms`;
  const { rows: kept } = await sql<Record<string, unknown>>`
    SELECT org_id, project_id, branch, day::text AS day, ${cols}
    FROM (SELECT org_id, project_id, branch, day, runs, tests::int, passed::int, failed::int,
            errored::int, skipped::int, flaky::int, duration_ms
          FROM run_day_totals WHERE runs > 0) d
    ORDER BY 1, 2, 3, 4`.execute(db);
  const { rows: summed } = await sql<Record<string, unknown>>`
    SELECT org_id, project_id, branch, day::text AS day, ${cols}
    FROM (SELECT org_id, project_id, branch, (completed_at AT TIME ZONE 'UTC')::date AS day,
            count(*)::int AS runs, sum(tests)::int AS tests, sum(passed)::int AS passed,
            sum(failed)::int AS failed, sum(errored)::int AS errored,
            sum(skipped)::int AS skipped, sum(flaky)::int AS flaky, sum(duration_ms) AS duration_ms
          FROM test_runs
          WHERE status = 'complete' AND completed_at IS NOT NULL AND branch IS NOT NULL
          GROUP BY 1, 2, 3, 4) r
    ORDER BY 1, 2, 3, 4`.execute(db);
  return { kept, summed };
}

async function expectTotalsOfRuns() {
  const { kept, summed } = await dayTotals();
  expect(summed.length).toBeGreaterThan(0);
  expect(kept).toEqual(summed);
}

beforeAll(async () => {
  t = await startTestApp();
  const owner = await ownerOfNewOrg(t.app, 'days');
  const project = await t.app.inject({
    method: 'POST',
    url: '/api/v1/orgs/days/projects',
    headers: owner.auth,
    payload: { key: 'app', name: 'App', defaultBranch: 'main' },
  });
  expect(project.statusCode, project.body).toBe(201);
  admin = await apiToken(t.app, owner, 'days', 'admin');
  ci = await apiToken(t.app, owner, 'days');
  // Day D: run A at 08:00 (3 passed, 1 failed), run B at 09:00 (2 passed); day D+1: run C at
  // 07:00 (1 passed). A feature-branch run and a run without a branch on day D.
  t.clock.set(at(8));
  await upload('branch=main&build=A', xml(3, 1));
  t.clock.set(at(9));
  await upload('branch=main&build=B', xml(2, 0));
  t.clock.set(at(10));
  await upload('branch=feature&build=F', xml(1, 1));
  await upload('build=nobranch', xml(5, 0));
  t.clock.set(at(24 + 7));
  await upload('branch=main&build=C', xml(1, 0));
});
afterAll(() => t.close());

describe('the day totals', () => {
  it('equal the sums of the complete runs, per branch and day', async () => {
    await expectTotalsOfRuns();
    const { kept } = await dayTotals();
    expect(kept.map((r) => [r.branch, r.day, r.runs, r.passed])).toEqual([
      ['feature', '2026-05-04', 1, 1],
      ['main', '2026-05-04', 2, 5],
      ['main', '2026-05-05', 1, 1],
    ]);
  });

  it('follow a run joined by another upload, even into the next day', async () => {
    t.clock.set(at(24 + 20));
    const first = await upload('branch=main&build=matrix', xml(2, 0));
    await expectTotalsOfRuns();
    // After midnight: the run completes again on day D+2 and leaves D+1.
    t.clock.set(at(48 + 1));
    const second = await upload('branch=main&build=matrix', xml(0, 3));
    expect(second.id).toBe(first.id);
    await expectTotalsOfRuns();
    expect(await trends(at(24), at(72 - 1))).toEqual([
      ['2026-05-05', 1, 1],
      ['2026-05-06', 1, 2],
    ]);
  });

  it('leave out a sharded run until its last shard, then count all of it', async () => {
    t.clock.set(at(48 + 2));
    const open = await upload('branch=main&build=sharded&shards=2', xml(4, 0));
    expect(open.status).toBe('open');
    await expectTotalsOfRuns();
    expect((await trends(at(48), at(72 - 1)))[0]).toEqual(['2026-05-06', 1, 2]);
    const done = await upload('branch=main&build=sharded&shards=2', xml(1, 1));
    expect(done.status).toBe('complete');
    await expectTotalsOfRuns();
    expect((await trends(at(48), at(72 - 1)))[0]).toEqual(['2026-05-06', 2, 7]);
  });

  it('follow a run reopened, moved or deleted, and count every upload of a burst', async () => {
    const db = t.database.db;
    const { rows } = await sql<{ id: string }>`
      SELECT id FROM test_runs WHERE build = 'sharded'`.execute(db);
    const sharded = rows[0]!.id;
    await sql`UPDATE test_runs SET status = 'open', completed_at = NULL WHERE id = ${sharded}`.execute(
      db,
    );
    await expectTotalsOfRuns();
    await sql`UPDATE test_runs SET status = 'complete', completed_at = ${at(5)}, branch = 'feature'
      WHERE id = ${sharded}`.execute(db);
    await expectTotalsOfRuns();
    // Several changes of one run in one transaction count once.
    await db.transaction().execute(async (trx) => {
      await sql`UPDATE test_runs SET branch = 'main' WHERE id = ${sharded}`.execute(trx);
      await sql`UPDATE test_runs SET completed_at = ${at(48 + 3)} WHERE id = ${sharded}`.execute(
        trx,
      );
      await sql`UPDATE test_runs SET passed = passed + 1, tests = tests + 1 WHERE id = ${sharded}`.execute(
        trx,
      );
    });
    await expectTotalsOfRuns();
    // A transaction rolled back leaves the totals as they were.
    const before = await dayTotals();
    await expect(
      db.transaction().execute(async (trx) => {
        await sql`DELETE FROM result_details WHERE run_id = ${sharded}`.execute(trx);
        await sql`DELETE FROM test_runs WHERE id = ${sharded}`.execute(trx);
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    expect(await dayTotals()).toEqual(before);

    const del = await t.app.inject({
      method: 'DELETE',
      url: `${base}/runs/${sharded}`,
      headers: admin.auth,
    });
    expect(del.statusCode, del.body).toBe(204);
    await expectTotalsOfRuns();
    expect((await trends(at(48), at(72 - 1)))[0]).toEqual(['2026-05-06', 1, 2]);

    // Eight uploads of one branch at once, all on day D+3.
    t.clock.set(at(72 + 12));
    await Promise.all(
      Array.from({ length: 8 }, (_, i) => upload(`branch=main&build=burst-${i}`, xml(1, 1))),
    );
    await expectTotalsOfRuns();
    expect(await trends(at(72), at(96 - 1))).toEqual([['2026-05-07', 8, 8]]);
  });
});

describe('trends over a range that cuts a day', () => {
  it('sum the cut days from their runs in the range, whole days from the day totals', async () => {
    // Day D holds A (08:00, 3 passed) and B (09:00, 2 passed); D+1 holds C (07:00, 1 passed).
    expect(await trends(at(8.5), at(48 - 1))).toEqual([
      ['2026-05-04', 1, 2],
      ['2026-05-05', 1, 1],
    ]);
    expect(await trends(at(0), at(8.5))).toEqual([['2026-05-04', 1, 3]]);
    expect(await trends(at(8.5), at(8.75))).toEqual([['2026-05-04', 0, 0]]);
    expect(await trends(at(8), at(9))).toEqual([['2026-05-04', 2, 5]]);
    expect(await trends(at(0), at(24 + 6))).toEqual([
      ['2026-05-04', 2, 5],
      ['2026-05-05', 0, 0],
    ]);
    expect(await trends(at(0), at(24), '&branch=feature')).toEqual([
      ['2026-05-04', 1, 1],
      ['2026-05-05', 0, 0],
    ]);

    // Whole days are read from the day totals (a tampered row shows), a cut day from its runs.
    const db = t.database.db;
    await sql`UPDATE run_day_totals SET passed = passed + 100
      WHERE branch = 'main' AND day = '2026-05-04'`.execute(db);
    try {
      expect(await trends(at(0), at(24 - 1))).toEqual([['2026-05-04', 2, 105]]);
      expect(await trends(at(8.5), at(24 - 1))).toEqual([['2026-05-04', 1, 2]]);
      expect(await trends(at(0), at(8.5))).toEqual([['2026-05-04', 1, 3]]);
    } finally {
      await sql`UPDATE run_day_totals SET passed = passed - 100
        WHERE branch = 'main' AND day = '2026-05-04'`.execute(db);
    }
  });
});

describe('migration 0017 (run day totals)', () => {
  it('sums the runs already complete, and trends answer as before', async () => {
    const db = t.database.db;
    const range: [Date, Date] = [at(-24), at(96)];
    const before = await trends(...range);
    const totalsBefore = await dayTotals();
    await migrateOut(db, '0017_run_day_totals');
    await migrateBackIn(db, '0017_run_day_totals');
    expect(await dayTotals()).toEqual(totalsBefore);
    await expectTotalsOfRuns();
    expect(await trends(...range)).toEqual(before);
    expect(before.reduce((n, [, runs]) => n + runs, 0)).toBe(12);
  });
});
