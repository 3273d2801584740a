import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_ROLE } from '../../src/db/app-role.ts';
import type { TestCase } from '../../src/domain/junit.ts';
import { signatureOf } from '../../src/domain/triage.ts';
import { createJUnitParser } from '../../src/modules/runs/junit-parser.ts';
import { testKey } from '../../src/modules/runs/runs.queries.ts';
import { SEED_QUALITY_CONFIG } from '../../src/seed-quality-config.ts';
import { apiToken, ownerOfNewOrg, type Session } from '../helpers/actors.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { migrateBackIn } from '../helpers/migrations.ts';
import { storedResults } from '../helpers/stored-results.ts';

// The conversion of 0011_compact_results, checked against what the API answered before it:
// runs are uploaded through the real path, their answers recorded; the database is then put
// back to the previous migration with the same results in the old format (test_results,
// rows as the old upload inserted them), migrated again, and must answer the same.

let t: TestApp;
let owner: Session & { orgId: string };
let ci: { auth: { authorization: string } };
const base = '/api/v1/orgs/mig/projects/app';

const tc = (name: string, attrs = '', body = '', classname = 'app.OrgTest') =>
  `<testcase classname="${classname}" name="${name}"${attrs}${body === '' ? '/>' : `>${body}</testcase>`}`;
const doc = (cases: string[], suite = 'orgs') =>
  `<testsuites><testsuite name="${suite}"><testsuite name="inner">\n${cases.join('\n')}\n</testsuite></testsuite></testsuites>`;

/** 300 tests (two blocks of ords) with every kind of result the old table held. */
function firstRun(): string {
  const cases: string[] = [];
  for (let i = 0; i < 280; i++) cases.push(tc(`t${i}`, ` time="0.${(i * 7) % 1000}"`));
  cases.push(
    tc(
      'jwt',
      ' time="1.005"',
      '<failure type="AssertionError" message="JWT token structure invalid at 12:30:01">stack\n at jwt.ts:10</failure>',
    ),
    tc('db', ' time="0.2"', '<error type="Error" message="connect ECONNREFUSED 127.0.0.1:5432"/>'),
    tc('db2', ' time="0.3"', '<error type="Error" message="connect ECONNREFUSED 10.0.0.7:6432"/>'),
    tc('skipped-plain', ' time="0"', '<skipped/>'),
    tc('skipped-why', '', '<skipped message="not on CI"/>'),
    tc(
      'with-output',
      ' time="0.05"',
      '<system-out>hello</system-out><system-err>warn</system-err>',
    ),
    tc(
      'with-props',
      ' time="0.05"',
      '<properties><property name="owner" value="qa"/></properties>',
    ),
    tc('flaky', ' time="0.4"', '<flakyFailure type="Timeout" message="timed out once"/>'),
    tc(
      'rerun-fail',
      ' time="0.4"',
      '<failure message="still broken"/><rerunFailure message="broken again"/>',
    ),
    tc('no-time'),
    tc('very-long', ' time="5000.25"'),
    tc('twice', ' time="0.1"'),
    tc('twice', ' time="0.2"', '<failure message="second time fails"/>'),
    tc('t5', ' time="0.9"'),
    tc('weird-time', ' time="abc"'),
    tc('security', ' time="0.1"', '<failure message="token leaked"/>', 'app.SecurityTest'),
  );
  return doc(cases);
}

/** The same commit again, tests in reverse order: jwt passes now (flaky on the commit). */
function secondRun(): string {
  const cases: string[] = [];
  cases.push(tc('jwt', ' time="1.1"'));
  cases.push(
    tc('db', ' time="0.2"', '<error type="Error" message="connect ECONNREFUSED 127.0.0.1:5432"/>'),
  );
  for (let i = 279; i >= 0; i--) cases.push(tc(`t${i}`, ` time="0.${(i * 3) % 1000}"`));
  return doc(cases);
}

/** A later commit: a new failure (a regression), new tests, a test gone. */
function thirdRun(): string {
  const cases: string[] = [];
  for (let i = 0; i < 270; i++)
    cases.push(
      i === 42
        ? tc(`t${i}`, ' time="0.2"', '<failure message="expected 1 but was 2"/>')
        : tc(`t${i}`, ' time="0.01"'),
    );
  for (let i = 0; i < 20; i++) cases.push(tc(`new${i}`, ' time="0.02"'));
  return doc(cases);
}

/** Two shards of one run; the second repeats a test of the first. */
const shardA = () =>
  doc([
    tc('t0', ' time="0.1"'),
    tc('t1', ' time="0.1"'),
    tc('db', '', '<error message="ECONNREFUSED"/>'),
  ]);
const shardB = () =>
  doc([tc('t1', ' time="0.3"', '<failure message="shard two"/>'), tc('t2', ' time="0.1"')]);

const uploads: { query: string; xml: string }[] = [
  { query: 'issue=2&commit=c1&branch=main&build=b1', xml: firstRun() },
  { query: 'issue=2&commit=c1&branch=main&build=b2', xml: secondRun() },
  { query: 'issue=2&commit=c2&branch=main&build=b3', xml: thirdRun() },
  { query: 'issue=3&commit=c3&branch=feature&build=b4&shards=2', xml: shardA() },
  { query: 'issue=3&commit=c3&branch=feature&build=b4&shards=2', xml: shardB() },
];
const runIds: string[] = [];
/** The XML of each stored file, by file id. */
const fileXml = new Map<string, string>();

async function get(url: string) {
  const res = await t.app.inject({ method: 'GET', url, headers: ci.auth });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<Record<string, unknown>>();
}

type Page = { items: Record<string, unknown>[]; nextCursor: string | null };

/** Every result of a run, through pages of 7. */
async function allResults(runId: string, status?: string) {
  const items: Record<string, unknown>[] = [];
  let cursor: string | null = null;
  do {
    const q: string = `limit=7${status === undefined ? '' : `&status=${status}`}${cursor === null ? '' : `&cursor=${cursor}`}`;
    const page = (await get(`${base}/runs/${runId}/results?${q}`)) as unknown as Page;
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor !== null);
  return items;
}

/** What a reader sees: results in every filter and page, triage, gates, run totals. */
async function answers() {
  const out: Record<string, unknown> = {};
  for (const id of runIds) {
    out[`run ${id}`] = await get(`${base}/runs/${id}`);
    out[`results ${id}`] = await allResults(id);
    for (const status of ['passed', 'failed', 'error', 'skipped'])
      out[`results ${id} ${status}`] = await allResults(id, status);
    out[`first page ${id}`] = await get(`${base}/runs/${id}/results?limit=100`);
    out[`triage ${id}`] = await get(`${base}/runs/${id}/triage`);
  }
  for (const n of [2, 3]) out[`gates ${n}`] = await get(`${base}/issues/${n}/gates`);
  return out;
}

function parse(xml: string): TestCase[] {
  const cases: TestCase[] = [];
  const parser = createJUnitParser('f.xml', (c) => cases.push(c));
  parser.write(xml);
  parser.close();
  return cases;
}

/** The old table exactly as migrations 0002 and 0003 left it. */
async function recreateOldTable() {
  await sql`
    CREATE TABLE test_results (
      org_id uuid NOT NULL,
      id bigint GENERATED ALWAYS AS IDENTITY,
      run_id uuid NOT NULL,
      project_id uuid NOT NULL,
      file_id uuid NOT NULL,
      suite text NOT NULL,
      classname text NOT NULL,
      name text NOT NULL,
      test_key bytea NOT NULL,
      status text NOT NULL,
      duration_ms double precision,
      failure_type text,
      failure_message text,
      failure_text text,
      system_out text,
      system_err text,
      truncated boolean NOT NULL DEFAULT false,
      flaky boolean NOT NULL DEFAULT false,
      reruns jsonb,
      properties jsonb,
      PRIMARY KEY (org_id, id)
    );
    CREATE INDEX test_results_run_idx ON test_results (org_id, run_id, id);
    CREATE INDEX test_results_run_problems_idx ON test_results (org_id, run_id, status, id) WHERE status <> 'passed';
    ALTER TABLE test_results ADD COLUMN signature text;
    CREATE INDEX test_results_signature_idx ON test_results (org_id, project_id, signature, run_id) WHERE signature IS NOT NULL;
  `.execute(t.database.db);
  await sql
    .raw(
      `GRANT SELECT, INSERT, UPDATE, DELETE ON test_results TO ${APP_ROLE};
       ALTER TABLE test_results ENABLE ROW LEVEL SECURITY;
       ALTER TABLE test_results FORCE ROW LEVEL SECURITY;
       CREATE POLICY tenant_isolation ON test_results
         USING (org_id = app_org_id()) WITH CHECK (org_id = app_org_id());`,
    )
    .execute(t.database.db);
}

const plain = (c: TestCase) =>
  (c.status === 'passed' || c.status === 'skipped') &&
  c.failureType === null &&
  c.failureMessage === null &&
  c.failureText === null &&
  c.systemOut === null &&
  c.systemErr === null &&
  !c.truncated &&
  !c.flaky &&
  c.reruns.length === 0 &&
  Object.keys(c.properties).length === 0;

/** One file's testcases as the old upload stored them, one row each, in file order. */
async function insertOldRows(
  ids: { runId: string; projectId: string; fileId: string },
  cases: TestCase[],
) {
  for (const c of cases) {
    const rich = !plain(c);
    await sql`
      INSERT INTO test_results (org_id, run_id, project_id, file_id, suite, classname, name, test_key,
        status, duration_ms, failure_type, failure_message, failure_text, system_out, system_err,
        truncated, flaky, reruns, properties, signature)
      VALUES (${owner.orgId}, ${ids.runId}, ${ids.projectId}, ${ids.fileId}, ${c.suitePath},
        ${c.classname}, ${c.name}, decode(${testKey(ids.projectId, c)}, 'hex'), ${c.status},
        ${c.durationMs}, ${c.failureType}, ${c.failureMessage}, ${c.failureText}, ${c.systemOut},
        ${c.systemErr}, ${c.truncated}, ${c.flaky},
        ${rich && c.reruns.length > 0 ? JSON.stringify(c.reruns) : null}::jsonb,
        ${rich && Object.keys(c.properties).length > 0 ? JSON.stringify(c.properties) : null}::jsonb,
        ${c.status === 'failed' || c.status === 'error' ? signatureOf({ type: c.failureType, message: c.failureMessage, text: c.failureText }) : null})`.execute(
      t.database.db,
    );
  }
}

/** A result as the old API answered it from a test_results row (without its row id). */
function oldAnswer(r: {
  test_key: Buffer;
  suite: string;
  classname: string;
  name: string;
  status: string;
  duration_ms: number | null;
  failure_type: string | null;
  failure_message: string | null;
  failure_text: string | null;
  system_out: string | null;
  system_err: string | null;
  truncated: boolean;
  flaky: boolean;
  reruns: unknown;
  properties: unknown;
}) {
  return {
    testId: r.test_key.toString('hex'),
    suite: r.suite,
    classname: r.classname,
    name: r.name,
    status: r.status,
    durationMs: r.duration_ms,
    failureType: r.failure_type,
    failureMessage: r.failure_message,
    failureText: r.failure_text,
    systemOut: r.system_out,
    systemErr: r.system_err,
    truncated: r.truncated,
    flaky: r.flaky,
    reruns: r.reruns ?? [],
    properties: r.properties ?? {},
  };
}

const comparable = (items: Record<string, unknown>[]) =>
  items
    .map(({ id: _id, durationMs, ...rest }): Record<string, unknown> => ({
      ...rest,
      // Blocks keep durations to the microsecond.
      durationMs: durationMs === null ? null : Math.round((durationMs as number) * 1000) / 1000,
    }))
    .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));

let before: Record<string, unknown>;
let projectId: string;

beforeAll(async () => {
  t = await startTestApp();
  owner = await ownerOfNewOrg(t.app, 'mig');
  const project = await t.app.inject({
    method: 'POST',
    url: '/api/v1/orgs/mig/projects',
    headers: owner.auth,
    payload: { key: 'app', name: 'App', defaultBranch: 'main' },
  });
  expect(project.statusCode).toBe(201);
  projectId = project.json<{ id: string }>().id;
  const config = await t.app.inject({
    method: 'PUT',
    url: `${base}/quality-config`,
    headers: owner.auth,
    payload: SEED_QUALITY_CONFIG,
  });
  expect(config.statusCode).toBe(200);
  ci = await apiToken(t.app, owner, 'mig');
  for (const u of uploads) {
    const res = await t.app.inject({
      method: 'POST',
      url: `${base}/runs?${u.query}`,
      headers: { ...ci.auth, 'content-type': 'application/xml' },
      payload: u.xml,
    });
    expect(res.statusCode, res.body).toBe(201);
    const id = res.json<{ id: string }>().id;
    if (!runIds.includes(id)) runIds.push(id);
    const files = await t.database.db
      .selectFrom('run_files')
      .select('id')
      .where('run_id', '=', id)
      .orderBy('id')
      .execute();
    fileXml.set(files[files.length - 1]!.id, u.xml);
  }
  before = await answers();
}, 120_000);
afterAll(() => t.close());

describe('converting test_results to compact results (0011)', () => {
  it('answers results, filters, pages, triage and gates exactly as before', async () => {
    const db = t.database.db;
    // Back to the previous migration, with the same results in the old format.
    await sql`DROP TABLE result_details, run_blocks, tests`.execute(db);
    await db
      .deleteFrom('kysely_migration' as never)
      .where('name' as never, '=', '0011_compact_results' as never)
      .execute();
    await recreateOldTable();
    const files = await db
      .selectFrom('run_files')
      .select(['id', 'run_id'])
      .orderBy('run_id')
      .orderBy('id')
      .execute();
    for (const f of files)
      await insertOldRows({ runId: f.run_id, projectId, fileId: f.id }, parse(fileXml.get(f.id)!));
    const oldRows = await sql<Parameters<typeof oldAnswer>[0] & { run_id: string }>`
      SELECT * FROM test_results ORDER BY id`.execute(db);
    expect(oldRows.rows.length).toBe(uploads.reduce((n, u) => n + parse(u.xml).length, 0));

    // Later migrations (0012...) already ran: this one comes back out of order.
    await migrateBackIn(db, '0011_compact_results');
    const left = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM pg_class WHERE relname = 'test_results'`.execute(db);
    expect(left.rows[0]!.n).toBe(0);

    const after = await answers();
    expect(after).toEqual(before);

    // And what the old API answered from those rows, result for result (row ids aside).
    for (const id of runIds) {
      const old = oldRows.rows.filter((r) => r.run_id === id).map(oldAnswer);
      const now = after[`results ${id}`] as Record<string, unknown>[];
      expect(comparable(now)).toEqual(comparable(old));
      expect(await storedResults(db, id)).toBe(old.length);
    }
  }, 120_000);

  it('stores a passing result in a block, not a row, and keeps the details of the rest', async () => {
    const db = t.database.db;
    const details = await db
      .selectFrom('result_details')
      .select(['run_id', 'status', 'duplicate', 'failure_message', 'duration_ms'])
      .where('run_id', '=', runIds[0]!)
      .orderBy('seq')
      .execute();
    // jwt, db, db2, skipped-why, with-output, with-props, flaky, rerun-fail, very-long,
    // security, and the repeats of "twice" and t5: the other 284 results of the run are
    // bytes in its blocks.
    expect(details).toHaveLength(12);
    expect(details.filter((d) => d.duplicate)).toEqual([
      expect.objectContaining({ status: 'failed', failure_message: 'second time fails' }),
      expect.objectContaining({ status: 'passed', failure_message: null }),
    ]);
    expect(details.find((d) => d.duration_ms === 5_000_250)).toBeDefined();
    const blocks = await db
      .selectFrom('run_blocks')
      .select('block')
      .where('run_id', '=', runIds[0]!)
      .orderBy('block')
      .execute();
    expect(blocks.map((b) => b.block)).toEqual([0, 1]);
    const tests = await db
      .selectFrom('tests')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('project_id', '=', projectId)
      .executeTakeFirstOrThrow();
    // 280 + 14 more distinct tests in the first run, 20 new in the third.
    expect(Number(tests.n)).toBe(314);
  });
});
