import http from 'node:http';
import { sql } from 'kysely';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../src/db/connection.ts';
import type { App } from '../../src/http/types.ts';
import { redactUrl } from '../../src/logger.ts';
import { appOn } from '../../src/runtime.ts';
import { memberOf, ownerOfNewOrg, type Session } from '../helpers/actors.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { junitXml } from '../helpers/junit-gen.ts';

let t: TestApp;
let base: string;
let alpha: Session & { orgId: string };
let beta: Session & { orgId: string };

/** An open event stream over plain HTTP: frames as they arrive, until closed. */
interface Reader {
  status: number;
  headers: http.IncomingHttpHeaders;
  text(): string;
  /** Waits (bounded) until the stream holds a frame of this event type; returns its data. */
  next(type: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  close(): void;
}

/** Each stream on a connection of its own (no keep-alive), so closing it closes the socket. */
async function openStream(url: string, headers: Record<string, string> = {}): Promise<Reader> {
  const req = http.get(url, { headers, agent: false });
  req.on('error', () => undefined); // closing a stream aborts its request
  const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
    req.once('response', resolve);
    req.once('error', reject);
  });
  let buffer = '';
  res.setEncoding('utf8');
  res.on('data', (chunk: string) => {
    buffer += chunk;
  });
  res.on('error', () => undefined);
  const used = new Set<number>();
  const frames = () =>
    buffer
      .split('\n\n')
      .slice(0, -1)
      .map((f) => {
        const lines = f.split('\n');
        const field = (n: string) => lines.find((l) => l.startsWith(`${n}: `))?.slice(n.length + 2);
        return { event: field('event'), data: field('data') };
      });
  return {
    status: res.statusCode ?? 0,
    headers: res.headers,
    text: () => buffer,
    async next(type, timeoutMs = 10_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const all = frames();
        const at = all.findIndex((f, i) => !used.has(i) && f.event === type);
        if (at >= 0) {
          used.add(at);
          return JSON.parse(all[at]!.data ?? '{}') as Record<string, unknown>;
        }
        if (Date.now() > until)
          throw new Error(`no ${type} event within ${timeoutMs} ms: ${buffer}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    close: () => req.destroy(),
  };
}

async function upload(app: App, session: Session, slug: string, build: string) {
  const res = await app.inject({
    method: 'POST',
    url: `/api/v1/orgs/${slug}/projects/app/runs?issue=2&commit=c1&branch=main&build=${build}`,
    headers: { ...session.auth, 'content-type': 'application/xml' },
    payload: junitXml(5, { failEvery: 5 }),
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json<{ id: string }>();
}

beforeAll(async () => {
  t = await startTestApp({
    GATEHOUSE_EVENTS_MAX_PER_USER: '3',
    GATEHOUSE_EVENTS_HEARTBEAT_SECONDS: '1',
  });
  base = await t.app.listen({ port: 0, host: '127.0.0.1' });
  alpha = await ownerOfNewOrg(t.app, 'ev-alpha');
  beta = await ownerOfNewOrg(t.app, 'ev-beta');
  for (const [s, slug] of [
    [alpha, 'ev-alpha'],
    [beta, 'ev-beta'],
  ] as const) {
    const res = await t.app.inject({
      method: 'POST',
      url: `/api/v1/orgs/${slug}/projects`,
      headers: s.auth,
      payload: { key: 'app', name: 'App' },
    });
    expect(res.statusCode).toBe(201);
  }
});

afterAll(async () => {
  await t.close();
});

describe('live events (server-sent events per org)', () => {
  it("streams a completed run to its own org's stream and never to another org's", async () => {
    const mine = await openStream(`${base}/api/v1/orgs/ev-alpha/events`, alpha.auth);
    const theirs = await openStream(`${base}/api/v1/orgs/ev-beta/events`, beta.auth);
    try {
      expect(mine.status).toBe(200);
      expect(mine.headers['content-type']).toMatch(/^text\/event-stream/);
      expect(await mine.next('ready')).toEqual({ org: 'ev-alpha' });
      await theirs.next('ready');

      const run = await upload(t.app, alpha, 'ev-alpha', 'b1');
      const event = await mine.next('run.completed');
      expect(event).toMatchObject({
        type: 'run.completed',
        data: { runId: run.id, project: 'app', issue: 2, totals: { tests: 5, failed: 1 } },
      });
      expect(typeof event['id']).toBe('string');
      expect(typeof event['timestamp']).toBe('string');
      // The same run also judged the issue's gates: the gate change follows on the stream.
      await mine.next('gate.changed');

      // Beta's own event arrives on beta's stream, after alpha's would have: so alpha's is
      // known not to be on its way.
      await upload(t.app, beta, 'ev-beta', 'b1');
      await theirs.next('run.completed');
      expect(theirs.text()).not.toContain(run.id);
      expect(theirs.text()).not.toContain('ev-alpha');
    } finally {
      mine.close();
      theirs.close();
    }
  });

  it("hides another org's stream and ticket behind a 404", async () => {
    const stream = await openStream(`${base}/api/v1/orgs/ev-alpha/events`, beta.auth);
    expect(stream.status).toBe(404);
    const ticket = await t.app.inject({
      method: 'POST',
      url: '/api/v1/orgs/ev-alpha/events/ticket',
      headers: beta.auth,
    });
    expect(ticket.statusCode).toBe(404);
    const anonymous = await openStream(`${base}/api/v1/orgs/ev-alpha/events`);
    expect(anonymous.status).toBe(401);
  });

  it('opens a stream once with a one-time ticket, and refuses it after use or expiry', async () => {
    const issue = async (s: Session, slug: string) => {
      const res = await t.app.inject({
        method: 'POST',
        url: `/api/v1/orgs/${slug}/events/ticket`,
        headers: s.auth,
      });
      expect(res.statusCode).toBe(201);
      const body = res.json<{ ticket: string; expiresIn: number }>();
      expect(body.expiresIn).toBeGreaterThan(0);
      return body.ticket;
    };
    const ticket = await issue(alpha, 'ev-alpha');
    const url = `${base}/api/v1/orgs/ev-alpha/events?ticket=${encodeURIComponent(ticket)}`;
    const stream = await openStream(url);
    try {
      expect(stream.status).toBe(200);
      await stream.next('ready');
      await upload(t.app, alpha, 'ev-alpha', 'b-ticket');
      await stream.next('run.completed');
    } finally {
      stream.close();
    }
    expect((await openStream(url)).status).toBe(401);

    // A ticket of alpha's does not open beta's stream, even unspent.
    const other = await issue(alpha, 'ev-alpha');
    const wrongOrg = await openStream(
      `${base}/api/v1/orgs/ev-beta/events?ticket=${encodeURIComponent(other)}`,
    );
    expect(wrongOrg.status).toBe(404);

    const late = await issue(alpha, 'ev-alpha');
    t.clock.advance(t.config.events.ticketSeconds * 1000 + 1);
    const expired = await openStream(
      `${base}/api/v1/orgs/ev-alpha/events?ticket=${encodeURIComponent(late)}`,
    );
    expect(expired.status).toBe(401);
    expect((await openStream(`${base}/api/v1/orgs/ev-alpha/events?ticket=gte_forged`)).status).toBe(
      401,
    );
  });

  it('keeps the ticket out of the logs', () => {
    const logged = redactUrl('/api/v1/orgs/ev-alpha/events?ticket=gte_secretvalue');
    expect(logged).not.toContain('secretvalue');
    expect(logged).toContain('ticket=[REDACTED]');
  });

  it('lets a viewer watch, sends heartbeats, and bounds the streams one user may hold', async () => {
    const viewer = await memberOf(t.app, alpha, 'ev-alpha', 'viewer');
    const url = `${base}/api/v1/orgs/ev-alpha/events`;
    const open = [
      await openStream(url, viewer.auth),
      await openStream(url, viewer.auth),
      await openStream(url, viewer.auth),
    ];
    try {
      expect(open.map((s) => s.status)).toEqual([200, 200, 200]);
      await open[0]!.next('ready');
      const fourth = await openStream(url, viewer.auth);
      expect(fourth.status).toBe(429);
      await expect.poll(() => open[0]!.text(), { timeout: 5000 }).toContain(': heartbeat');
    } finally {
      for (const s of open) s.close();
    }
    // Closed streams free their places.
    await expect.poll(() => t.app.eventHub.openStreams(), { timeout: 5000 }).toBe(0);
    const again = await openStream(url, viewer.auth);
    expect(again.status).toBe(200);
    again.close();
  });

  it('reaches streams open on another process of the same database', async () => {
    const database = connect(t.config.databaseUrl!, t.config.db, pino({ level: 'silent' }));
    const other = await appOn({
      config: t.config,
      database,
      box: t.box,
      logger: pino({ level: 'silent' }),
      clock: t.clock,
    });
    await other.app.ready();
    const otherBase = await other.app.listen({ port: 0, host: '127.0.0.1' });
    const stream = await openStream(`${otherBase}/api/v1/orgs/ev-alpha/events`, alpha.auth);
    try {
      expect(stream.status).toBe(200);
      await stream.next('ready');
      const run = await upload(t.app, alpha, 'ev-alpha', 'b-other-process');
      expect(await stream.next('run.completed')).toMatchObject({ data: { runId: run.id } });
    } finally {
      stream.close();
      await other.app.close();
      await database.close();
    }
  });

  it('comes back after losing its database connection, and tells streams to resync', async () => {
    const stream = await openStream(`${base}/api/v1/orgs/ev-alpha/events`, alpha.auth);
    try {
      await stream.next('ready');
      const { rows } = await sql<{ ended: boolean }>`
        SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity
        WHERE application_name = 'gatehouse-events' AND datname = current_database()`.execute(
        t.database.db,
      );
      expect(rows.map((r) => r.ended)).toEqual([true]);
      await stream.next('resync');
      const run = await upload(t.app, alpha, 'ev-alpha', 'b-after-reconnect');
      expect(await stream.next('run.completed')).toMatchObject({ data: { runId: run.id } });
    } finally {
      stream.close();
    }
  });
});
