import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { ownerOfNewOrg, PASSWORD, signup, uniqueEmail, type Session } from '../helpers/actors.ts';
import { startProxy } from '../helpers/tcp-proxy.ts';

const loginBody = (email: string, password: string) => ({
  method: 'POST' as const,
  url: '/api/v1/auth/login',
  payload: { email, password },
});

describe('sign-in under bursts and races', () => {
  let t: TestApp;
  beforeAll(async () => {
    // A queue long enough for the whole burst: the account's lockout is what must hold.
    t = await startTestApp({ GATEHOUSE_PASSWORD_HASH_QUEUE: '100' });
  });
  afterAll(() => t.close());

  it('evaluates no more passwords than the lockout allows when 30 sign-ins race (29 wrong, then the right one)', async () => {
    const email = uniqueEmail('race');
    await signup(t.app, email);
    const limit = t.config.auth.loginMaxFailures;
    const attempts = Array.from({ length: 30 }, (_, i) =>
      t.app.inject(loginBody(email, i < 29 ? `wrong password ${i}` : PASSWORD)),
    );
    const answers = await Promise.all(attempts);
    const statuses = answers.map((r) => r.statusCode);
    const evaluated = statuses.filter((s) => s === 401 || s === 200).length;
    expect(evaluated).toBeGreaterThan(0);
    expect(evaluated).toBeLessThanOrEqual(limit);
    const refused = answers.filter((r) => r.statusCode === 429);
    expect(refused.length).toBe(30 - evaluated);
    for (const r of refused) {
      expect(Number(r.headers['retry-after'])).toBeGreaterThan(0);
      expect(r.headers['content-type']).toContain('application/problem+json');
    }
    const row = await t.database.db
      .selectFrom('login_throttle')
      .select('failures')
      .where('email', '=', email)
      .executeTakeFirst();
    // Every failure was counted; nothing is left in flight.
    expect(row?.failures ?? 0).toBe(statuses.filter((s) => s === 401).length);
  });

  it('keeps counting after the burst: once the limit is reached even the right password is refused until the window ends', async () => {
    const email = uniqueEmail('after');
    await signup(t.app, email);
    const limit = t.config.auth.loginMaxFailures;
    const burst = await Promise.all(
      Array.from({ length: limit + 5 }, (_, i) => t.app.inject(loginBody(email, `nope ${i}`))),
    );
    expect(burst.filter((r) => r.statusCode === 401)).toHaveLength(limit);
    const right = await t.app.inject(loginBody(email, PASSWORD));
    expect(right.statusCode).toBe(429);
    const retryAfter = Number(right.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(1);
    expect(retryAfter).toBeLessThanOrEqual(t.config.auth.loginWindowSeconds);
    t.clock.advance(retryAfter * 1000);
    expect((await t.app.inject(loginBody(email, PASSWORD))).statusCode).toBe(200);
  });
});

describe('sign-in bursts and the database pool', () => {
  let t: TestApp;
  let other: Session;
  beforeAll(async () => {
    // The defaults' shape (a few hashing, a short queue), kept small so the burst is quick.
    t = await startTestApp({
      GATEHOUSE_PASSWORD_HASH_CONCURRENCY: '2',
      GATEHOUSE_PASSWORD_HASH_QUEUE: '4',
    });
    other = await ownerOfNewOrg(t.app, 'burst-other');
    const project = await t.app.inject({
      method: 'POST',
      url: '/api/v1/orgs/burst-other/projects',
      headers: other.auth,
      payload: { key: 'web', name: 'Web' },
    });
    if (project.statusCode !== 201) throw new Error(project.body);
  });
  afterAll(() => t.close());

  it('answers 50 concurrent correct sign-ins with tokens or 429 + Retry-After while another tenant keeps reading and /readyz stays ready', async () => {
    const email = uniqueEmail('burst');
    await signup(t.app, email);

    let burstDone = false;
    const burst = Promise.all(
      Array.from({ length: 50 }, () => t.app.inject(loginBody(email, PASSWORD))),
    ).finally(() => (burstDone = true));
    const reads: number[] = [];
    const ready: number[] = [];
    while (!burstDone) {
      const [runs, readyz] = await Promise.all([
        t.app.inject({
          method: 'GET',
          url: '/api/v1/orgs/burst-other/projects/web/runs',
          headers: other.auth,
        }),
        t.app.inject({ method: 'GET', url: '/readyz' }),
      ]);
      if (!burstDone) {
        reads.push(runs.statusCode);
        ready.push(readyz.statusCode);
      }
    }
    const answers = await burst;
    const statuses = answers.map((r) => r.statusCode);
    expect(new Set(statuses)).toEqual(new Set([200, 429]));
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(1);
    for (const r of answers.filter((a) => a.statusCode === 429))
      expect(Number(r.headers['retry-after'])).toBeGreaterThan(0);
    expect(reads.length).toBeGreaterThan(0);
    expect(new Set(reads)).toEqual(new Set([200]));
    expect(new Set(ready)).toEqual(new Set([200]));
  });

  it('says "busy" on /readyz, still ready, while every pooled connection is taken', async () => {
    const held = await Promise.all(
      Array.from({ length: t.config.db.poolMax }, () => t.database.pool.connect()),
    );
    const waiting = t.app.inject({
      method: 'GET',
      url: '/api/v1/orgs/burst-other/projects/web/runs',
      headers: other.auth,
    });
    try {
      // The request above waits for a connection; readiness is asked on a connection of its own.
      const res = await t.app.inject({ method: 'GET', url: '/readyz' });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ status: 'ready', database: 'busy' });
    } finally {
      for (const c of held) c.release();
    }
    expect((await waiting).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'GET', url: '/readyz' })).json()).toEqual({
      status: 'ready',
    });
  });
});

describe('readiness when the database is unreachable', () => {
  it('answers 503 "unreachable", and ready again once the database is back', async () => {
    let proxy: Awaited<ReturnType<typeof startProxy>> | undefined;
    const t = await startTestApp(
      {},
      {
        databaseUrl: async (real) => {
          const u = new URL(real);
          proxy = await startProxy({ host: u.hostname, port: Number(u.port || 5432) });
          u.hostname = '127.0.0.1';
          u.port = String(proxy.port);
          return u.toString();
        },
      },
    );
    try {
      expect((await t.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
      await proxy!.cut();
      const down = await t.app.inject({ method: 'GET', url: '/readyz' });
      expect(down.statusCode).toBe(503);
      expect(down.json().detail).toMatch(/unreachable/);
      await proxy!.restore();
      expect((await t.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    } finally {
      await t.close();
      await proxy?.close();
    }
  });
});
