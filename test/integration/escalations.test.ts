import { sql } from 'kysely';
import { uuidv7 } from 'uuidv7';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withOrgAsSystem } from '../../src/db/system.ts';
import { tickEscalationClock } from '../../src/jobs/escalation-clock.ts';
import { JOB_SCHEMA, QUEUES } from '../../src/jobs/queue.ts';
import { sweep } from '../../src/jobs/sweep.ts';
import { jobHandlers, startWorker, type Worker } from '../../src/jobs/worker.ts';
import { insertActivity } from '../../src/modules/activities/activities.queries.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { apiToken, memberOf, ownerOfNewOrg, type Session } from '../helpers/actors.ts';
import { waitFor } from '../helpers/wait.ts';
import { workerDeps } from '../helpers/worker-deps.ts';

type Token = Awaited<ReturnType<typeof apiToken>>;

let t: TestApp;
let owner: Session & { orgId: string };
let architect: Session;
let outsider: Session & { orgId: string };
// The clock moves by hours here, past any access token's life: the actors are API tokens.
let lead: Token;
let arch: Token;
let view: Token;
let dev: Token;
let rev: Token;
let other: Token;
const HOUR = 3_600_000;
const base = '/api/v1/orgs/esc/projects/app';

beforeAll(async () => {
  t = await startTestApp({ GATEHOUSE_JOB_POLL_SECONDS: '1' });
  owner = await ownerOfNewOrg(t.app, 'esc');
  architect = await memberOf(t.app, owner, 'esc', 'architect');
  outsider = await ownerOfNewOrg(t.app, 'esc-other');
  lead = await apiToken(t.app, owner, 'esc', 'qa_lead');
  arch = await apiToken(t.app, owner, 'esc', 'architect');
  view = await apiToken(t.app, owner, 'esc', 'viewer');
  dev = await apiToken(t.app, owner, 'esc', 'developer');
  rev = await apiToken(t.app, owner, 'esc', 'reviewer');
  other = await apiToken(t.app, outsider, 'esc-other', 'owner');
  for (const [who, slug] of [
    [owner, 'esc'],
    [outsider, 'esc-other'],
  ] as const) {
    const project = await t.app.inject({
      method: 'POST',
      url: `/api/v1/orgs/${slug}/projects`,
      headers: who.auth,
      payload: { key: 'app', name: 'App' },
    });
    expect(project.statusCode).toBe(201);
  }
  const issue = await t.app.inject({
    method: 'POST',
    url: '/api/v1/orgs/esc-other/projects/app/issues',
    headers: outsider.auth,
    payload: { number: 2, title: 'Their issue' },
  });
  expect(issue.statusCode).toBe(201);
});
afterAll(() => t.close());

let issueCounter = 2;
async function newIssue(phase = 'qa'): Promise<number> {
  const number = issueCounter++;
  const res = await t.app.inject({
    method: 'POST',
    url: `${base}/issues`,
    headers: lead.auth,
    payload: { number, title: `Issue ${number}`, phase },
  });
  expect(res.statusCode).toBe(201);
  return number;
}

const QUESTIONS = [
  { topic: 'Authentication architecture', text: 'How should JWT role scoping be structured?' },
  { topic: 'Database architecture', text: 'What pool size per tenant?' },
  { topic: 'Integration architecture', text: 'Where are the tenant isolation boundaries?' },
];

function escalateBody(extra: Record<string, unknown> = {}) {
  return {
    role: 'architect',
    reason: 'Infrastructure failures block the reliability gate',
    request: '# TA analysis request\n\n12 failing tests in two root causes.',
    questions: QUESTIONS,
    ...extra,
  };
}

async function escalate(issue: number, extra: Record<string, unknown> = {}) {
  const res = await t.app.inject({
    method: 'POST',
    url: `${base}/issues/${issue}/escalations`,
    headers: lead.auth,
    payload: escalateBody(extra),
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json();
}

async function act(issue: number, id: string, payload: object, who: Token = lead) {
  return t.app.inject({
    method: 'PATCH',
    url: `${base}/issues/${issue}/escalations/${id}`,
    headers: who.auth,
    payload,
  });
}

async function read(issue: number, id: string) {
  const res = await t.app.inject({
    method: 'GET',
    url: `${base}/issues/${issue}/escalations/${id}`,
    headers: view.auth,
  });
  expect(res.statusCode).toBe(200);
  return res.json();
}

async function phaseOf(issue: number): Promise<string> {
  const res = await t.app.inject({
    method: 'GET',
    url: `${base}/issues/${issue}`,
    headers: view.auth,
  });
  return res.json().phase;
}

async function setChain(levels: { role: string; ackWithinHours: number }[]) {
  const res = await t.app.inject({
    method: 'PUT',
    url: `${base}/escalation-chain`,
    headers: lead.auth,
    payload: { levels },
  });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

async function communicationsOf(escalationId: string) {
  const { rows } = await sql<{ channel: string; audience: string; summary: string }>`
    SELECT channel, audience, summary FROM communications
    WHERE org_id = ${owner.orgId} AND ref_type = 'escalation' AND ref_id = ${escalationId}
    ORDER BY id`.execute(t.database.db);
  return rows;
}

async function dueAt(escalationId: string): Promise<string | undefined> {
  const { rows } = await sql<{ due_at: Date }>`
    SELECT due_at FROM due_work WHERE org_id = ${owner.orgId} AND kind = 'escalation.clock'
    AND ref_id = ${escalationId}`.execute(t.database.db);
  return rows[0]?.due_at.toISOString();
}

async function eventsOf(type: string, escalationId: string) {
  const { rows } = await sql<{ data: { type: string; data: Record<string, unknown> } }>`
    SELECT data FROM ${sql.table(`${JOB_SCHEMA}.job`)}
    WHERE name = ${QUEUES.webhookFanout} AND data->>'type' = ${type}
      AND data->'data'->>'escalationId' = ${escalationId}`.execute(t.database.db);
  return rows.map((r) => r.data);
}

async function activity(issue: number, key: string) {
  const { rows } = await sql<{
    status: string;
    owner_role: string;
    min_days: number;
    max_days: number;
  }>`
    SELECT a.status, a.owner_role, a.min_days, a.max_days FROM activities a
    JOIN tracked_issues i ON i.org_id = a.org_id AND i.id = a.issue_id
    WHERE a.org_id = ${owner.orgId} AND i.number = ${issue} AND a.key = ${key}`.execute(
    t.database.db,
  );
  return rows;
}

/** The clock's job for one escalation, as the sweep would hand it over. */
const tick = (refId: string, orgId = owner.orgId) =>
  tickEscalationClock(
    { db: t.database.db, clock: t.clock },
    { id: uuidv7(), data: { orgId, refId } },
  );

describe('escalating an issue', () => {
  it('escalates to a role with a request and questions by topic, moves the issue to escalated, and records it', async () => {
    await setChain([]);
    const issue = await newIssue('qa');
    const now = t.clock.now();
    const e = await escalate(issue, { member: architect.userId });
    expect(e).toMatchObject({
      issue,
      status: 'open',
      level: 0,
      role: 'architect',
      member: architect.userId,
      questions: QUESTIONS,
      ackWithinHours: 24,
      answerWithinHours: 72,
      ackDueAt: new Date(now.getTime() + 24 * HOUR).toISOString(),
      answerDueAt: new Date(now.getTime() + 72 * HOUR).toISOString(),
      acknowledgedAt: null,
      answeredAt: null,
      resolvedAt: null,
      breachedAt: null,
      paused: false,
      remaining: { ackSeconds: 24 * 3600, answerSeconds: 72 * 3600 },
      activity: 'escalation-1-response',
      createdBy: `token:${lead.id}`,
    });
    expect(await phaseOf(issue)).toBe('escalated');
    expect(await communicationsOf(e.id)).toEqual([
      expect.objectContaining({
        channel: 'escalation',
        audience: `architect (${architect.userId})`,
      }),
    ]);
    expect(await dueAt(e.id)).toBe(e.ackDueAt);
    const [created] = await eventsOf('escalation.created', e.id);
    expect(created?.data).toMatchObject({ issue, role: 'architect', project: 'app' });
    expect(await activity(issue, 'escalation-1-response')).toEqual([
      { status: 'ready', owner_role: 'architect', min_days: 1, max_days: 3 },
    ]);

    const list = await t.app.inject({
      method: 'GET',
      url: `${base}/issues/${issue}/escalations?status=open`,
      headers: view.auth,
    });
    expect(list.statusCode).toBe(200);
    expect(list.json()).toMatchObject({ items: [{ id: e.id }], nextCursor: null });
    expect(await read(issue, e.id)).toEqual(e);
  });

  it("links the issue's existing activity as the response instead of creating another", async () => {
    const issue = await newIssue();
    const { rows } = await sql<{ id: string }>`
      SELECT id FROM tracked_issues WHERE org_id = ${owner.orgId} AND number = ${issue}`.execute(
      t.database.db,
    );
    await withOrgAsSystem(t.database.db, owner.orgId, { reason: 'test setup' }, (trx) =>
      insertActivity(trx, owner.orgId, {
        issueId: rows[0]!.id,
        key: 'ta-analysis',
        title: 'Technical architect analysis',
        ownerRole: 'architect',
        minDays: 1,
        maxDays: 2,
        at: t.clock.now(),
      }),
    );
    const e = await escalate(issue, { activity: 'ta-analysis' });
    expect(e.activity).toBe('ta-analysis');
    expect(await activity(issue, 'ta-analysis')).toMatchObject([{ status: 'ready' }]);
    const { rows: all } = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM activities WHERE org_id = ${owner.orgId}
      AND issue_id = ${rows[0]!.id}`.execute(t.database.db);
    expect(all[0]!.n).toBe(1);

    expect((await act(issue, e.id, { action: 'acknowledge' }, arch)).statusCode).toBe(200);
    expect(await activity(issue, 'ta-analysis')).toMatchObject([{ status: 'in_progress' }]);
    const answered = await act(
      issue,
      e.id,
      { action: 'answer', text: 'Use a pool per tenant; scope JWT roles by org claim.' },
      arch,
    );
    expect(answered.json()).toMatchObject({
      status: 'answered',
      answer: 'Use a pool per tenant; scope JWT roles by org claim.',
    });
    expect(await activity(issue, 'ta-analysis')).toMatchObject([{ status: 'done' }]);
    const { rows: changed } = await sql<{ to: string }>`
      SELECT data->'data'->>'to' AS to FROM ${sql.table(`${JOB_SCHEMA}.job`)}
      WHERE name = ${QUEUES.webhookFanout} AND data->>'type' = 'activity.changed'
        AND (data->'data'->>'issue')::int = ${issue} ORDER BY created_on`.execute(t.database.db);
    expect(changed.map((c) => c.to)).toEqual(['ready', 'in_progress', 'done']);
    expect((await communicationsOf(e.id)).map((c) => c.audience)).toEqual([
      'architect',
      `token:${lead.id}`,
    ]);
  });

  it('refuses to make an activity the response before what it depends on is done', async () => {
    const issue = await newIssue();
    const { rows } = await sql<{ id: string }>`
      SELECT id FROM tracked_issues WHERE org_id = ${owner.orgId} AND number = ${issue}`.execute(
      t.database.db,
    );
    await withOrgAsSystem(t.database.db, owner.orgId, { reason: 'test setup' }, async (trx) => {
      for (const [key, dependsOn] of [
        ['env-setup', []],
        ['ta-analysis', ['env-setup']],
      ] as const)
        await insertActivity(trx, owner.orgId, {
          issueId: rows[0]!.id,
          key,
          title: key,
          ownerRole: 'architect',
          minDays: 1,
          maxDays: 2,
          dependsOn: [...dependsOn],
          at: t.clock.now(),
        });
    });
    const res = await t.app.inject({
      method: 'POST',
      url: `${base}/issues/${issue}/escalations`,
      headers: lead.auth,
      payload: escalateBody({ activity: 'ta-analysis' }),
    });
    expect(res.statusCode).toBe(409);
    expect(res.json().detail).toMatch(/env-setup/);
    expect(await phaseOf(issue)).toBe('qa');
  });

  it('takes its targets from the chain level of the role', async () => {
    await setChain([
      { role: 'architect', ackWithinHours: 4 },
      { role: 'admin', ackWithinHours: 2 },
    ]);
    const e = await escalate(await newIssue());
    expect(e).toMatchObject({ ackWithinHours: 4, answerWithinHours: 72, level: 0 });
    const admin = await escalate(await newIssue(), { role: 'admin', answerWithinHours: 10 });
    expect(admin).toMatchObject({ ackWithinHours: 2, answerWithinHours: 10, level: 1 });
  });

  it('refuses bad input with a 400 naming the field', async () => {
    const issue = await newIssue();
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ role: 'ci' }, /body\/role/],
      [{ reason: '' }, /body\/reason/],
      [{ questions: [{ topic: 'x'.repeat(201), text: 'q' }] }, /body\/questions\/0\/topic/],
      [{ questions: Array.from({ length: 101 }, () => QUESTIONS[0]) }, /body\/questions/],
      [{ ackWithinHours: 0 }, /body\/ackWithinHours/],
      [{ ackWithinHours: 10, answerWithinHours: 5 }, /body\/answerWithinHours/],
      [{ member: uuidv7() }, /body\/member/],
      [{ member: outsider.userId }, /body\/member/],
      [{ activity: 'Not A Key' }, /body\/activity/],
      [{ surprise: true }, /body\/surprise/],
    ];
    for (const [extra, field] of cases) {
      const res = await t.app.inject({
        method: 'POST',
        url: `${base}/issues/${issue}/escalations`,
        headers: lead.auth,
        payload: escalateBody(extra),
      });
      expect(res.statusCode, JSON.stringify(extra)).toBe(400);
      expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
      expect(res.json().detail, JSON.stringify(extra)).toMatch(field);
    }
    const e = await escalate(issue);
    const noText = await act(issue, e.id, { action: 'answer' });
    expect(noText.statusCode).toBe(400);
    expect(noText.json().detail).toMatch(/body\/text/);
    const badAction = await act(issue, e.id, { action: 'escalate' });
    expect(badAction.statusCode).toBe(400);
    expect(badAction.json().detail).toMatch(/body\/action/);
    const chain = await t.app.inject({
      method: 'PUT',
      url: `${base}/escalation-chain`,
      headers: lead.auth,
      payload: {
        levels: [
          { role: 'architect', ackWithinHours: 4 },
          { role: 'architect', ackWithinHours: 2 },
        ],
      },
    });
    expect(chain.statusCode).toBe(400);
    expect(chain.json().detail).toMatch(/body\/levels\/1\/role/);
  });
});

describe('response clocks', () => {
  it('moves an unacknowledged escalation up the chain when its target passes, then breaches it at the top (sweep and worker)', async () => {
    await setChain([
      { role: 'architect', ackWithinHours: 4 },
      { role: 'admin', ackWithinHours: 2 },
    ]);
    const worker: Worker = await startWorker(workerDeps(t), {
      [QUEUES.escalationClock]: jobHandlers(workerDeps(t))[QUEUES.escalationClock]!,
    });
    try {
      const issue = await newIssue();
      const e = await escalate(issue, { member: architect.userId, answerWithinHours: 48 });
      const raisedAt = new Date(e.createdAt).getTime();
      const sweepNow = () => sweep({ db: t.database.db, clock: t.clock });

      t.clock.advance(4 * HOUR - 1000);
      expect((await sweepNow()).map((i) => i.refId)).not.toContain(e.id);

      t.clock.advance(1000);
      expect((await sweepNow()).map((i) => i.refId)).toContain(e.id);
      const up = await waitFor(async () => {
        const now = await read(issue, e.id);
        return now.role === 'admin' ? now : undefined;
      });
      expect(up).toMatchObject({
        level: 1,
        member: null,
        status: 'open',
        breachedAt: null,
        ackDueAt: new Date(raisedAt + 6 * HOUR).toISOString(),
        remaining: { ackSeconds: 2 * 3600 },
      });
      expect(await dueAt(e.id)).toBe(up.ackDueAt);
      expect((await communicationsOf(e.id)).map((c) => c.audience)).toEqual([
        `architect (${architect.userId})`,
        'admin',
      ]);
      expect(await activity(issue, 'escalation-1-response')).toMatchObject([
        { owner_role: 'admin' },
      ]);

      t.clock.advance(2 * HOUR);
      expect((await sweepNow()).map((i) => i.refId)).toContain(e.id);
      const breached = await waitFor(async () => {
        const now = await read(issue, e.id);
        return now.breachedAt !== null ? now : undefined;
      });
      expect(breached).toMatchObject({
        role: 'admin',
        breachedAt: new Date(raisedAt + 6 * HOUR).toISOString(),
        remaining: { ackSeconds: 0 },
      });
      expect(await dueAt(e.id)).toBeUndefined();
      const [event] = await eventsOf('escalation.breached', e.id);
      expect(event?.data).toMatchObject({ issue, role: 'admin', target: 'ack' });
      expect(await communicationsOf(e.id)).toHaveLength(3);
    } finally {
      await worker.stop(1000);
    }
  });

  it('breaches an escalation with no level above when it is not acknowledged in time', async () => {
    await setChain([{ role: 'architect', ackWithinHours: 4 }]);
    const issue = await newIssue();
    const e = await escalate(issue);
    t.clock.advance(3 * HOUR);
    expect(await tick(e.id)).toBe('not-due');
    expect((await read(issue, e.id)).breachedAt).toBeNull();
    t.clock.advance(1 * HOUR);
    expect(await tick(e.id)).toBe('moved');
    expect(await tick(e.id)).toBe('not-due');
    expect(await eventsOf('escalation.breached', e.id)).toHaveLength(1);
    expect((await read(issue, e.id)).breachedAt).toBe(
      new Date(new Date(e.createdAt).getTime() + 4 * HOUR).toISOString(),
    );
  });

  it('breaches an acknowledged escalation whose answer is past its target', async () => {
    await setChain([]);
    const issue = await newIssue();
    const e = await escalate(issue, { ackWithinHours: 2, answerWithinHours: 24 });
    t.clock.advance(1 * HOUR);
    const acked = await act(issue, e.id, { action: 'acknowledge' }, arch);
    expect(acked.json()).toMatchObject({
      status: 'acknowledged',
      acknowledgedAt: t.clock.now().toISOString(),
      remaining: { answerSeconds: 23 * 3600 },
    });
    expect(acked.json().remaining.ackSeconds).toBeUndefined();
    expect(await dueAt(e.id)).toBe(e.answerDueAt);
    t.clock.advance(23 * HOUR);
    expect(await tick(e.id)).toBe('moved');
    const now = await read(issue, e.id);
    expect(now).toMatchObject({ status: 'acknowledged', breachedAt: e.answerDueAt });
    const [event] = await eventsOf('escalation.breached', e.id);
    expect(event?.data).toMatchObject({ target: 'answer', role: 'architect' });
  });

  it('pauses while waiting on the requester and shifts the targets by the time paused on resume', async () => {
    await setChain([]);
    const issue = await newIssue();
    const e = await escalate(issue, { ackWithinHours: 4, answerWithinHours: 48 });
    const raisedAt = new Date(e.createdAt).getTime();
    t.clock.advance(1 * HOUR);
    const paused = await act(issue, e.id, { action: 'pause', text: 'Need the failing logs' });
    expect(paused.json()).toMatchObject({ paused: true, remaining: { ackSeconds: 3 * 3600 } });
    expect(await dueAt(e.id)).toBeUndefined();

    t.clock.advance(10 * HOUR);
    expect((await read(issue, e.id)).remaining).toEqual({
      ackSeconds: 3 * 3600,
      answerSeconds: 47 * 3600,
    });
    expect(await tick(e.id)).toBe('not-due');
    expect((await act(issue, e.id, { action: 'pause' })).statusCode).toBe(409);

    const resumed = (await act(issue, e.id, { action: 'resume' })).json();
    expect(resumed).toMatchObject({
      paused: false,
      pausedSeconds: 10 * 3600,
      ackDueAt: new Date(raisedAt + 14 * HOUR).toISOString(),
      answerDueAt: new Date(raisedAt + 58 * HOUR).toISOString(),
      remaining: { ackSeconds: 3 * 3600 },
      role: 'architect',
      breachedAt: null,
    });
    expect(await dueAt(e.id)).toBe(resumed.ackDueAt);
    t.clock.advance(3 * HOUR - 1000);
    expect(await tick(e.id)).toBe('not-due');
    t.clock.advance(1000);
    expect(await tick(e.id)).toBe('moved');
  });

  it('does nothing for an item gone stale: acknowledged, resolved, or deleted', async () => {
    await setChain([]);
    const issue = await newIssue();
    const e = await escalate(issue, { ackWithinHours: 1 });
    await act(issue, e.id, { action: 'acknowledge' });
    t.clock.advance(2 * HOUR);
    expect(await tick(e.id)).toBe('not-due');
    expect((await read(issue, e.id)).breachedAt).toBeNull();
    await act(issue, e.id, { action: 'resolve' });
    t.clock.advance(100 * HOUR);
    expect(await tick(e.id)).toBe('not-due');
    expect(await dueAt(e.id)).toBeUndefined();
    expect(await tick(uuidv7())).toBe('gone');
  });

  it('lets a late move catch the clock up first, as the job would have', async () => {
    await setChain([
      { role: 'architect', ackWithinHours: 4 },
      { role: 'admin', ackWithinHours: 2 },
    ]);
    const issue = await newIssue();
    const e = await escalate(issue);
    t.clock.advance(5 * HOUR);
    const acked = (await act(issue, e.id, { action: 'acknowledge' })).json();
    expect(acked).toMatchObject({ status: 'acknowledged', role: 'admin', level: 1 });
    expect((await communicationsOf(e.id)).map((c) => c.audience)).toEqual(['architect', 'admin']);
  });
});

describe('moves that make no sense', () => {
  it('answers 409 naming the state', async () => {
    await setChain([]);
    const issue = await newIssue();
    const e = await escalate(issue);
    expect((await act(issue, e.id, { action: 'resume' })).json()).toMatchObject({
      status: 409,
      detail: 'The escalation is not paused',
    });
    await act(issue, e.id, { action: 'acknowledge' });
    expect((await act(issue, e.id, { action: 'acknowledge' })).json()).toMatchObject({
      status: 409,
      detail: 'The escalation is acknowledged; only an open escalation can be acknowledged',
    });
    await act(issue, e.id, { action: 'resolve' });
    for (const action of ['acknowledge', 'answer', 'resolve', 'pause', 'resume']) {
      const res = await act(issue, e.id, { action, text: 'x' });
      expect(res.statusCode, action).toBe(409);
    }
    expect((await act(issue, e.id, { action: 'resolve' })).json().detail).toBe(
      'The escalation is already resolved',
    );
  });
});

describe('resolving', () => {
  it('returns the issue to the phase before once no escalation of it is open', async () => {
    await setChain([]);
    const issue = await newIssue('code_review');
    const first = await escalate(issue);
    const second = await escalate(issue, { role: 'developer' });
    expect(second.activity).toBe('escalation-2-response');
    expect(await phaseOf(issue)).toBe('escalated');
    const r1 = await act(issue, first.id, { action: 'resolve' });
    expect(r1.json()).toMatchObject({
      status: 'resolved',
      resolvedAt: t.clock.now().toISOString(),
      remaining: {},
    });
    expect(await phaseOf(issue)).toBe('escalated');
    await act(issue, second.id, { action: 'answer', text: 'Done.' });
    await act(issue, second.id, { action: 'resolve' });
    expect(await phaseOf(issue)).toBe('code_review');
    expect(await dueAt(first.id)).toBeUndefined();
    expect(await dueAt(second.id)).toBeUndefined();
  });
});

describe('the escalation chain', () => {
  it('is read by any member and set by those who edit projects', async () => {
    const levels = [
      { role: 'architect', ackWithinHours: 24 },
      { role: 'admin', ackWithinHours: 8 },
    ];
    const put = await setChain(levels);
    expect(put).toMatchObject({ levels, updatedAt: t.clock.now().toISOString() });
    const get = await t.app.inject({
      method: 'GET',
      url: `${base}/escalation-chain`,
      headers: view.auth,
    });
    expect(get.json()).toEqual(put);
    const none = await t.app.inject({
      method: 'GET',
      url: '/api/v1/orgs/esc-other/projects/app/escalation-chain',
      headers: other.auth,
    });
    expect(none.json()).toEqual({ levels: [], updatedAt: null });
  });
});

describe('access', () => {
  let issue: number;
  let e: { id: string };
  beforeAll(async () => {
    issue = await newIssue();
    e = await escalate(issue);
  });

  const routes = () => [
    { method: 'POST' as const, url: `/issues/${issue}/escalations`, payload: escalateBody() },
    { method: 'GET' as const, url: `/issues/${issue}/escalations` },
    { method: 'GET' as const, url: `/issues/${issue}/escalations/${e.id}` },
    {
      method: 'PATCH' as const,
      url: `/issues/${issue}/escalations/${e.id}`,
      payload: { action: 'acknowledge' },
    },
    { method: 'GET' as const, url: '/escalation-chain' },
    {
      method: 'PUT' as const,
      url: '/escalation-chain',
      payload: { levels: [{ role: 'admin', ackWithinHours: 1 }] },
    },
  ];

  async function snapshot() {
    const { rows } = await sql`
      SELECT (SELECT json_agg(e ORDER BY id) FROM escalations e WHERE org_id = ${owner.orgId}) AS e,
             (SELECT json_agg(c) FROM escalation_chains c WHERE org_id = ${owner.orgId}) AS c,
             (SELECT count(*) FROM communications WHERE org_id = ${owner.orgId}) AS n`.execute(
      t.database.db,
    );
    return JSON.stringify(rows);
  }

  it("hides another org's escalations and chain behind a 404, and changes nothing", async () => {
    const before = await snapshot();
    for (const r of routes()) {
      const res = await t.app.inject({ ...r, url: `${base}${r.url}`, headers: other.auth });
      expect(res.statusCode, `${r.method} ${r.url}`).toBe(404);
      expect(res.json().detail).toBe('Organization not found');
    }
    // Our ids under the outsider's own org: their issue #2 has no such escalation.
    for (const r of routes().filter((x) => x.url.includes(e.id))) {
      const url = `/api/v1/orgs/esc-other/projects/app${r.url.replace(`/issues/${issue}/`, '/issues/2/')}`;
      const res = await t.app.inject({ ...r, url, headers: other.auth });
      expect(res.statusCode, `${r.method} ${url}`).toBe(404);
      expect(res.json().detail).toBe('Escalation not found');
    }
    expect(await snapshot()).toBe(before);
  });

  it('refuses every change to a viewer with a 403, and the chain to a developer', async () => {
    const before = await snapshot();
    for (const r of routes().filter((x) => x.method !== 'GET')) {
      const res = await t.app.inject({ ...r, url: `${base}${r.url}`, headers: view.auth });
      expect(res.statusCode, `${r.method} ${r.url}`).toBe(403);
    }
    const chain = routes().find((r) => r.method === 'PUT')!;
    const res = await t.app.inject({ ...chain, url: `${base}${chain.url}`, headers: dev.auth });
    expect(res.statusCode).toBe(403);
    expect(await snapshot()).toBe(before);
  });

  it('lets the role it was escalated to acknowledge and answer it, but nothing else', async () => {
    const mine = await escalate(await newIssue(), { role: 'reviewer' });
    const number = mine.issue as number;
    // A viewer it was not escalated to is refused; the reviewer may only acknowledge and answer.
    expect((await act(number, mine.id, { action: 'acknowledge' }, view)).statusCode).toBe(403);
    expect((await act(number, mine.id, { action: 'resolve' }, rev)).statusCode).toBe(403);
    expect((await act(number, mine.id, { action: 'acknowledge' }, rev)).statusCode).toBe(200);
    const answered = await act(number, mine.id, { action: 'answer', text: 'Reviewed.' }, rev);
    expect(answered.statusCode, answered.body).toBe(200);
    expect(answered.json()).toMatchObject({ status: 'answered' });
    const other = await escalate(await newIssue());
    expect(
      (await act(other.issue as number, other.id, { action: 'acknowledge' }, rev)).statusCode,
    ).toBe(403);
  });

  it('lets a viewer read', async () => {
    for (const r of routes().filter((x) => x.method === 'GET')) {
      const res = await t.app.inject({ ...r, url: `${base}${r.url}`, headers: view.auth });
      expect(res.statusCode, r.url).toBe(200);
    }
  });
});
