import { sql, type Transaction } from 'kysely';
import type { DB } from '../../src/db/types.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withOrgAsSystem } from '../../src/db/system.ts';
import {
  lookupOrds,
  probingKeys,
  testKey,
  testsByKeyStatement,
  testsByOrdStatement,
} from '../../src/modules/runs/runs.queries.ts';
import { migrateBackIn, migrateOut } from '../helpers/migrations.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { ownerOfNewOrg } from '../helpers/actors.ts';

// A project's tests found by ord (judging a run's failures, paging its results) must be
// primary-key lookups even before PostgreSQL has statistics for `tests` — a new project's
// first minute. With another unique index leading with (org_id, project_id), the planner took
// that one and filtered every test of the project for each ord: 2,500 ords of 25,000 tests
// took 11 s, and an upload judged in that minute hit the statement timeout (a 503).

let t: TestApp;
let orgId: string;
let projectId: string;

beforeAll(async () => {
  t = await startTestApp();
  const owner = await ownerOfNewOrg(t.app, 'plans');
  const created = await t.app.inject({
    method: 'POST',
    url: '/api/v1/orgs/plans/projects',
    headers: owner.auth,
    payload: { key: 'young', name: 'Young' },
  });
  expect(created.statusCode, created.body).toBe(201);
  const cases = Array.from({ length: 3000 }, (_, i) =>
    i % 10 === 3
      ? `<testcase classname="c.C${i % 40}" name="t${i}"><failure message="no"/></testcase>`
      : `<testcase classname="c.C${i % 40}" name="t${i}"/>`,
  ).join('');
  const up = await t.app.inject({
    method: 'POST',
    url: '/api/v1/orgs/plans/projects/young/runs?build=b1',
    headers: { ...owner.auth, 'content-type': 'application/xml' },
    payload: `<testsuite name="s">${cases}</testsuite>`,
  });
  expect(up.statusCode, up.body).toBe(201);
  const ids = await sql<{ org_id: string; id: string }>`
    SELECT p.org_id, p.id FROM projects p JOIN orgs o ON o.id = p.org_id
    WHERE o.slug = 'plans' AND p.key = 'young'`.execute(t.database.db);
  orgId = ids.rows[0]!.org_id;
  projectId = ids.rows[0]!.id;
});
afterAll(() => t.close());

describe('finding tests by ord on a table without statistics', () => {
  it('looks each ord up through the primary key, never by filtering the project’s tests', async () => {
    const stats = await sql<{ n: string }>`
      SELECT count(*)::text AS n FROM pg_stats WHERE tablename = 'tests'`.execute(t.database.db);
    // The premise: nothing has analyzed the table yet.
    expect(stats.rows[0]!.n).toBe('0');
    const ords = Array.from({ length: 300 }, (_, i) => 3 + i * 10);
    const plan = await withOrgAsSystem(t.database.db, orgId, { reason: 'plan test' }, (trx) =>
      sql<{ 'QUERY PLAN': string }>`EXPLAIN ${testsByOrdStatement(orgId, projectId, ords)}`
        .execute(trx)
        .then((r) => r.rows.map((row) => row['QUERY PLAN']).join('\n')),
    );
    expect(plan).toMatch(/Index Scan using tests_pkey on tests/);
    expect(plan).toMatch(/Index Cond: .*ord = u\.ord/);
    expect(plan).not.toMatch(/Filter: \(ord = u\.ord\)/);
  });

  it('answers the run’s failures with their names', async () => {
    const found = await withOrgAsSystem(t.database.db, orgId, { reason: 'plan test' }, (trx) =>
      testsByOrdStatement(orgId, projectId, [3, 13, 2993]).execute(trx),
    );
    expect(found.rows.map((r) => [r.ord, r.name])).toEqual([
      [3, 't3'],
      [13, 't13'],
      [2993, 't2993'],
    ]);
  });
});

// Test keys are unique through a hash index (migration 0018), which answers `test_key = $1`
// but not `test_key = ANY(array)`: lookups of many keys must probe it once a key, never
// filter the project's tests for every key.
describe('finding tests by key', () => {
  const keyOf = (i: number) =>
    testKey(projectId, { suitePath: 's', classname: `c.C${i % 40}`, name: `t${i}` });
  const inOrg = <T>(fn: Parameters<typeof withOrgAsSystem<T>>[3]) =>
    withOrgAsSystem(t.database.db, orgId, { reason: 'plan test' }, fn);

  it('probes the test key’s hash index once a key on a table without statistics', async () => {
    const stats = await sql<{ n: string }>`
      SELECT count(*)::text AS n FROM pg_stats WHERE tablename = 'tests'`.execute(t.database.db);
    expect(stats.rows[0]!.n).toBe('0');
    const keys = Array.from({ length: 300 }, (_, i) => keyOf(i * 10));
    const explain = (trx: Transaction<DB>) =>
      sql<{ 'QUERY PLAN': string }>`EXPLAIN ${testsByKeyStatement(orgId, projectId, keys)}`
        .execute(trx)
        .then((r) => r.rows.map((row) => row['QUERY PLAN']).join('\n'));
    const [plan, setting] = await inOrg(async (trx) => {
      const probed = await probingKeys(trx, () => explain(trx));
      const after = await sql<{
        s: string;
      }>`SELECT current_setting('enable_bitmapscan') AS s`.execute(trx);
      return [probed, after.rows[0]!.s] as const;
    });
    // Put back for the rest of the transaction.
    expect(setting).toBe('on');
    expect(plan).toMatch(/Index Scan using tests_key_hash on tests/);
    expect(plan).toMatch(/Index Cond: \(test_key = u\.key\)/);
    expect(plan).not.toMatch(/Seq Scan on tests/);
  });

  it('answers the same ords through the hash index as through the unique btree before it', async () => {
    const keys = [keyOf(0), keyOf(7), keyOf(2999), 'ab'.repeat(16)];
    const lookup = () => inOrg((trx) => lookupOrds(trx, orgId, projectId, keys));
    const now = await lookup();
    expect([...now.ords.entries()]).toEqual([
      [keyOf(0), 0],
      [keyOf(7), 7],
      [keyOf(2999), 2999],
    ]);
    expect(now.next).toBe(3000);
    await migrateOut(t.database.db, '0018_tests_key_hash');
    try {
      expect(await lookup()).toEqual(now);
    } finally {
      await migrateBackIn(t.database.db, '0018_tests_key_hash');
    }
    expect(await lookup()).toEqual(now);
  });

  it('refuses a second test with a key the project has', async () => {
    const duplicate = sql`
      INSERT INTO tests (org_id, project_id, ord, test_key, suite, classname, name)
      VALUES (${orgId}, ${projectId}, 5000, ${Buffer.from(keyOf(3), 'hex')}, 's', 'c.C3', 't3')`;
    await expect(duplicate.execute(t.database.db)).rejects.toMatchObject({ code: '23P01' });
  });
});
