import { sql } from 'kysely';
import { uuidv7 } from 'uuidv7';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { withOrgAsSystem } from '../../src/db/system.ts';
import { fireDueCheckpoint } from '../../src/jobs/checkpoint-due.ts';
import { JOB_SCHEMA } from '../../src/jobs/queue.ts';
import { sweep } from '../../src/jobs/sweep.ts';
import { startWorker, type Worker } from '../../src/jobs/worker.ts';
import { onActivityDone } from '../../src/modules/checkpoints/checkpoints.hooks.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { apiToken, memberOf, ownerOfNewOrg, type Session } from '../helpers/actors.ts';
import { waitFor } from '../helpers/wait.ts';
import { workerDeps } from '../helpers/worker-deps.ts';

let t: TestApp;
let owner: Session & { orgId: string };
let other: Session & { orgId: string };
let viewer: Session;
/** The owner's calls go through an admin API token: a JWT would expire as the clock moves. */
let admin: { authorization: string };
const workers: Worker[] = [];
const base = '/api/v1/orgs/cp/projects/app/issues';
// Tuesday 12 August 2025, 08:00 UTC (the seed report's date).
const START = new Date('2025-08-12T08:00:00Z');

beforeAll(async () => {
  t = await startTestApp({ GATEHOUSE_JOB_POLL_SECONDS: '1' });
  t.clock.set(START);
  owner = await ownerOfNewOrg(t.app, 'cp');
  other = await ownerOfNewOrg(t.app, 'cp-other');
  viewer = await memberOf(t.app, owner, 'cp', 'viewer');
  admin = (await apiToken(t.app, owner, 'cp', 'admin')).auth;
  for (const [slug, auth] of [
    ['cp', owner.auth],
    ['cp-other', other.auth],
  ] as const) {
    const p = await t.app.inject({
      method: 'POST',
      url: `/api/v1/orgs/${slug}/projects`,
      headers: auth,
      payload: { key: 'app', name: 'App' },
    });
    expect(p.statusCode).toBe(201);
    const i = await t.app.inject({
      method: 'POST',
      url: `/api/v1/orgs/${slug}/projects/app/issues`,
      headers: auth,
      payload: { number: 2, title: 'Client Organization Management' },
    });
    expect(i.statusCode).toBe(201);
  }
});
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop(1000)));
});
afterAll(() => t.close());

let issueCounter = 100;
async function newIssue(): Promise<number> {
  const number = issueCounter++;
  const res = await t.app.inject({
    method: 'POST',
    url: base,
    headers: admin,
    payload: { number, title: `Issue ${number}` },
  });
  expect(res.statusCode).toBe(201);
  return number;
}

async function create(number: number, payload: Record<string, unknown>) {
  const res = await t.app.inject({
    method: 'POST',
    url: `${base}/${number}/checkpoints`,
    headers: admin,
    payload,
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json();
}

async function worker(): Promise<Worker> {
  const w = await startWorker(workerDeps(t));
  workers.push(w);
  return w;
}

/** The checkpoint's reminders, read as the owner of the database (no RLS). */
async function reminders(checkpointId: string) {
  const { rows } = await sql<{ summary: string; audience: string; created_at: Date }>`
    SELECT summary, audience, created_at FROM communications
    WHERE org_id = ${owner.orgId} AND channel = 'checkpoint' AND ref_id = ${checkpointId}
    ORDER BY id`.execute(t.database.db);
  return rows;
}

async function dueWork(checkpointId: string) {
  const { rows } = await sql<{ due_at: Date }>`SELECT due_at FROM due_work
    WHERE org_id = ${owner.orgId} AND kind = 'checkpoint.due' AND ref_id = ${checkpointId}`.execute(
    t.database.db,
  );
  return rows.map((r) => r.due_at.toISOString());
}

async function dueEvents(checkpointId: string) {
  const { rows } = await sql<{ data: { type: string; data: { dueAt: string } } }>`
    SELECT data FROM ${sql.table(`${JOB_SCHEMA}.job`)}
    WHERE name = 'webhook-fanout' AND data->>'type' = 'checkpoint.due'
      AND data->'data'->'checkpoint'->>'id' = ${checkpointId}`.execute(t.database.db);
  return rows.map((r) => r.data.data.dueAt);
}

describe('checkpoints', () => {
  it('schedules a daily check at a local time and answers when it is next due', async () => {
    t.clock.set(START);
    const c = await create(2, {
      title: 'Daily Status Check - Monitor TA analysis progress',
      recurrence: { kind: 'daily', at: '09:00' },
      ownerRole: 'qa_lead',
    });
    expect(c).toMatchObject({
      title: 'Daily Status Check - Monitor TA analysis progress',
      recurrence: { kind: 'daily', at: '09:00' },
      schedule: 'daily at 09:00 UTC',
      ownerRole: 'qa_lead',
      timeZone: 'UTC',
      state: 'scheduled',
      nextDueAt: '2025-08-12T09:00:00.000Z',
      lastDueAt: null,
    });
    expect(await dueWork(c.id)).toEqual(['2025-08-12T09:00:00.000Z']);
    const list = await t.app.inject({
      method: 'GET',
      url: `${base}/2/checkpoints`,
      headers: viewer.auth,
    });
    expect(list.statusCode).toBe(200);
    expect(list.json().items.map((i: { id: string }) => i.id)).toContain(c.id);
  });

  it('honours the time zone: weekdays at 09:00 in Berlin is 07:00 UTC in summer', async () => {
    t.clock.set(new Date('2025-08-15T10:00:00Z')); // a Friday, after nine in Berlin
    const c = await create(2, {
      title: 'Implementation Coordination',
      recurrence: { kind: 'weekdays', at: '09:00' },
      timeZone: 'europe/berlin',
    });
    expect(c).toMatchObject({ timeZone: 'Europe/Berlin', nextDueAt: '2025-08-18T07:00:00.000Z' });
    t.clock.set(START);
  });

  it('names the field of bad input', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [
        { title: 'x', recurrence: { kind: 'daily', at: '09:00' }, timeZone: 'Mars/Base' },
        'body/timeZone',
      ],
      [{ title: 'x', recurrence: { kind: 'daily', at: '9am' } }, 'body/recurrence/at'],
      [
        { title: 'x', recurrence: { kind: 'once', date: '2025-08-01', at: '09:00' } },
        'body/recurrence/date',
      ],
      [
        { title: 'x', recurrence: { kind: 'once', date: '2025-02-30', at: '09:00' } },
        'body/recurrence/date',
      ],
      [
        { title: 'x', recurrence: { kind: 'activity_done', activity: 'nope' } },
        'body/recurrence/activity',
      ],
      [
        { title: 'x', recurrence: { kind: 'every_n_days', days: 0, at: '09:00' } },
        'body/recurrence/days',
      ],
      [{ title: 'x'.repeat(301), recurrence: { kind: 'daily', at: '09:00' } }, 'body/title'],
    ];
    for (const [payload, field] of cases) {
      const res = await t.app.inject({
        method: 'POST',
        url: `${base}/2/checkpoints`,
        headers: admin,
        payload,
      });
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.json().errors.map((e: { path: string }) => e.path)).toContain(field);
    }
  });

  it('fires each due time exactly once when two workers share the work', async () => {
    t.clock.set(START);
    const number = await newIssue();
    const ids: string[] = [];
    for (let i = 0; i < 4; i++)
      ids.push(
        (
          await create(number, {
            title: `Check ${i}`,
            recurrence: { kind: 'daily', at: '09:00' },
            ownerRole: 'qa_lead',
          })
        ).id,
      );
    await worker();
    await worker();
    t.clock.set(new Date('2025-08-12T09:00:30Z'));
    const taken = await sweep({ db: t.database.db, clock: t.clock });
    expect(taken.filter((i) => ids.includes(i.refId))).toHaveLength(4);
    await waitFor(async () =>
      (await Promise.all(ids.map(dueWork))).every((d) => d[0] === '2025-08-13T09:00:00.000Z')
        ? true
        : undefined,
    );
    for (const id of ids) {
      const r = await reminders(id);
      expect(r).toHaveLength(1);
      expect(r[0]).toMatchObject({ audience: 'qa_lead' });
      expect(r[0]!.summary).toMatch(/^Checkpoint due: Check \d — daily at 09:00 UTC$/);
      expect(await dueEvents(id)).toEqual(['2025-08-12T09:00:00.000Z']);
    }
    const got = await t.app.inject({
      method: 'GET',
      url: `${base}/${number}/checkpoints/${ids[0]}`,
      headers: admin,
    });
    expect(got.json()).toMatchObject({
      state: 'due',
      lastDueAt: '2025-08-12T09:00:00.000Z',
      nextDueAt: '2025-08-13T09:00:00.000Z',
    });
    // The same job delivered twice at once (a retry racing the first): still one reminder.
    const outcomes = await Promise.all(
      [1, 2].map(() =>
        fireDueCheckpoint(
          { db: t.database.db, clock: t.clock },
          { id: uuidv7(), data: { orgId: owner.orgId, refId: ids[0]! } },
        ),
      ),
    );
    expect(outcomes).toEqual(['not-due', 'not-due']);
    expect(await reminders(ids[0]!)).toHaveLength(1);
    // A day later: one more each, for the next due time.
    t.clock.set(new Date('2025-08-13T09:01:00Z'));
    await sweep({ db: t.database.db, clock: t.clock });
    await waitFor(async () =>
      (await Promise.all(ids.map(reminders))).every((r) => r.length === 2) ? true : undefined,
    );
    for (const id of ids) expect(await dueEvents(id)).toHaveLength(2);
    const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM audit_events
      WHERE org_id = ${owner.orgId} AND action = 'checkpoint.due' AND actor_type = 'system'
        AND target_id = ANY(${ids}::text[])`.execute(t.database.db);
    expect(rows[0]!.n).toBe(8);
  });

  it('fires one reminder, not one per missed day, and once only when two jobs race for it', async () => {
    t.clock.set(START);
    const number = await newIssue();
    const c = await create(number, { title: 'Daily', recurrence: { kind: 'daily', at: '09:00' } });
    t.clock.set(new Date('2025-08-15T12:00:00Z'));
    const deps = { db: t.database.db, clock: t.clock };
    // Two jobs for the same due time at once (two processes): the row lock lets one fire.
    const outcomes = await Promise.all(
      [1, 2].map(() =>
        fireDueCheckpoint(deps, { id: uuidv7(), data: { orgId: owner.orgId, refId: c.id } }),
      ),
    );
    expect(outcomes.sort()).toEqual(['fired', 'not-due']);
    expect(await reminders(c.id)).toHaveLength(1);
    expect(await dueWork(c.id)).toEqual(['2025-08-16T09:00:00.000Z']);
  });

  it('completes: acknowledges a due checkpoint, or does today’s check early and skips it', async () => {
    t.clock.set(START);
    const number = await newIssue();
    const c = await create(number, { title: 'Daily', recurrence: { kind: 'daily', at: '09:00' } });
    const complete = () =>
      t.app.inject({
        method: 'POST',
        url: `${base}/${number}/checkpoints/${c.id}/complete`,
        headers: admin,
      });
    // 08:00, due at 09:00 today: done early, today's reminder skipped.
    const early = await complete();
    expect(early.statusCode).toBe(200);
    expect(early.json()).toMatchObject({
      state: 'scheduled',
      lastCompletedAt: START.toISOString(),
      nextDueAt: '2025-08-13T09:00:00.000Z',
    });
    expect(await dueWork(c.id)).toEqual(['2025-08-13T09:00:00.000Z']);
    // It comes due the next day and is acknowledged: the next due time stays.
    t.clock.set(new Date('2025-08-13T09:00:00Z'));
    expect(
      await fireDueCheckpoint(
        { db: t.database.db, clock: t.clock },
        { id: uuidv7(), data: { orgId: owner.orgId, refId: c.id } },
      ),
    ).toBe('fired');
    t.clock.set(new Date('2025-08-13T10:00:00Z'));
    expect((await complete()).json()).toMatchObject({
      state: 'scheduled',
      lastCompletedAt: '2025-08-13T10:00:00.000Z',
      nextDueAt: '2025-08-14T09:00:00.000Z',
    });
    t.clock.set(START);
  });

  it('moves the due work when the schedule changes, and cancels it when deleted', async () => {
    t.clock.set(START);
    const number = await newIssue();
    const c = await create(number, { title: 'Daily', recurrence: { kind: 'daily', at: '09:00' } });
    const patched = await t.app.inject({
      method: 'PATCH',
      url: `${base}/${number}/checkpoints/${c.id}`,
      headers: admin,
      payload: {
        title: 'Every other day',
        recurrence: { kind: 'every_n_days', days: 2, at: '07:30' },
        ownerRole: 'architect',
      },
    });
    expect(patched.statusCode, patched.body).toBe(200);
    expect(patched.json()).toMatchObject({
      title: 'Every other day',
      recurrence: { kind: 'every_n_days', days: 2, at: '07:30', from: '2025-08-12' },
      ownerRole: 'architect',
      nextDueAt: '2025-08-14T07:30:00.000Z',
    });
    expect(await dueWork(c.id)).toEqual(['2025-08-14T07:30:00.000Z']);
    const bad = await t.app.inject({
      method: 'PATCH',
      url: `${base}/${number}/checkpoints/${c.id}`,
      headers: admin,
      payload: { timeZone: 'Nowhere/Land' },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().errors[0].path).toBe('body/timeZone');
    const del = await t.app.inject({
      method: 'DELETE',
      url: `${base}/${number}/checkpoints/${c.id}`,
      headers: admin,
    });
    expect(del.statusCode).toBe(204);
    expect(await dueWork(c.id)).toEqual([]);
    const gone = await t.app.inject({
      method: 'GET',
      url: `${base}/${number}/checkpoints/${c.id}`,
      headers: admin,
    });
    expect(gone.statusCode).toBe(404);
  });

  it('fires a checkpoint waiting for an activity when that activity is done', async () => {
    t.clock.set(START);
    const number = await newIssue();
    const act = await t.app.inject({
      method: 'POST',
      url: `${base}/${number}/activities`,
      headers: admin,
      payload: {
        key: 'ta-analysis',
        title: 'Technical Architect analysis',
        ownerRole: 'architect',
        durationDays: { min: 1, max: 2 },
      },
    });
    expect(act.statusCode, act.body).toBe(201);
    const c = await create(number, {
      title: 'Implementation Coordination',
      recurrence: { kind: 'activity_done', activity: 'ta-analysis' },
      ownerRole: 'developer',
    });
    expect(c).toMatchObject({
      state: 'waiting',
      nextDueAt: null,
      schedule: 'when activity ta-analysis is done',
    });
    expect(await dueWork(c.id)).toEqual([]);
    t.clock.set(new Date('2025-08-13T15:00:00Z'));
    const issueId = await sql<{ id: string }>`SELECT id FROM tracked_issues
      WHERE org_id = ${owner.orgId} AND number = ${number}`
      .execute(t.database.db)
      .then((r) => r.rows[0]!.id);
    const fired = await withOrgAsSystem(
      t.database.db,
      owner.orgId,
      { reason: 'test' },
      (trx, ctx) => onActivityDone(trx, ctx, issueId, 'ta-analysis', t.clock.now()),
    );
    expect(fired).toBe(1);
    // The same moment again fires nothing twice; another activity fires nothing.
    const again = await withOrgAsSystem(
      t.database.db,
      owner.orgId,
      { reason: 'test' },
      async (trx, ctx) =>
        (await onActivityDone(trx, ctx, issueId, 'ta-analysis', t.clock.now())) +
        (await onActivityDone(trx, ctx, issueId, 'other', t.clock.now())),
    );
    expect(again).toBe(0);
    const r = await reminders(c.id);
    expect(r).toHaveLength(1);
    expect(r[0]).toMatchObject({
      audience: 'developer',
      summary: 'Checkpoint due: Implementation Coordination — activity ta-analysis is done',
    });
    expect(await dueEvents(c.id)).toEqual(['2025-08-13T15:00:00.000Z']);
    const got = await t.app.inject({
      method: 'GET',
      url: `${base}/${number}/checkpoints/${c.id}`,
      headers: admin,
    });
    expect(got.json()).toMatchObject({ state: 'due', lastDueAt: '2025-08-13T15:00:00.000Z' });
    t.clock.set(START);
  });

  describe('access', () => {
    let id: string;
    beforeAll(async () => {
      // Sessions' access tokens were issued at START and live 10 minutes.
      t.clock.set(START);
      id = (await create(2, { title: 'Guarded', recurrence: { kind: 'daily', at: '09:00' } })).id;
    });
    const routes = () => [
      {
        method: 'POST' as const,
        url: `${base}/2/checkpoints`,
        payload: { title: 'x', recurrence: { kind: 'daily', at: '09:00' } },
      },
      { method: 'PATCH' as const, url: `${base}/2/checkpoints/${id}`, payload: { title: 'y' } },
      { method: 'DELETE' as const, url: `${base}/2/checkpoints/${id}` },
      { method: 'POST' as const, url: `${base}/2/checkpoints/${id}/complete` },
    ];

    it('gives a viewer a 403 on every change, and changes nothing', async () => {
      for (const r of routes()) {
        const res = await t.app.inject({ ...r, headers: viewer.auth });
        expect(res.statusCode, `${r.method} ${r.url}`).toBe(403);
      }
      const got = await t.app.inject({
        method: 'GET',
        url: `${base}/2/checkpoints/${id}`,
        headers: admin,
      });
      expect(got.json()).toMatchObject({ title: 'Guarded', lastCompletedAt: null });
    });

    it("hides another org's checkpoints behind a 404, read or changed", async () => {
      for (const r of [
        ...routes(),
        { method: 'GET' as const, url: `${base}/2/checkpoints/${id}` },
      ]) {
        // Through the other org's own path: its issue #2 exists, the checkpoint is not its.
        const res = await t.app.inject({
          ...r,
          url: r.url.replace('/orgs/cp/', '/orgs/cp-other/'),
          headers: other.auth,
        });
        if (r.method === 'POST' && !r.url.endsWith('/complete')) expect(res.statusCode).toBe(201);
        else expect(res.statusCode, `${r.method} ${r.url}`).toBe(404);
        // Through this org's path with the other org's token.
        const direct = await t.app.inject({ ...r, headers: other.auth });
        expect(direct.statusCode).toBe(404);
      }
      const got = await t.app.inject({
        method: 'GET',
        url: `${base}/2/checkpoints/${id}`,
        headers: admin,
      });
      expect(got.json()).toMatchObject({ title: 'Guarded', lastCompletedAt: null });
    });
  });
});
