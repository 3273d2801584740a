import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { apiToken, ownerOfNewOrg, type Session } from '../helpers/actors.ts';
import { casesWith, suiteXml } from '../helpers/junit-gen.ts';

// When gates are judged: an issue's first report is stored when it starts being tracked,
// reading the gates never writes, and only complete runs are judged.

let t: TestApp;
let owner: Session & { orgId: string };
let ci: { auth: { authorization: string } };
const base = '/api/v1/orgs/judge/projects/svc';

beforeAll(async () => {
  t = await startTestApp();
  owner = await ownerOfNewOrg(t.app, 'judge');
  const project = await t.app.inject({
    method: 'POST',
    url: '/api/v1/orgs/judge/projects',
    headers: owner.auth,
    payload: { key: 'svc', name: 'Service' },
  });
  expect(project.statusCode).toBe(201);
  ci = await apiToken(t.app, owner, 'judge');
});
afterAll(() => t.close());

const upload = async (query: string, xml: string): Promise<{ id: string }> => {
  const res = await t.app.inject({
    method: 'POST',
    url: `${base}/runs?${query}`,
    headers: { ...ci.auth, 'content-type': 'application/xml' },
    payload: xml,
  });
  expect(res.statusCode).toBe(201);
  return res.json();
};
const gates = async (number: number) => {
  const res = await t.app.inject({
    method: 'GET',
    url: `${base}/issues/${number}/gates`,
    headers: owner.auth,
  });
  expect(res.statusCode).toBe(200);
  return res.json();
};
const createIssue = async (number: number) => {
  const res = await t.app.inject({
    method: 'POST',
    url: `${base}/issues`,
    headers: owner.auth,
    payload: { number, title: `Issue ${number}` },
  });
  expect(res.statusCode).toBe(201);
  return res.json();
};
/** Any change that re-judges the issue: here, a review verdict. */
const rejudge = async (number: number) => {
  const res = await t.app.inject({
    method: 'PUT',
    url: `${base}/issues/${number}/review`,
    headers: owner.auth,
    payload: { verdict: 'pass', reviewer: 'R' },
  });
  expect(res.statusCode).toBe(200);
};
/** Marks a run open again, as a sharded upload still waiting for its other shards. */
const reopen = (runId: string, uploads: number, shards: number | null) =>
  t.database.db
    .updateTable('test_runs')
    .set({ status: 'open', uploads, shards, completed_at: null })
    .where('id', '=', runId)
    .execute();
const complete = (runId: string) =>
  t.database.db
    .updateTable('test_runs')
    .set({ status: 'complete', completed_at: t.clock.now() })
    .where('id', '=', runId)
    .execute();
const counts = async () =>
  (
    await sql<{ reports: number; changes: number }>`
      SELECT (SELECT count(*)::int FROM gate_reports) AS reports,
             (SELECT count(*)::int FROM gate_state_changes) AS changes`.execute(t.database.db)
  ).rows[0]!;

describe("an issue's first report", () => {
  it('is stored when the issue starts being tracked, at the clock’s time', async () => {
    t.clock.advance(60_000);
    const at = t.clock.now();
    const issue = await createIssue(1);
    expect(issue).toMatchObject({ overall: 'pending', createdAt: at.toISOString() });
    const stored = await t.database.db
      .selectFrom('gate_reports')
      .selectAll()
      .where('issue_id', '=', issue.id)
      .executeTakeFirstOrThrow();
    expect(stored.evaluated_at).toEqual(at);
    expect(stored.report).toMatchObject({ issue: 1, runId: null, evaluatedAt: at.toISOString() });
    const changes = await t.database.db
      .selectFrom('gate_state_changes')
      .selectAll()
      .where('issue_id', '=', issue.id)
      .execute();
    expect(changes.map((c) => [c.gate_key, c.from_state, c.to_state, c.created_at])).toEqual([
      ['tests', null, 'pending', at],
    ]);
  });

  it('is stored for an issue first seen in an upload', async () => {
    await upload('issue=2&build=first-seen', suiteXml(casesWith(3, {})));
    const issue = await t.database.db
      .selectFrom('tracked_issues')
      .innerJoin('gate_reports', 'gate_reports.issue_id', 'tracked_issues.id')
      .select(sql<string>`gate_reports.report->>'overall'`.as('overall'))
      .where('tracked_issues.number', '=', 2)
      .executeTakeFirstOrThrow();
    expect(issue.overall).toBe('passed');
  });
});

describe('reading the gates', () => {
  it('answers the last judged report and writes nothing, however often it is read', async () => {
    const judged = await gates(1);
    const before = await counts();
    t.clock.advance(60_000);
    const again = await gates(1);
    expect(again.evaluatedAt).toBe(judged.evaluatedAt);
    expect(again).toEqual(judged);
    expect(await counts()).toEqual(before);
    expect(again.openRun).toBeNull();
  });

  it('answers an issue never judged as pending for want of a run, still without writing', async () => {
    const issue = await createIssue(3);
    await t.database.db.deleteFrom('gate_reports').where('issue_id', '=', issue.id).execute();
    const before = await counts();
    const report = await gates(3);
    expect(report).toMatchObject({
      issue: 3,
      runId: null,
      overall: 'pending',
      evaluatedAt: t.clock.now().toISOString(),
      gates: [{ key: 'tests', state: 'pending', reasons: ['no test run for issue #3 yet'] }],
      openRun: null,
    });
    expect(await counts()).toEqual(before);
  });

  it('documents openRun in the OpenAPI description', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    const schema =
      doc.paths['/api/v1/orgs/{org}/projects/{project}/issues/{number}/gates'].get.responses['200']
        .content['application/json'].schema;
    expect(schema.properties.openRun.description).toMatch(/still open/);
    expect(schema.required).toContain('openRun');
  });
});

describe('runs are judged once complete', () => {
  it('keeps judging the latest complete run while a newer one is open, and says which run is open', async () => {
    const done = await upload('issue=10&build=c1', suiteXml(casesWith(10, {})));
    const pending = await upload('issue=10&build=c2', suiteXml(casesWith(10, { 1: 'x', 2: 'y' })));
    await reopen(pending.id, 1, 3);
    await rejudge(10);
    const report = await gates(10);
    expect(report).toMatchObject({
      runId: done.id,
      overall: 'passed',
      openRun: { runId: pending.id, uploads: 1, shards: 3 },
    });

    await complete(pending.id);
    await rejudge(10);
    const judged = await gates(10);
    expect(judged).toMatchObject({ runId: pending.id, overall: 'blocked', openRun: null });
    expect(judged.gates[0].reasons).toEqual(['pass rate 80% (8 of 10) is below 90%']);
  });

  it('says an open run has no declared shard count as null', async () => {
    const open = await upload('issue=11&build=o1', suiteXml(casesWith(2, {})));
    await reopen(open.id, 2, null);
    expect((await gates(11)).openRun).toEqual({ runId: open.id, uploads: 2, shards: null });
  });

  it('does not count an open run of the same commit as evidence of flakiness', async () => {
    const failed = await upload(
      'issue=12&commit=x1&build=f1',
      suiteXml([{ name: 'steady' }, { name: 'wobbly', failure: { message: 'timeout' } }]),
    );
    const passing = await upload(
      'issue=12&commit=x1&build=f2',
      suiteXml([{ name: 'steady' }, { name: 'wobbly' }]),
    );
    await reopen(passing.id, 1, 2);
    await rejudge(12);
    const report = await gates(12);
    expect(report.runId).toBe(failed.id);
    expect(report.flaky).toEqual([]);
    // The open run's own triage still weighs it against the commit's complete runs.
    const triage = (
      await t.app.inject({
        method: 'GET',
        url: `${base}/runs/${passing.id}/triage`,
        headers: ci.auth,
      })
    ).json();
    expect(triage.flaky).toEqual([
      expect.objectContaining({ name: 'wobbly', passedIn: [passing.id], failedIn: [failed.id] }),
    ]);
  });

  it('compares a run with the previous complete run of its branch, not an open one', async () => {
    const first = await upload(
      'commit=b1&branch=rel&build=b1',
      suiteXml([{ name: 'a' }, { name: 'b' }]),
    );
    const open = await upload(
      'commit=b2&branch=rel&build=b2',
      suiteXml([{ name: 'a', failure: { message: 'broken' } }, { name: 'b' }]),
    );
    await reopen(open.id, 1, 2);
    const now = await upload(
      'commit=b3&branch=rel&build=b3',
      suiteXml([{ name: 'a', failure: { message: 'broken' } }, { name: 'b' }]),
    );
    const triage = (
      await t.app.inject({ method: 'GET', url: `${base}/runs/${now.id}/triage`, headers: ci.auth })
    ).json();
    expect(triage.regressions.baselineRunId).toBe(first.id);
    expect(triage.regressions.newFailures.map((r: { name: string }) => r.name)).toEqual(['a']);
    expect(triage.regressions.stillFailing).toEqual([]);
  });
});
