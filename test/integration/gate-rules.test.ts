import { sql } from 'kysely';
import { uuidv7 } from 'uuidv7';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QualityConfig } from '../../src/domain/quality.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { apiToken, login, ownerOfNewOrg, type Session } from '../helpers/actors.ts';
import { casesWith, suiteXml } from '../helpers/junit-gen.ts';
import { SEED_QUALITY_CONFIG } from '../helpers/seed.ts';

// Gate states as the seed reads them, the coordination metrics (activities, escalations,
// risks, overdue activities), the cycle refused at config time, the phase that follows the
// gates, and the events a change enqueues. Activities, escalations and risks are written
// here straight into their tables (as the owner), independently of their own APIs.

let t: TestApp;
let owner: Session & { orgId: string };
let ci: { auth: { authorization: string } };
const orgUrl = '/api/v1/orgs/rules/projects';
const DAY = 86_400_000;

beforeAll(async () => {
  t = await startTestApp();
  owner = await ownerOfNewOrg(t.app, 'rules');
  for (const key of ['seed', 'coord', 'release']) {
    const res = await t.app.inject({
      method: 'POST',
      url: orgUrl,
      headers: owner.auth,
      payload: { key, name: key },
    });
    expect(res.statusCode).toBe(201);
  }
  ci = await apiToken(t.app, owner, 'rules');
});
afterAll(() => t.close());

const db = () => t.database.db;
/** Access tokens live 10 minutes of the app's clock: a test that moves it logs in again. */
async function freshLogin() {
  owner.auth = (await login(t.app, owner.email, 'rules')).auth;
}

async function putConfig(project: string, config: QualityConfig) {
  return t.app.inject({
    method: 'PUT',
    url: `${orgUrl}/${project}/quality-config`,
    headers: owner.auth,
    payload: config,
  });
}

async function createIssue(project: string, number: number, phase?: string) {
  const res = await t.app.inject({
    method: 'POST',
    url: `${orgUrl}/${project}/issues`,
    headers: owner.auth,
    payload: { number, title: `Issue ${number}`, ...(phase === undefined ? {} : { phase }) },
  });
  expect(res.statusCode).toBe(201);
  return res.json<{ id: string; overall: string; phase: string }>();
}

async function upload(project: string, query: string, xml: string) {
  const res = await t.app.inject({
    method: 'POST',
    url: `${orgUrl}/${project}/runs?${query}`,
    headers: { ...ci.auth, 'content-type': 'application/xml' },
    payload: xml,
  });
  expect(res.statusCode).toBe(201);
  return res.json();
}

async function gates(project: string, number: number) {
  const res = await t.app.inject({
    method: 'GET',
    url: `${orgUrl}/${project}/issues/${number}/gates`,
    headers: owner.auth,
  });
  expect(res.statusCode).toBe(200);
  return res.json<{
    overall: string;
    gates: { key: string; state: string; reasons: string[] }[];
  }>();
}

/** Any change that re-judges the issue at the clock's now: here, a review verdict. */
async function rejudge(project: string, number: number) {
  const res = await t.app.inject({
    method: 'PUT',
    url: `${orgUrl}/${project}/issues/${number}/review`,
    headers: owner.auth,
    payload: { verdict: 'pass', reviewer: 'R' },
  });
  expect(res.statusCode).toBe(200);
  return gates(project, number);
}

const byKey = (report: { gates: { key: string; state: string; reasons: string[] }[] }) =>
  Object.fromEntries(report.gates.map((g) => [g.key, { state: g.state, reasons: g.reasons }]));

/** The webhook fan-out jobs enqueued for events of a type, oldest first. */
async function events(type: string) {
  const { rows } = await sql<{ data: { type: string; data: Record<string, unknown> } }>`
    SELECT data FROM pgboss.job
    WHERE name = 'webhook-fanout' AND data->>'type' = ${type} AND data->>'orgId' = ${owner.orgId}
    ORDER BY created_on, id`.execute(db());
  return rows.map((r) => r.data.data);
}

describe("the seed's picture", () => {
  let issueId: string;

  it('reads security passed, infrastructure blocked, reliability and production pending, overall blocked', async () => {
    expect((await putConfig('seed', SEED_QUALITY_CONFIG)).statusCode).toBe(200);
    issueId = (await createIssue('seed', 2, 'escalated')).id;
    const review = await t.app.inject({
      method: 'PUT',
      url: `${orgUrl}/seed/issues/2/review`,
      headers: owner.auth,
      payload: {
        verdict: 'conditional_pass',
        reviewer: 'Code Reviewer',
        notes: 'security fixes implemented',
      },
    });
    expect(review.statusCode).toBe(200);
    const failures: Record<number, string> = {};
    for (let i = 1; i <= 7; i++)
      failures[i * 3] = `JWT token structure invalid: missing claim "org" in token ${i}`;
    for (let i = 1; i <= 5; i++)
      failures[30 + i * 4] = `connect ECONNREFUSED 127.0.0.1:${5430 + i}`;
    const run = await upload(
      'seed',
      'issue=2&commit=s1&build=s1',
      suiteXml(casesWith(60, failures)),
    );
    expect(run.totals).toMatchObject({ tests: 60, passed: 48, failed: 12 });

    const report = await gates('seed', 2);
    expect(byKey(report)).toEqual({
      security: { state: 'passed', reasons: [] },
      infrastructure: { state: 'blocked', reasons: ['12 failures in jwt, database'] },
      reliability: {
        state: 'pending',
        reasons: [
          'waiting for Infrastructure Stability Gate',
          'pass rate 80% (48 of 60) is below 90%',
        ],
      },
      production: {
        state: 'pending',
        reasons: ['waiting for Infrastructure Stability Gate', 'waiting for Test Reliability Gate'],
      },
    });
    expect(report.overall).toBe('blocked');
    expect(run.gates.overall).toBe('blocked');
  });

  it('records the change in the history and enqueues gate.changed in the same transaction', async () => {
    const history = await db()
      .selectFrom('gate_state_changes')
      .select(['gate_key', 'from_state', 'to_state', 'reason'])
      .where('issue_id', '=', issueId)
      .orderBy('id')
      .execute();
    expect(history.at(-1)).toEqual({
      gate_key: 'infrastructure',
      from_state: 'pending',
      to_state: 'blocked',
      reason: '12 failures in jwt, database',
    });
    const changed = (await events('gate.changed')).filter((e) => e['issueId'] === issueId);
    // Tracked (the first judgement), then the run; the review alone changed no state.
    expect(changed).toHaveLength(2);
    expect(changed[0]).toMatchObject({
      overall: 'pending',
      changes: [
        expect.objectContaining({ gate: 'security', from: null, to: 'pending' }),
        expect.objectContaining({ gate: 'infrastructure', from: null, to: 'pending' }),
        expect.objectContaining({ gate: 'reliability', from: null, to: 'pending' }),
        expect.objectContaining({ gate: 'production', from: null, to: 'pending' }),
      ],
    });
    expect(changed[1]).toEqual({
      issueId,
      issue: 2,
      project: 'seed',
      overall: 'blocked',
      changes: [
        { gate: 'security', from: 'pending', to: 'passed', reason: 'all conditions met' },
        {
          gate: 'infrastructure',
          from: 'pending',
          to: 'blocked',
          reason: '12 failures in jwt, database',
        },
      ],
    });
  });

  it('enqueues run.completed with the totals, the pass rate and the gates verdict', async () => {
    const completed = (await events('run.completed')).filter((e) => e['project'] === 'seed');
    expect(completed).toEqual([
      {
        runId: expect.any(String),
        project: 'seed',
        issue: 2,
        totals: { tests: 60, passed: 48, failed: 12, errored: 0, skipped: 0, flaky: 0 },
        passRate: 0.8,
        status: 'blocked',
      },
    ]);
  });

  it('enqueues nothing when a re-judge changes no state', async () => {
    const before = (await events('gate.changed')).length;
    await t.app.inject({
      method: 'PUT',
      url: `${orgUrl}/seed/issues/2/review`,
      headers: owner.auth,
      payload: { verdict: 'conditional_pass', reviewer: 'Code Reviewer' },
    });
    expect(await events('gate.changed')).toHaveLength(before);
  });
});

describe('the phase follows the gates', () => {
  let issueId: string;
  const phaseOf = async () =>
    (
      await db()
        .selectFrom('tracked_issues')
        .select(['phase', 'phase_before'])
        .where('id', '=', issueId)
        .executeTakeFirstOrThrow()
    ).phase;
  const phaseAudits = () =>
    db()
      .selectFrom('audit_events')
      .select(['actor_type', 'data'])
      .where('target_id', '=', issueId)
      .where('action', '=', 'issue.phase_changed')
      .orderBy('id')
      .execute();

  it('moves the issue to ready_for_release when every gate has passed, audited', async () => {
    issueId = (await createIssue('release', 7, 'qa')).id;
    const run = await upload('release', 'issue=7&build=r1', suiteXml(casesWith(10, {})));
    expect(run.gates.overall).toBe('passed');
    expect(await phaseOf()).toBe('ready_for_release');
    expect(await phaseAudits()).toEqual([
      {
        actor_type: 'token',
        data: {
          number: 7,
          from: 'qa',
          to: 'ready_for_release',
          reason: 'every quality gate passed',
        },
      },
    ]);
  });

  it('stays put while the gates keep passing, and returns to its phase before when one stops', async () => {
    await upload('release', 'issue=7&build=r2', suiteXml(casesWith(10, {})));
    expect(await phaseAudits()).toHaveLength(1);
    const blocked = await upload(
      'release',
      'issue=7&build=r3',
      suiteXml(casesWith(10, { 1: 'x', 2: 'y' })),
    );
    expect(blocked.gates.overall).toBe('blocked');
    expect(await phaseOf()).toBe('qa');
    expect((await phaseAudits()).at(-1)!.data).toEqual({
      number: 7,
      from: 'ready_for_release',
      to: 'qa',
      reason: 'quality gates no longer passed: tests',
    });
  });

  it("enqueues the GitHub comment's sync with a gate change and the commit status with a run, once the project is linked", async () => {
    const project = await db()
      .selectFrom('projects')
      .select('id')
      .where('org_id', '=', owner.orgId)
      .where('key', '=', 'release')
      .executeTakeFirstOrThrow();
    await db()
      .insertInto('github_links')
      .values({
        org_id: owner.orgId,
        project_id: project.id,
        repo: 'acme/release',
        api_url: 'https://api.github.com',
        token: 'sealed',
        created_at: t.clock.now(),
        updated_at: t.clock.now(),
      })
      .execute();
    const jobs = async (name: string) => {
      const { rows } = await sql<{ data: Record<string, string> }>`
        SELECT data FROM pgboss.job WHERE name = ${name} AND data->>'orgId' = ${owner.orgId}`.execute(
        db(),
      );
      return rows.map((r) => r.data);
    };
    const run = await upload(
      'release',
      'issue=7&build=r5&commit=abc123',
      suiteXml(casesWith(10, {})),
    );
    expect(run.gates.overall).toBe('passed');
    expect(await jobs('github-sync')).toEqual([{ orgId: owner.orgId, issueId }]);
    expect(await jobs('github-status')).toEqual([{ orgId: owner.orgId, runId: run.id }]);
  });

  it('leaves a done issue done, whichever way its gates go', async () => {
    await db()
      .updateTable('tracked_issues')
      .set({ phase: 'done' })
      .where('id', '=', issueId)
      .execute();
    const audits = (await phaseAudits()).length;
    expect(
      (await upload('release', 'issue=7&build=r6', suiteXml(casesWith(10, { 1: 'x', 2: 'y' }))))
        .gates.overall,
    ).toBe('blocked');
    expect(await phaseOf()).toBe('done');
    expect(
      (await upload('release', 'issue=7&build=r7', suiteXml(casesWith(10, {})))).gates.overall,
    ).toBe('passed');
    expect(await phaseOf()).toBe('done');
    expect(await phaseAudits()).toHaveLength(audits);
  });
});

const COORD: QualityConfig = {
  categories: [],
  gates: [
    {
      key: 'handoff',
      name: 'Re-review Done',
      conditions: [{ metric: 'activity_status', activity: 're-review', op: '==', value: 'done' }],
    },
    {
      key: 'escalations',
      name: 'No Open Escalation',
      conditions: [{ metric: 'open_escalations', op: '==', value: 0 }],
    },
    {
      key: 'risks',
      name: 'No High Risk',
      conditions: [{ metric: 'open_risks', severity: 'high', op: '==', value: 0 }],
    },
    {
      key: 'schedule',
      name: 'On Schedule',
      conditions: [{ metric: 'overdue_activities', op: '==', value: 0 }],
    },
  ],
  criteria: [],
};

describe('coordination metrics', () => {
  let issueId: string;
  const now = () => t.clock.now();
  const activity = (key: string, over: Record<string, unknown> = {}) =>
    db()
      .insertInto('activities')
      .values({
        org_id: owner.orgId,
        id: uuidv7(),
        issue_id: issueId,
        key,
        title: key,
        owner_role: 'developer',
        min_days: 1,
        max_days: 2,
        created_at: now(),
        updated_at: now(),
        ...over,
      })
      .execute();

  beforeAll(async () => {
    expect((await putConfig('coord', COORD)).statusCode).toBe(200);
    issueId = (await createIssue('coord', 5)).id;
  });

  it('waits for an activity the issue does not have, and needs none of the rest', async () => {
    const report = await gates('coord', 5);
    expect(byKey(report)).toEqual({
      handoff: { state: 'pending', reasons: ['no activity "re-review" on issue #5 yet'] },
      escalations: { state: 'passed', reasons: [] },
      risks: { state: 'passed', reasons: [] },
      schedule: { state: 'passed', reasons: [] },
    });
    expect(report.overall).toBe('pending');
  });

  it("reads an activity's status", async () => {
    await activity('re-review', { status: 'ready' });
    expect(byKey(await rejudge('coord', 5))['handoff']).toEqual({
      state: 'blocked',
      reasons: ['activity re-review is ready; needs done'],
    });
    await db()
      .updateTable('activities')
      .set({ status: 'done', done_at: now() })
      .where('issue_id', '=', issueId)
      .where('key', '=', 're-review')
      .execute();
    expect(byKey(await rejudge('coord', 5))['handoff']!.state).toBe('passed');
  });

  it('counts escalations until they are resolved', async () => {
    const id = uuidv7();
    await db()
      .insertInto('escalations')
      .values({
        org_id: owner.orgId,
        id,
        issue_id: issueId,
        role: 'architect',
        reason: 'JWT token structure and connection pooling',
        questions: '[]',
        ack_within_hours: 24,
        answer_within_hours: 72,
        ack_due_at: new Date(now().getTime() + DAY),
        answer_due_at: new Date(now().getTime() + 3 * DAY),
        created_by: owner.userId,
        created_at: now(),
        updated_at: now(),
      })
      .execute();
    expect(byKey(await rejudge('coord', 5))['escalations']).toEqual({
      state: 'blocked',
      reasons: ['1 open escalation'],
    });
    await db()
      .updateTable('escalations')
      .set({ status: 'answered', answered_at: now() })
      .where('id', '=', id)
      .execute();
    expect(byKey(await rejudge('coord', 5))['escalations']!.state).toBe('blocked');
    await db()
      .updateTable('escalations')
      .set({ status: 'resolved', resolved_at: now() })
      .where('id', '=', id)
      .execute();
    expect(byKey(await rejudge('coord', 5))['escalations']!.state).toBe('passed');
  });

  it('counts open risks of the severity asked for', async () => {
    const risk = (severity: 'high' | 'medium', title: string) =>
      db()
        .insertInto('risks')
        .values({
          org_id: owner.orgId,
          id: uuidv7(),
          issue_id: issueId,
          severity,
          title,
          links: '{}',
          mitigations: '[]',
          created_at: now(),
          updated_at: now(),
        })
        .execute();
    await risk('high', 'JWT authentication failures affecting user security');
    await risk('high', 'Database connectivity impacting platform reliability');
    await risk('medium', 'Test environment instability causing CI/CD issues');
    expect(byKey(await rejudge('coord', 5))['risks']).toEqual({
      state: 'blocked',
      reasons: ['2 open high risks'],
    });
    await db()
      .updateTable('risks')
      .set({ status: 'mitigated' })
      .where('issue_id', '=', issueId)
      .where('severity', '=', 'high')
      .execute();
    expect(byKey(await rejudge('coord', 5))['risks']!.state).toBe('passed');
  });

  it('refuses a configuration that would wait in a cycle with an activity, naming it', async () => {
    await activity('sign-off', { gates: ['handoff'] });
    const cyclic: QualityConfig = {
      ...COORD,
      gates: COORD.gates.map((g) =>
        g.key === 'handoff'
          ? {
              ...g,
              conditions: [
                ...g.conditions,
                { metric: 'activity_status', activity: 'sign-off', op: '==', value: 'done' },
              ],
            }
          : g,
      ),
    };
    const res = await putConfig('coord', cyclic);
    expect(res.statusCode).toBe(400);
    expect(res.json().detail).toBe(
      'body/gates/0/conditions/1 forms a cycle with the activities of issue #5: gate:handoff → activity:sign-off → gate:handoff',
    );
    // Nothing was stored.
    const stored = await t.app.inject({
      method: 'GET',
      url: `${orgUrl}/coord/quality-config`,
      headers: owner.auth,
    });
    expect(stored.json().config).toEqual(COORD);
  });

  it('refuses coordination conditions that name nothing', async () => {
    const res = await putConfig('coord', {
      ...COORD,
      gates: [
        {
          key: 'g',
          name: 'G',
          conditions: [{ metric: 'activity_status', op: '==', value: 'finished' }],
        },
      ],
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().detail).toContain(
      'body/gates/0/conditions/0/value must be an activity status',
    );
    expect(res.json().detail).toContain('body/gates/0/conditions/0/activity is required');
  });

  it('turns an activity overdue when the clock passes its latest finish', async () => {
    await activity('ta-analysis', {
      status: 'in_progress',
      started_at: now(),
      min_days: 1,
      max_days: 2,
    });
    expect(byKey(await rejudge('coord', 5))['schedule']!.state).toBe('passed');
    t.clock.advance(2 * DAY);
    await freshLogin();
    expect(byKey(await rejudge('coord', 5))['schedule']!.state).toBe('passed');
    t.clock.advance(60_000);
    await freshLogin();
    const report = await rejudge('coord', 5);
    expect(byKey(report)['schedule']).toEqual({
      state: 'blocked',
      reasons: ['1 overdue activity (ta-analysis)'],
    });
    expect(report.overall).toBe('blocked');
    await db()
      .updateTable('activities')
      .set({ status: 'done', done_at: now() })
      .where('issue_id', '=', issueId)
      .where('key', '=', 'ta-analysis')
      .execute();
    expect((await rejudge('coord', 5)).overall).toBe('passed');
  });
});
