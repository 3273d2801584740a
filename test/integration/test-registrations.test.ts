import { sql, type Transaction } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withOrgAsSystem } from '../../src/db/system.ts';
import type { DB } from '../../src/db/types.ts';
import { KnownOrds } from '../../src/modules/runs/known-ords.ts';
import { createRegistrar } from '../../src/modules/runs/registrar.ts';
import {
  lockForRegistration,
  lookupOrds,
  ordsOfRegistration,
  registerTests,
  testKey,
} from '../../src/modules/runs/runs.queries.ts';
import { apiToken, ownerOfNewOrg, type Session } from '../helpers/actors.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { migrateBackIn, migrateOut } from '../helpers/migrations.ts';
import { waitFor } from '../helpers/wait.ts';

// New tests are registered in a short transaction of their own (concurrent uploads of the
// same new tests never wait for each other's commit) and recorded as a pending registration
// of their ords; the upload that made it deletes it in its own transaction. A test counts as
// the project's once an upload holding it commits: its registration is gone, or that upload
// marked it stored while another upload's registration was still pending.

let t: TestApp;
let owner: Session & { orgId: string };
let ci: { auth: { authorization: string } };
let projectId: string;
const base = '/api/v1/orgs/regs/projects/app';

const doc = (names: string[], suite = 's') =>
  `<testsuite name="${suite}">${names.map((n) => `<testcase classname="c.C" name="${n}"/>`).join('')}</testsuite>`;
const names = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

async function upload(xml: string, build: string) {
  const res = await t.app.inject({
    method: 'POST',
    url: `${base}/runs?build=${build}`,
    headers: { ...ci.auth, 'content-type': 'application/xml' },
    payload: xml,
  });
  expect(res.statusCode, res.body).toBe(201);
}

/** The names the project's test list shows, every page of it. */
async function listed(): Promise<string[]> {
  const out: string[] = [];
  let cursor: string | null = null;
  do {
    const page: { statusCode: number; body: string; json: <T>() => T } = await t.app.inject({
      method: 'GET',
      url: `${base}/tests?limit=200${cursor === null ? '' : `&cursor=${cursor}`}`,
      headers: owner.auth,
    });
    expect(page.statusCode, page.body).toBe(200);
    const body: { items: { name: string }[]; nextCursor: string | null } = page.json();
    out.push(...body.items.map((i) => i.name));
    cursor = body.nextCursor;
  } while (cursor !== null);
  return out.sort();
}

/** What an upload that never commits leaves: its new tests registered, the registration pending. */
function abandonedRegistration(testNames: string[]) {
  return withOrgAsSystem(t.database.db, owner.orgId, { reason: 'test' }, async (trx) => {
    await lockForRegistration(trx, projectId);
    return registerTests(
      trx,
      owner.orgId,
      projectId,
      testNames.map((name) => ({
        key: testKey(projectId, { suitePath: 's', classname: 'c.C', name }),
        suite: 's',
        classname: 'c.C',
        name,
      })),
      null,
    );
  });
}

const historyOf = (name: string, suite = 's') =>
  t.app.inject({
    method: 'GET',
    url: `${base}/tests/${testKey(projectId, { suitePath: suite, classname: 'c.C', name })}/history`,
    headers: owner.auth,
  });

const pending = async () =>
  (
    await sql<{ n: number }>`SELECT count(*)::int AS n FROM test_registrations`.execute(
      t.database.db,
    )
  ).rows[0]!.n;

beforeAll(async () => {
  t = await startTestApp();
  owner = await ownerOfNewOrg(t.app, 'regs');
  const project = await t.app.inject({
    method: 'POST',
    url: '/api/v1/orgs/regs/projects',
    headers: owner.auth,
    payload: { key: 'app', name: 'App', defaultBranch: 'main' },
  });
  expect(project.statusCode).toBe(201);
  projectId = project.json<{ id: string }>().id;
  ci = await apiToken(t.app, owner, 'regs');
});
afterAll(() => t.close());

describe('registering new tests', () => {
  it('stores an upload’s new tests with it and leaves no registration pending', async () => {
    await upload(doc(names('a', 300)), 'b1');
    expect(await listed()).toEqual(names('a', 300).sort());
    expect(await pending()).toBe(0);
  });

  it('keeps the tests of a registration whose upload never committed out of the list and history', async () => {
    const reg = await abandonedRegistration(names('b', 20));
    expect(reg.firstOrd).toBe(300);
    expect(await pending()).toBe(1);
    expect(await listed()).toEqual(names('a', 300).sort());
    expect((await historyOf('b3')).statusCode).toBe(404);
  });

  it('stores the tests another upload uses from a pending registration, one by one, and only those', async () => {
    // b0..b9 of the abandoned registration, plus new ones.
    await upload(doc([...names('b', 10), ...names('c', 5)]), 'b2');
    const shown = await listed();
    expect(shown).toEqual([...names('a', 300), ...names('b', 10), ...names('c', 5)].sort());
    expect(shown).not.toContain('b15');
    expect((await historyOf('b3')).statusCode).toBe(200);
    expect((await historyOf('b15')).statusCode).toBe(404);
    // The abandoned registration stays (its other tests are still unstored); b2's is gone.
    expect(await pending()).toBe(1);
    // Their ords are the abandoned registration's: registered once, never twice.
    const { rows } = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM tests WHERE project_id = ${projectId}`.execute(t.database.db);
    expect(rows[0]!.n).toBe(325);
  });

  it('gives tests another registration already made their ords, and registers only the rest', async () => {
    const first = await abandonedRegistration(names('d', 5));
    const again = await abandonedRegistration([...names('d', 5), 'e0']);
    expect(again.firstOrd).toBe(first.firstOrd! + 5);
    const firstOrds = ordsOfRegistration(first);
    const againOrds = ordsOfRegistration(again);
    expect(firstOrds.size).toBe(5);
    for (const [key, ord] of firstOrds) expect(againOrds.get(key)).toBe(ord);
    const e0 = testKey(projectId, { suitePath: 's', classname: 'c.C', name: 'e0' });
    expect(againOrds.get(e0)).toBe(first.firstOrd! + 5);
    // The tests of the first registration are pending: the second caller must store them itself.
    expect(again.unstored.sort((x, y) => x - y)).toEqual(
      [...firstOrds.values()].sort((x, y) => x - y),
    );
  });
});

describe('uploads of the same new tests at once', () => {
  it('gives each test one ord and every upload all of its results', async () => {
    // 6,000 tests: two batches each, the second repeating ten of the first's tests.
    const shared = [...names('f', 6000), ...names('f', 10)];
    const builds = ['m1', 'm2', 'm3', 'm4'];
    const answers = await Promise.all(
      builds.map((build) =>
        t.app.inject({
          method: 'POST',
          url: `${base}/runs?build=${build}`,
          headers: { ...ci.auth, 'content-type': 'application/xml' },
          payload: doc(shared, 'shared'),
        }),
      ),
    );
    for (const res of answers) {
      expect(res.statusCode, res.body).toBe(201);
      expect(res.json<{ totals: { tests: number } }>().totals.tests).toBe(6010);
    }
    const { rows } = await sql<{ n: number; keys: number; ords: number }>`
      SELECT count(*)::int AS n, count(DISTINCT test_key)::int AS keys, count(DISTINCT ord)::int AS ords
      FROM tests WHERE project_id = ${projectId} AND suite = 'shared'`.execute(t.database.db);
    expect(rows[0]).toEqual({ n: 6000, keys: 6000, ords: 6000 });
    const listedNames = await listed();
    expect(listedNames.filter((n) => n.startsWith('f')).length).toBe(6000);
    // Each run holds every result: each test once, and the ten repeats.
    for (const res of answers) {
      const id = res.json<{ id: string }>().id;
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: { statusCode: number; json: <T>() => T } = await t.app.inject({
          method: 'GET',
          url: `${base}/runs/${id}/results?limit=1000${cursor === null ? '' : `&cursor=${cursor}`}`,
          headers: owner.auth,
        });
        expect(page.statusCode).toBe(200);
        const body: { items: { name: string }[]; nextCursor: string | null } = page.json();
        seen.push(...body.items.map((i) => i.name));
        cursor = body.nextCursor;
      } while (cursor !== null);
      expect(seen.sort()).toEqual([...shared].sort());
    }
  });
});

describe('the ords a server process knows', () => {
  const keysOf = (testNames: string[]) =>
    testNames.map((name) => testKey(projectId, { suitePath: 's', classname: 'c.C', name }));
  const inOrg = <T>(fn: (trx: Transaction<DB>) => Promise<T>) =>
    withOrgAsSystem(t.database.db, owner.orgId, { reason: 'test' }, fn);

  it('answers what PostgreSQL answers, and keeps no project too large for it', async () => {
    // a1 stored, b3 stored one by one, b15 and d2 still pending, one key never seen.
    const keys = keysOf(['a1', 'b3', 'b15', 'd2', 'never seen']);
    await inOrg(async (trx) => {
      const fromDb = await lookupOrds(trx, owner.orgId, projectId, keys);
      const fromMemory = await new KnownOrds(100_000).lookup(trx, owner.orgId, projectId, keys);
      expect(fromMemory).toBeDefined();
      expect(fromMemory!.ords).toEqual(fromDb.ords);
      expect(fromMemory!.next).toBe(fromDb.next);
      const sorted = (xs: number[]) => [...xs].sort((x, y) => x - y);
      expect(sorted(fromMemory!.unstored)).toEqual(sorted(fromDb.unstored));
      expect(fromDb.ords.size).toBe(4);
      expect(fromDb.unstored.length).toBe(2);
      // 6,331 tests: more than a quarter of a 1,000-test bound.
      expect(await new KnownOrds(1000).lookup(trx, owner.orgId, projectId, keys)).toBeUndefined();
    });
  });

  it('learns a registration made from its next ord, and forgets the project when others registered between', async () => {
    const known = new KnownOrds(100_000);
    await inOrg((trx) => known.lookup(trx, owner.orgId, projectId, []));
    const next = known.peek(owner.orgId, projectId, [])!.next;
    const given = (key: string) => ({ key, suite: 's', classname: 'c', name: key });
    known.registered(owner.orgId, projectId, next, {
      tests: [given('a'.repeat(32)), given('b'.repeat(32))],
      found: new Map(),
      firstOrd: next,
      lastOrd: next + 1,
      unstored: [],
    });
    expect(
      known.peek(owner.orgId, projectId, ['a'.repeat(32), 'b'.repeat(32), 'c'.repeat(32)]),
    ).toEqual({
      ords: new Map([
        ['a'.repeat(32), next],
        ['b'.repeat(32), next + 1],
      ]),
      next: next + 2,
    });
    // Tests another process registered came first: this one no longer knows every ord.
    known.registered(owner.orgId, projectId, next + 2, {
      tests: [given('c'.repeat(32))],
      found: new Map(),
      firstOrd: next + 9,
      lastOrd: next + 9,
      unstored: [],
    });
    expect(known.peek(owner.orgId, projectId, [])).toBeUndefined();
  });
});

describe('migration 0016 (test registrations)', () => {
  it('keeps tests that were never stored under the old flag unlisted, and the others listed', async () => {
    const db = t.database.db;
    const before = await listed();
    // Back to the previous migration (its own down): no registrations, the flag on every test.
    await migrateOut(db, '0016_test_registrations');
    const unstored = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM tests WHERE project_id = ${projectId} AND NOT stored`.execute(
      db,
    );
    // b10..b19 and d0..d4, e0 were never stored.
    expect(unstored.rows[0]!.n).toBe(16);

    await migrateBackIn(db, '0016_test_registrations');
    expect(await listed()).toEqual(before);
    expect(await pending()).toBe(16);
    // An upload holding one of them stores it.
    await upload(doc(['b12']), 'b3');
    expect(await listed()).toEqual([...before, 'b12'].sort());
  });
});

// After the migration test, which counts the project's unstored tests.
describe('the registrations of one upload', () => {
  /** Transactions of this database left open and idle: an upload must leave none behind. */
  const idleInTransaction = async () =>
    (
      await sql<{ n: number }>`
        SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND state LIKE 'idle in transaction%'`.execute(
        t.database.db,
      )
    ).rows[0]!.n;

  it('registers 12,000 new tests in the order given, all stored by the upload, and closes its transaction', async () => {
    // Three batches, registered as they are parsed.
    const pendingBefore = await pending();
    await upload(doc(names('g', 12_000), 'batches'), 'g1');
    const { rows } = await sql<{ n: number; ords: number; span: number }>`
      SELECT count(*)::int AS n, count(DISTINCT ord)::int AS ords,
        (max(ord) - min(ord) + 1)::int AS span
      FROM tests WHERE project_id = ${projectId} AND suite = 'batches'`.execute(t.database.db);
    // Consecutive ords, in the order the upload gave the tests.
    expect(rows[0]).toEqual({ n: 12_000, ords: 12_000, span: 12_000 });
    for (const name of ['g0', 'g5000', 'g11999'])
      expect((await historyOf(name, 'batches')).statusCode).toBe(200);
    expect(await pending()).toBe(pendingBefore);
    expect(await idleInTransaction()).toBe(0);
  });

  it('registers a new test once when the upload repeats it later, in another batch', async () => {
    // Asked for while the file is parsed: the repeats come after their first sight was
    // asked for (or registered), 5,000 testcases and more later.
    const pendingBefore = await pending();
    const xml = doc([...names('n', 6000), ...names('n', 100)], 'repeats');
    await upload(xml, 'n1');
    const { rows } = await sql<{ n: number; ords: number; span: number; repeats: number }>`
      SELECT count(*)::int AS n, count(DISTINCT ord)::int AS ords,
        (max(ord) - min(ord) + 1)::int AS span,
        (SELECT count(*)::int FROM result_details d
         WHERE d.project_id = ${projectId} AND d.duplicate
           AND d.ord BETWEEN min(t.ord) AND max(t.ord)) AS repeats
      FROM tests t WHERE project_id = ${projectId} AND suite = 'repeats'`.execute(t.database.db);
    expect(rows[0]).toEqual({ n: 6000, ords: 6000, span: 6000, repeats: 100 });
    expect(await pending()).toBe(pendingBefore);
    expect((await historyOf('n99', 'repeats')).statusCode).toBe(200);
    expect(await idleInTransaction()).toBe(0);
  });

  it('leaves the registrations of a refused upload pending and no transaction open', async () => {
    const before = await pending();
    // 7,000 new tests, then XML that breaks: the first batch was registered by then.
    const broken = doc(names('h', 7000), 'refused').replace('</testsuite>', '<testcase name=');
    const res = await t.app.inject({
      method: 'POST',
      url: `${base}/runs?build=h1`,
      headers: { ...ci.auth, 'content-type': 'application/xml' },
      payload: broken,
    });
    expect(res.statusCode, res.body).toBe(400);
    expect(await pending()).toBeGreaterThan(before);
    expect((await historyOf('h0', 'refused')).statusCode).toBe(404);
    expect(await idleInTransaction()).toBe(0);
  });

  it('fails every registration with the door’s refusal, and still closes', async () => {
    const registrar = createRegistrar(
      t.database.db,
      '00000000-0000-7000-8000-000000000000',
      projectId,
      { preOpen: () => true },
    );
    const tests = [{ key: 'ab'.repeat(16), suite: 's', classname: 'c', name: 'n' }];
    await expect(registrar.register(tests, null)).rejects.toThrow(/Organization not found/);
    await expect(registrar.register(tests, null)).rejects.toThrow(/Organization not found/);
    await registrar.close();
    await registrar.close();
    expect(await idleInTransaction()).toBe(0);
  });

  it('refuses registrations once closed, having committed those it made', async () => {
    const registrar = createRegistrar(t.database.db, owner.orgId, projectId, {
      preOpen: () => true,
    });
    const key = testKey(projectId, { suitePath: 's', classname: 'c.C', name: 'i0' });
    const made = await registrar.register(
      [{ key, suite: 's', classname: 'c.C', name: 'i0' }],
      null,
    );
    // Committed when it resolves: another connection sees the registration.
    const { rows } = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM test_registrations WHERE first_ord = ${made.firstOrd}`.execute(
      t.database.db,
    );
    expect(rows[0]!.n).toBe(1);
    await registrar.close();
    await expect(registrar.register([], null)).rejects.toThrow(/closed/);
    expect(await idleInTransaction()).toBe(0);
  });

  const newTest = (name: string) => ({
    key: testKey(projectId, { suitePath: 's', classname: 'c.C', name }),
    suite: 's',
    classname: 'c.C',
    name,
  });

  it('makes registrations asked meanwhile together, from the next ord known, and commits them on close', async () => {
    let next: number | null = null;
    const seen: (number | null)[] = [];
    const registrar = createRegistrar(t.database.db, owner.orgId, projectId, {
      preOpen: () => false,
      // m1 was registered meanwhile as far as this registrar knows: left out.
      prepare: (tests) => ({ tests: tests.filter((x) => x.name !== 'm1'), seenNext: next }),
      onRegistered: (seenNext, made) => {
        seen.push(seenNext);
        next = made.lastOrd! + 1;
      },
    });
    const { rows: before } = await sql<{ next: number }>`
      SELECT coalesce(max(ord) + 1, 0)::int AS next FROM tests WHERE project_id = ${projectId}`.execute(
      t.database.db,
    );
    next = before[0]!.next;
    // Asked one after another without waiting: one statement, one pending registration.
    const [a, b] = await Promise.all([
      registrar.register([newTest('m0'), newTest('m1')]),
      registrar.register([newTest('m2')]),
    ]);
    expect(a).toBe(b);
    expect(a.firstOrd).toBe(before[0]!.next);
    expect(a.lastOrd).toBe(before[0]!.next + 1);
    expect(ordsOfRegistration(a).get(newTest('m2').key)).toBe(before[0]!.next + 1);
    expect(ordsOfRegistration(a).has(newTest('m1').key)).toBe(false);
    expect(seen).toEqual([before[0]!.next]);
    // The next one starts from the next ord learned from the first.
    const c = await registrar.register([newTest('m3')]);
    expect(c.firstOrd).toBe(before[0]!.next + 2);
    await registrar.close();
    const { rows } = await sql<{ first_ord: number; last_ord: number }>`
      SELECT first_ord, last_ord FROM test_registrations
      WHERE project_id = ${projectId} AND first_ord >= ${before[0]!.next} ORDER BY first_ord`.execute(
      t.database.db,
    );
    expect(rows).toEqual([
      { first_ord: before[0]!.next, last_ord: before[0]!.next + 1 },
      { first_ord: before[0]!.next + 2, last_ord: before[0]!.next + 2 },
    ]);
    expect(await idleInTransaction()).toBe(0);
  });

  it('opens the next transaction ahead only when the pool can spare the connection', async () => {
    let spare = true;
    const registrar = createRegistrar(t.database.db, owner.orgId, projectId, {
      preOpen: () => spare,
    });
    // Spare: a transaction waits for the registration, open before it comes.
    await waitFor(async () => ((await idleInTransaction()) === 1 ? true : undefined));
    await registrar.register([newTest('j0')], null);
    spare = false;
    // The one opened ahead after that commit (asked before `spare` changed) takes the next...
    await registrar.register([newTest('j1')], null);
    // ...and after it none is opened until a registration comes.
    expect(await idleInTransaction()).toBe(0);
    await registrar.register([newTest('j2')], null);
    await registrar.close();
    expect(await idleInTransaction()).toBe(0);
    const { rows } = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM tests
      WHERE project_id = ${projectId} AND name IN ('j0', 'j1', 'j2')`.execute(t.database.db);
    expect(rows[0]!.n).toBe(3);
  });

  it('opens no transaction ahead once told no registration is expected, until one is asked', async () => {
    const registrar = createRegistrar(t.database.db, owner.orgId, projectId, {
      preOpen: () => true,
    });
    await waitFor(async () => ((await idleInTransaction()) === 1 ? true : undefined));
    const made = registrar.register([newTest('p0')], null);
    registrar.idle();
    await made;
    expect(await idleInTransaction()).toBe(0);
    // Asked again: made in a transaction opened for it, and the next one opened ahead.
    await registrar.register([newTest('p1')], null);
    await waitFor(async () => ((await idleInTransaction()) === 1 ? true : undefined));
    await registrar.close();
    expect(await idleInTransaction()).toBe(0);
  });

  it('makes a registration again when the transaction opened ahead for it ended while it waited', async () => {
    const registrar = createRegistrar(t.database.db, owner.orgId, projectId, {
      preOpen: () => true,
    });
    await waitFor(async () => ((await idleInTransaction()) === 1 ? true : undefined));
    // As a server's idle_in_transaction_session_timeout would.
    await sql`
      SELECT pg_terminate_backend(pid) FROM pg_stat_activity
      WHERE datname = current_database() AND state LIKE 'idle in transaction%'`.execute(
      t.database.db,
    );
    const made = await registrar.register([newTest('k0')], null);
    expect(made.firstOrd).not.toBeNull();
    await registrar.close();
    const { rows } = await sql<{ ord: number }>`
      SELECT ord FROM tests WHERE project_id = ${projectId} AND name = 'k0'`.execute(t.database.db);
    expect(rows).toEqual([{ ord: made.firstOrd }]);
    expect(await idleInTransaction()).toBe(0);
  });
});
