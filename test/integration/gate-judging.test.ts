import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { apiToken, ownerOfNewOrg, type Session } from '../helpers/actors.ts';
import { casesWith, suiteXml } from '../helpers/junit-gen.ts';

// When gates are judged: an issue's first report is stored when it starts being tracked,
// and reading the gates never writes.

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
    });
    expect(await counts()).toEqual(before);
  });
});
