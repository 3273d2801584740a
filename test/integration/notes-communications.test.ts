import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { apiToken, memberOf, ownerOfNewOrg, type Session } from '../helpers/actors.ts';

let t: TestApp;
let owner: Session & { orgId: string };
let other: Session & { orgId: string };
let viewer: Session;
const issue = '/api/v1/orgs/nc/projects/app/issues/2';
const NOW = new Date('2025-08-12T10:00:00Z');

beforeAll(async () => {
  t = await startTestApp();
  t.clock.set(NOW);
  owner = await ownerOfNewOrg(t.app, 'nc');
  other = await ownerOfNewOrg(t.app, 'nc-other');
  viewer = await memberOf(t.app, owner, 'nc', 'viewer');
  for (const [slug, auth] of [
    ['nc', owner.auth],
    ['nc-other', other.auth],
  ] as const) {
    const p = await t.app.inject({
      method: 'POST',
      url: `/api/v1/orgs/${slug}/projects`,
      headers: auth,
      payload: { key: 'app', name: 'App' },
    });
    expect(p.statusCode).toBe(201);
    for (const number of [2, 3]) {
      const i = await t.app.inject({
        method: 'POST',
        url: `/api/v1/orgs/${slug}/projects/app/issues`,
        headers: auth,
        payload: { number, title: `Issue ${number}` },
      });
      expect(i.statusCode).toBe(201);
    }
  }
});
afterAll(() => t.close());

const post = (url: string, payload: Record<string, unknown>, auth = owner.auth) =>
  t.app.inject({ method: 'POST', url, headers: auth, payload });
const get = (url: string, auth = owner.auth) => t.app.inject({ method: 'GET', url, headers: auth });

describe('notes', () => {
  it("writes a note signed with the signed-in user's name unless an author is given", async () => {
    const lesson = await post(`${issue}/notes`, {
      kind: 'lesson',
      text: 'Proactive Infrastructure Analysis - Early identification prevents production issues',
    });
    expect(lesson.statusCode, lesson.body).toBe(201);
    expect(lesson.json()).toMatchObject({
      kind: 'lesson',
      author: 'Test User',
      createdAt: NOW.toISOString(),
    });
    const process = await post(`${issue}/notes`, {
      kind: 'process',
      text: 'Structured Escalation Framework - Clear escalation path',
      author: 'QA Orchestrator',
    });
    expect(process.json().author).toBe('QA Orchestrator');
    const ci = await apiToken(t.app, owner, 'nc', 'admin');
    const byToken = await post(
      `${issue}/notes`,
      { kind: 'decision', text: 'Escalate to the architect' },
      ci.auth,
    );
    expect(byToken.json().author).toBe('token admin token');
  });

  it('lists notes oldest first, by kind if asked, and records each as a communication', async () => {
    await post(`${issue}/notes`, { kind: 'status', text: 'Escalation successfully managed' });
    const all = await get(`${issue}/notes`, viewer.auth);
    expect(all.statusCode).toBe(200);
    expect(all.json().items.map((n: { kind: string }) => n.kind)).toEqual([
      'lesson',
      'process',
      'decision',
      'status',
    ]);
    const lessons = await get(`${issue}/notes?kind=lesson`, viewer.auth);
    expect(lessons.json().items).toHaveLength(1);
    const comms = await get(`${issue}/communications?limit=200`);
    const notes = comms
      .json()
      .items.filter((c: { channel: string }) => c.channel === 'note')
      .map((c: { summary: string; audience: string; ref: { type: string } }) => c);
    expect(notes).toHaveLength(4);
    expect(notes).toContainEqual(
      expect.objectContaining({
        audience: 'issue team',
        summary:
          'Process improvement by QA Orchestrator: Structured Escalation Framework - Clear escalation path',
        ref: expect.objectContaining({ type: 'note' }),
      }),
    );
  });

  it('names the field of bad input', async () => {
    for (const [payload, field] of [
      [{ kind: 'gossip', text: 'x' }, 'body/kind'],
      [{ kind: 'lesson', text: '' }, 'body/text'],
      [{ kind: 'lesson', text: 'x'.repeat(10_001) }, 'body/text'],
      [{ kind: 'lesson', text: 'x', author: 'a'.repeat(201) }, 'body/author'],
      [{ kind: 'lesson', text: 'x', extra: 1 }, 'body/extra'],
    ] as const) {
      const res = await post(`${issue}/notes`, payload);
      expect(res.statusCode).toBe(400);
      expect(res.json().errors.map((e: { path: string }) => e.path)).toContain(field);
    }
    const q = await get(`${issue}/notes?kind=gossip`);
    expect(q.statusCode).toBe(400);
  });
});

describe('communications', () => {
  const comms = '/api/v1/orgs/nc/projects/app/issues/3/communications';

  it("records the seed's GitHub comment by hand and lists it among the issue's communications", async () => {
    const res = await post(comms, {
      channel: 'github_comment',
      externalId: '3177958335',
      audience: 'GitHub Issue #2 stakeholders',
      summary: 'Escalation status and TA requirements posted',
      at: '2025-08-12T07:00:00Z',
    });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({
      channel: 'github_comment',
      externalId: '3177958335',
      audience: 'GitHub Issue #2 stakeholders',
      status: null,
      ref: null,
      recordedBy: owner.userId,
      at: '2025-08-12T07:00:00.000Z',
    });
    const list = await get(comms, viewer.auth);
    expect(list.json().items[0]).toMatchObject({ externalId: '3177958335' });
  });

  it('pages newest first by when each happened, through cursors', async () => {
    for (let h = 8; h <= 9; h++)
      for (const m of ['00', '30'])
        expect(
          (
            await post(comms, {
              channel: 'meeting',
              audience: 'Technical Architect',
              summary: `sync ${h}:${m}`,
              at: `2025-08-12T0${h}:${m}:00Z`,
            })
          ).statusCode,
        ).toBe(201);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await get(
        `${comms}?limit=2${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`,
      );
      expect(page.statusCode).toBe(200);
      const body = page.json<{ items: { summary: string }[]; nextCursor: string | null }>();
      expect(body.items.length).toBeLessThanOrEqual(2);
      seen.push(...body.items.map((i) => i.summary));
      cursor = body.nextCursor;
    } while (cursor !== null);
    expect(seen).toEqual([
      'sync 9:30',
      'sync 9:00',
      'sync 8:30',
      'sync 8:00',
      'Escalation status and TA requirements posted',
    ]);
    const bad = await get(`${comms}?cursor=bm90LWEtY3Vyc29y`);
    expect(bad.statusCode).toBe(400);
    expect(bad.json().errors[0].path).toBe('querystring/cursor');
  });

  it('names the field of bad input', async () => {
    const base = { channel: 'email', audience: 'Developer', summary: 'Next steps' };
    for (const [payload, field] of [
      [{ ...base, channel: 'pigeon' }, 'body/channel'],
      [{ ...base, audience: '' }, 'body/audience'],
      [{ ...base, summary: 's'.repeat(2001) }, 'body/summary'],
      [{ ...base, externalId: 'e'.repeat(201) }, 'body/externalId'],
      [{ ...base, at: 'yesterday' }, 'body/at'],
      [{ ...base, at: '2025-08-13T10:00:00Z' }, 'body/at'],
    ] as const) {
      const res = await post(comms, payload);
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(res.json().errors.map((e: { path: string }) => e.path)).toContain(field);
    }
  });
});

describe('access', () => {
  it('gives a viewer a 403 on writing a note or recording a communication', async () => {
    const before = (await get(`${issue}/communications?limit=200`)).json().items.length;
    expect(
      (await post(`${issue}/notes`, { kind: 'lesson', text: 'x' }, viewer.auth)).statusCode,
    ).toBe(403);
    expect(
      (
        await post(
          `${issue}/communications`,
          { channel: 'email', audience: 'x', summary: 'y' },
          viewer.auth,
        )
      ).statusCode,
    ).toBe(403);
    expect((await get(`${issue}/communications?limit=200`)).json().items).toHaveLength(before);
  });

  it("hides another org's notes and communications behind a 404, and changes nothing", async () => {
    const before = (await get(`${issue}/communications?limit=200`)).json().items.length;
    for (const req of [
      { method: 'GET' as const, url: `${issue}/notes` },
      { method: 'GET' as const, url: `${issue}/communications` },
      { method: 'POST' as const, url: `${issue}/notes`, payload: { kind: 'lesson', text: 'x' } },
      {
        method: 'POST' as const,
        url: `${issue}/communications`,
        payload: { channel: 'email', audience: 'x', summary: 'y' },
      },
    ]) {
      const res = await t.app.inject({ ...req, headers: other.auth });
      expect(res.statusCode, `${req.method} ${req.url}`).toBe(404);
    }
    expect((await get(`${issue}/communications?limit=200`)).json().items).toHaveLength(before);
    // The other org's own issue #2 has none of this org's notes.
    const theirs = await get('/api/v1/orgs/nc-other/projects/app/issues/2/notes', other.auth);
    expect(theirs.json().items).toEqual([]);
  });
});
