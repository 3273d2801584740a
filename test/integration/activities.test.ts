import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JOB_SCHEMA } from '../../src/jobs/queue.ts';
import { sweep } from '../../src/jobs/sweep.ts';
import { startWorker } from '../../src/jobs/worker.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { apiToken, memberOf, ownerOfNewOrg, type Session } from '../helpers/actors.ts';
import { SEED_QUALITY_CONFIG } from '../helpers/seed.ts';
import { waitFor } from '../helpers/wait.ts';
import { workerDeps } from '../helpers/worker-deps.ts';

const DAY = 86_400_000;
let t: TestApp;
let owner: Session & { orgId: string };
let admin: { auth: { authorization: string } };
let viewer: Session;
let developer: Session;
let start: Date;
const base = '/api/v1/orgs/act/projects/app/issues';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

beforeAll(async () => {
  t = await startTestApp();
  // Tomorrow 09:00 UTC: the schedule's dates and the target-date probabilities are exact.
  const tomorrow = new Date(t.clock.now().getTime() + DAY);
  start = new Date(
    Date.UTC(tomorrow.getUTCFullYear(), tomorrow.getUTCMonth(), tomorrow.getUTCDate(), 9),
  );
  t.clock.set(start);
  owner = await ownerOfNewOrg(t.app, 'act');
  admin = await apiToken(t.app, owner, 'act', 'admin');
  viewer = await memberOf(t.app, owner, 'act', 'viewer');
  developer = await memberOf(t.app, owner, 'act', 'developer');
  const project = await t.app.inject({
    method: 'POST',
    url: '/api/v1/orgs/act/projects',
    headers: owner.auth,
    payload: { key: 'app', name: 'App' },
  });
  expect(project.statusCode).toBe(201);
  const config = await t.app.inject({
    method: 'PUT',
    url: '/api/v1/orgs/act/projects/app/quality-config',
    headers: owner.auth,
    payload: SEED_QUALITY_CONFIG,
  });
  expect(config.statusCode).toBe(200);
});
afterAll(() => t.close());

let nextIssue = 100;
async function newIssue(): Promise<number> {
  const number = nextIssue++;
  const res = await t.app.inject({
    method: 'POST',
    url: base,
    headers: admin.auth,
    payload: { number, title: `Issue ${number}` },
  });
  expect(res.statusCode).toBe(201);
  return number;
}

async function post(issue: number, payload: Json, headers = admin.auth) {
  return t.app.inject({ method: 'POST', url: `${base}/${issue}/activities`, headers, payload });
}
async function patch(issue: number, key: string, payload: Json, headers = admin.auth) {
  return t.app.inject({
    method: 'PATCH',
    url: `${base}/${issue}/activities/${key}`,
    headers,
    payload,
  });
}
async function get(issue: number, key?: string, headers = admin.auth) {
  return t.app.inject({
    method: 'GET',
    url: `${base}/${issue}/activities${key === undefined ? '' : `/${key}`}`,
    headers,
  });
}
async function move(issue: number, key: string, status: string) {
  const current = (await get(issue, key)).json<Json>();
  return patch(issue, key, { version: current['version'], status });
}

/** The seed's plan: the architect's analysis, then the developer, then the re-review,
 *  which also waits for the reliability gate. */
async function seedPlan(issue: number) {
  const made = [
    await post(issue, {
      key: 'ta-analysis',
      title: 'Technical Architect response',
      ownerRole: 'architect',
      status: 'waiting',
      durationDays: { min: 1, max: 2 },
      deliverable: 'Comprehensive infrastructure analysis report',
    }),
    await post(issue, {
      key: 'implementation',
      title: 'Implement the recommendations',
      ownerRole: 'developer',
      durationDays: { min: 1, max: 2 },
      dependsOn: ['ta-analysis'],
    }),
    await post(issue, {
      key: 're-review',
      title: 'Code Reviewer re-review',
      ownerRole: 'reviewer',
      durationDays: { min: 1, max: 1 },
      dependsOn: ['implementation'],
      gates: ['reliability'],
    }),
  ];
  for (const res of made) expect(res.statusCode, res.body).toBe(201);
}

const at = (days: number) => new Date(start.getTime() + days * DAY).toISOString();
const problemPaths = (body: string) =>
  (JSON.parse(body) as { errors?: { path: string }[] }).errors?.map((e) => e.path) ?? [];

async function auditActions(orgId: string) {
  const { rows } = await sql<{ action: string; actor_type: string; data: Json }>`
    SELECT action, actor_type, data FROM audit_events WHERE org_id = ${orgId} ORDER BY id`.execute(
    t.database.db,
  );
  return rows;
}

describe('planning activities', () => {
  it('answers the seed plan with its schedule and forecast', async () => {
    const issue = await newIssue();
    await seedPlan(issue);
    const res = await get(issue);
    expect(res.statusCode).toBe(200);
    const body = res.json<Json>();
    expect(body['items'].map((a: Json) => a['key'])).toEqual([
      'ta-analysis',
      'implementation',
      're-review',
    ]);
    const [ta, impl, review] = body['items'] as Json[];
    expect(ta).toMatchObject({
      title: 'Technical Architect response',
      ownerRole: 'architect',
      ownerUserId: null,
      status: 'waiting',
      durationDays: { min: 1, max: 2 },
      deliverable: 'Comprehensive infrastructure analysis report',
      dependsOn: [],
      gates: [],
      version: 1,
      schedule: {
        earliestStart: at(0),
        earliestFinish: at(1),
        latestStart: at(0),
        latestFinish: at(2),
        expectedDays: 1.5,
        slackDays: 0,
        critical: true,
        overdue: false,
      },
    });
    expect(impl!['schedule']).toMatchObject({ earliestFinish: at(2), latestFinish: at(4) });
    expect(review).toMatchObject({
      gates: ['reliability'],
      schedule: {
        earliestStart: at(2),
        earliestFinish: at(3),
        latestStart: at(4),
        latestFinish: at(5),
      },
    });
    expect(body['forecast']).toEqual({
      expectedFinish: at(4),
      stdDevDays: expect.closeTo(Math.sqrt(2) / 6, 6),
      criticalPath: ['ta-analysis', 'implementation', 're-review'],
    });
    const one = await get(issue, 'implementation');
    expect(one.statusCode).toBe(200);
    expect(one.json<Json>()).toEqual(impl);
  });

  it('gives the probability of finishing by the issue target date', async () => {
    const issue = await newIssue();
    await seedPlan(issue);
    const day4 = at(4).slice(0, 10);
    const set = await t.app.inject({
      method: 'PATCH',
      url: `${base}/${issue}`,
      headers: admin.auth,
      payload: { targetDate: day4 },
    });
    expect(set.statusCode, set.body).toBe(200);
    expect(set.json<Json>()['targetDate']).toBe(day4);
    // Expected at day 4 09:00, σ = 0.2357 days; the end of day 4 is 0.625 days later.
    const forecast = (await get(issue)).json<Json>()['forecast'];
    expect(forecast).toMatchObject({ targetDate: day4 });
    expect(forecast['probabilityByTarget']).toBeCloseTo(0.996, 3);
    const clear = await t.app.inject({
      method: 'PATCH',
      url: `${base}/${issue}`,
      headers: admin.auth,
      payload: { targetDate: null },
    });
    expect(clear.json<Json>()['targetDate']).toBeNull();
    expect((await get(issue)).json<Json>()['forecast']).not.toHaveProperty('probabilityByTarget');
  });

  it('refuses a target date that is not a date', async () => {
    const issue = await newIssue();
    for (const targetDate of ['2025-02-30', '12 August', '2025-8-1']) {
      const res = await t.app.inject({
        method: 'PATCH',
        url: `${base}/${issue}`,
        headers: admin.auth,
        payload: { targetDate },
      });
      expect(res.statusCode).toBe(400);
      expect(problemPaths(res.body)).toContain('body/targetDate');
    }
  });

  it('refuses bad input with a 400 naming the field', async () => {
    const issue = await newIssue();
    await seedPlan(issue);
    const ok = { key: 'x', title: 'X', ownerRole: 'developer', durationDays: { min: 1, max: 2 } };
    const cases: [Json, string][] = [
      [{ ...ok, dependsOn: ['nope'] }, 'body/dependsOn'],
      [{ ...ok, dependsOn: ['x'] }, 'body/dependsOn'],
      [{ ...ok, gates: ['no-such-gate'] }, 'body/gates'],
      [{ ...ok, durationDays: { min: 3, max: 2 } }, 'body/durationDays/max'],
      [{ ...ok, durationDays: { min: 1, max: 2, likely: 5 } }, 'body/durationDays/likely'],
      [{ ...ok, durationDays: { min: -1, max: 2 } }, 'body/durationDays/min'],
      [{ ...ok, key: 'Bad Key' }, 'body/key'],
      [{ ...ok, status: 'started' }, 'body/status'],
      [{ ...ok, ownerRole: 'ci' }, 'body/ownerRole'],
      [{ ...ok, ownerUserId: '01890000-0000-7000-8000-000000000000' }, 'body/ownerUserId'],
      [{ ...ok, title: 'x'.repeat(301) }, 'body/title'],
      [{ ...ok, dependsOn: Array.from({ length: 51 }, (_, i) => `k${i}`) }, 'body/dependsOn'],
    ];
    for (const [payload, path] of cases) {
      const res = await post(issue, payload);
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(problemPaths(res.body), JSON.stringify(payload)).toContain(path);
    }
    expect((await post(issue, { ...ok, key: 'ta-analysis' })).statusCode).toBe(409);
    const assigned = await post(issue, { ...ok, ownerUserId: developer.userId });
    expect(assigned.statusCode, assigned.body).toBe(201);
    expect(assigned.json<Json>()['ownerUserId']).toBe(developer.userId);
  });

  it('refuses a dependency cycle, naming it', async () => {
    const issue = await newIssue();
    await seedPlan(issue);
    const res = await patch(issue, 'ta-analysis', { version: 1, dependsOn: ['re-review'] });
    expect(res.statusCode).toBe(400);
    expect(res.json<Json>()['detail']).toContain(
      'ta-analysis → re-review → implementation → ta-analysis',
    );
    expect(problemPaths(res.body)).toEqual(['body/dependsOn']);
    expect((await get(issue, 'ta-analysis')).json<Json>()).toMatchObject({
      dependsOn: [],
      version: 1,
    });
  });
});

describe('status moves', () => {
  it('starts nothing before what it depends on is done', async () => {
    const issue = await newIssue();
    await seedPlan(issue);
    const early = await move(issue, 'implementation', 'in_progress');
    expect(early.statusCode).toBe(409);
    expect(early.json<Json>()['detail']).toBe(
      'Activity "implementation" cannot be in_progress while "ta-analysis" it depends on is not done',
    );
    expect((await move(issue, 'implementation', 'ready')).statusCode).toBe(409);
    expect((await move(issue, 'implementation', 'blocked')).statusCode).toBe(200);

    const started = await move(issue, 'ta-analysis', 'in_progress');
    expect(started.statusCode, started.body).toBe(200);
    expect(started.json<Json>()).toMatchObject({
      status: 'in_progress',
      startedAt: at(0),
      version: 2,
    });
    const done = await move(issue, 'ta-analysis', 'done');
    expect(done.json<Json>()).toMatchObject({ status: 'done', doneAt: at(0), schedule: null });
    const impl = await move(issue, 'implementation', 'in_progress');
    expect(impl.statusCode, impl.body).toBe(200);

    // Reopening the analysis while the implementation built on it is under way is refused.
    const reopen = await move(issue, 'ta-analysis', 'in_progress');
    expect(reopen.statusCode).toBe(409);
    expect(reopen.json<Json>()['detail']).toContain('"implementation" depending on it has started');
  });

  it('keeps an activity waiting on a gate from starting until the gate passes', async () => {
    const issue = await newIssue();
    await post(issue, {
      key: 're-review',
      title: 'Re-review',
      ownerRole: 'reviewer',
      durationDays: { min: 1, max: 1 },
      gates: ['reliability'],
    });
    const res = await move(issue, 're-review', 'in_progress');
    expect(res.statusCode).toBe(409);
    expect(res.json<Json>()['detail']).toBe(
      'Activity "re-review" cannot be in_progress while gate "reliability" it waits for has not passed',
    );
    const created = await post(issue, {
      key: 'sign-off',
      title: 'Sign-off',
      ownerRole: 'qa_lead',
      status: 'in_progress',
      durationDays: { min: 1, max: 1 },
      gates: ['infrastructure'],
    });
    expect(created.statusCode).toBe(409);
  });

  it('emits activity.changed and audits each move', async () => {
    const issue = await newIssue();
    await seedPlan(issue);
    expect((await move(issue, 'ta-analysis', 'in_progress')).statusCode).toBe(200);
    const { rows } = await sql<{ data: Json }>`
      SELECT data FROM ${sql.table(`${JOB_SCHEMA}.job`)}
      WHERE name = 'webhook-fanout' AND data->>'type' = 'activity.changed'
        AND (data->'data'->>'issue')::int = ${issue}`.execute(t.database.db);
    expect(rows.map((r) => r.data['data'])).toEqual([
      expect.objectContaining({
        project: 'app',
        issue,
        activity: 'ta-analysis',
        from: 'waiting',
        to: 'in_progress',
        version: 2,
      }),
    ]);
    const audit = (await auditActions(owner.orgId)).filter(
      (a) => a.data['number'] === issue && a.action.startsWith('activity.'),
    );
    expect(audit.map((a) => a.action)).toEqual([
      'activity.created',
      'activity.created',
      'activity.created',
      'activity.status_changed',
    ]);
    expect(audit[3]!.data).toMatchObject({
      key: 'ta-analysis',
      from: 'waiting',
      to: 'in_progress',
    });
  });
});

describe('optimistic locking', () => {
  it('answers a change made on a stale version with a 409 and keeps the newer one', async () => {
    const issue = await newIssue();
    await seedPlan(issue);
    const first = await patch(issue, 'ta-analysis', { version: 1, title: 'TA analysis' });
    expect(first.statusCode).toBe(200);
    expect(first.json<Json>()['version']).toBe(2);
    const stale = await patch(issue, 'ta-analysis', { version: 1, title: 'Overwritten' });
    expect(stale.statusCode).toBe(409);
    expect(stale.json<Json>()['detail']).toContain('version 1');
    expect((await get(issue, 'ta-analysis')).json<Json>()['title']).toBe('TA analysis');
  });

  it('lets exactly one of two concurrent changes on the same version through', async () => {
    const issue = await newIssue();
    await seedPlan(issue);
    const results = await Promise.all([
      patch(issue, 'implementation', { version: 1, title: 'A' }),
      patch(issue, 'implementation', { version: 1, title: 'B' }),
    ]);
    expect(results.map((r) => r.statusCode).sort()).toEqual([200, 409]);
    expect((await get(issue, 'implementation')).json<Json>()['version']).toBe(2);
  });
});

describe('access', () => {
  it("hides another org's activities behind a 404 and changes nothing", async () => {
    const issue = await newIssue();
    await seedPlan(issue);
    const other = await ownerOfNewOrg(t.app, 'act-other');
    const attempts = [
      await get(issue, undefined, other.auth),
      await get(issue, 'ta-analysis', other.auth),
      await patch(issue, 'ta-analysis', { version: 1, status: 'done' }, other.auth),
      await post(
        issue,
        { key: 'evil', title: 'E', ownerRole: 'viewer', durationDays: { min: 0, max: 0 } },
        other.auth,
      ),
    ];
    for (const res of attempts) expect(res.statusCode).toBe(404);
    // The victim's project and issue under the attacker's own org: not found either.
    const own = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/orgs/act-other/projects/app/issues/${issue}/activities/ta-analysis`,
      headers: other.auth,
      payload: { version: 1, status: 'done' },
    });
    expect(own.statusCode).toBe(404);
    expect((await get(issue)).json<Json>()['items']).toHaveLength(3);
    expect((await get(issue, 'ta-analysis')).json<Json>()['status']).toBe('waiting');
  });

  it('lets a viewer read but not plan or move activities', async () => {
    const issue = await newIssue();
    await seedPlan(issue);
    expect((await get(issue, undefined, viewer.auth)).statusCode).toBe(200);
    const created = await post(
      issue,
      { key: 'v', title: 'V', ownerRole: 'viewer', durationDays: { min: 0, max: 0 } },
      viewer.auth,
    );
    expect(created.statusCode).toBe(403);
    const moved = await patch(issue, 'ta-analysis', { version: 1, status: 'done' }, viewer.auth);
    expect(moved.statusCode).toBe(403);
    expect((await get(issue, 'ta-analysis')).json<Json>()).toMatchObject({
      status: 'waiting',
      version: 1,
    });
    const dev = await patch(
      issue,
      'ta-analysis',
      { version: 1, status: 'in_progress' },
      developer.auth,
    );
    expect(dev.statusCode).toBe(200);
  });
});

describe('overdue activities', () => {
  it('judges the issue again once an activity in progress passes its latest finish', async () => {
    const issue = await newIssue();
    await seedPlan(issue);
    const started = await move(issue, 'ta-analysis', 'in_progress');
    expect(started.json<Json>()['schedule']).toMatchObject({ latestFinish: at(2), overdue: false });
    const { rows: due } = await sql<{ due_at: Date }>`
      SELECT d.due_at FROM due_work d JOIN activities a ON a.org_id = d.org_id AND a.id = d.ref_id
      JOIN tracked_issues i ON i.org_id = a.org_id AND i.id = a.issue_id
      WHERE d.kind = 'activity.overdue' AND a.key = 'ta-analysis' AND i.number = ${issue}`.execute(
      t.database.db,
    );
    // Due just past the latest finish: overdue is strictly later than it.
    expect(due.map((d) => d.due_at.getTime())).toEqual([Date.parse(at(2)) + 1]);

    // A project whose one gate holds the schedule: no activity may be overdue.
    const plan = '/api/v1/orgs/act/projects/plan';
    expect(
      (
        await t.app.inject({
          method: 'POST',
          url: '/api/v1/orgs/act/projects',
          headers: admin.auth,
          payload: { key: 'plan', name: 'Plan' },
        })
      ).statusCode,
    ).toBe(201);
    const config = await t.app.inject({
      method: 'PUT',
      url: `${plan}/quality-config`,
      headers: admin.auth,
      payload: {
        categories: [],
        gates: [
          {
            key: 'on-time',
            name: 'On schedule',
            conditions: [{ metric: 'overdue_activities', op: '==', value: 0 }],
          },
        ],
        criteria: [],
      },
    });
    expect(config.statusCode, config.body).toBe(200);
    const inPlan = async (method: 'POST' | 'GET', url: string, payload?: Json) =>
      t.app.inject({
        method,
        url: `${plan}${url}`,
        headers: admin.auth,
        ...(payload === undefined ? {} : { payload }),
      });
    expect((await inPlan('POST', '/issues', { number: 7, title: 'Seven' })).statusCode).toBe(201);
    const fix = await inPlan('POST', '/issues/7/activities', {
      key: 'fix',
      title: 'Fix',
      ownerRole: 'developer',
      status: 'in_progress',
      durationDays: { min: 1, max: 2 },
    });
    expect(fix.statusCode, fix.body).toBe(201);
    const gateOf = async () =>
      (await inPlan('GET', '/issues/7/gates'))
        .json<{ gates: { key: string; state: string; reasons: string[] }[] }>()
        .gates.find((g) => g.key === 'on-time');
    expect((await gateOf())?.state).toBe('passed');

    const worker = await startWorker(workerDeps(t));
    try {
      t.clock.advance(2 * DAY + 60_000);
      const taken = await sweep({ db: t.database.db, clock: t.clock });
      expect(taken.filter((d) => d.kind === 'activity.overdue').length).toBeGreaterThanOrEqual(1);
      // Every overdue item of this file's issues is re-judged, a job per poll of the worker.
      const rejudged = await waitFor(async () => {
        const audit = await auditActions(owner.orgId);
        return audit.find(
          (a) =>
            a.action === 'issue.rejudged' &&
            a.data['number'] === issue &&
            a.data['overdue'] === true,
        );
      }, 90_000);
      expect(rejudged).toMatchObject({ actor_type: 'system' });
      const { rows: report } = await sql<{ evaluated_at: Date }>`
        SELECT g.evaluated_at FROM gate_reports g
        JOIN tracked_issues i ON i.org_id = g.org_id AND i.id = g.issue_id
        WHERE i.org_id = ${owner.orgId} AND i.number = ${issue}`.execute(t.database.db);
      expect(report[0]!.evaluated_at.toISOString()).toBe(t.clock.now().toISOString());
      // Time alone blocked the gate that reads overdue activities. Issue 7's re-judging is
      // one more job in that line (a job per poll): the same patience as above.
      const gate = await waitFor(async () => {
        const g = await gateOf();
        return g?.state === 'blocked' ? g : undefined;
      }, 90_000);
      expect(gate.reasons.join('; ')).toContain('fix');
    } finally {
      await worker.stop(1000);
    }
    // Access tokens follow the app clock: read the result with the API token.
    const after = (await get(issue, 'ta-analysis')).json<Json>();
    expect(after['schedule']).toMatchObject({ latestFinish: at(2), overdue: true });
  }, 180_000);
});
