import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { apiToken, login, ownerOfNewOrg, PASSWORD, type Session } from '../helpers/actors.ts';
import { startProxy } from '../helpers/tcp-proxy.ts';

let t: TestApp;
let owner: Session & { orgId: string };
let proxy: Awaited<ReturnType<typeof startProxy>>;
const logLines: string[] = [];

beforeAll(async () => {
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logLines.push(chunk.toString());
      done();
    },
  });
  t = await startTestApp(
    {},
    {
      logger: pino({ level: 'trace' }, sink),
      databaseUrl: async (real) => {
        const u = new URL(real);
        proxy = await startProxy({ host: u.hostname, port: Number(u.port || 5432) });
        u.hostname = '127.0.0.1';
        u.port = String(proxy.port);
        return u.toString();
      },
    },
  );
  owner = await ownerOfNewOrg(t.app, 'ops');
});
afterAll(async () => {
  await t.close();
  await proxy.close();
});

describe('operational endpoints', () => {
  it('answers liveness and readiness', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({
      status: 'ok',
    });
    expect((await t.app.inject({ method: 'GET', url: '/readyz' })).json()).toEqual({
      status: 'ready',
    });
  });

  it('exposes request durations by route and status, and pool usage, to Prometheus', async () => {
    await t.app.inject({ method: 'GET', url: '/api/v1/orgs/ops', headers: owner.auth });
    const res = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toMatch(
      /http_request_duration_seconds_count\{method="GET",route="\/api\/v1\/orgs\/:org",status_code="200"\} \d+/,
    );
    expect(res.body).toMatch(/db_pool_connections\{state="total"\} \d+/);
  });

  it('describes the API in OpenAPI and serves it browsable at /docs', async () => {
    const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json<{
      openapi: string;
      paths: Record<string, unknown>;
    }>();
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/api/v1/auth/login', '/api/v1/orgs/{org}/members/{userId}']),
    );
    const docs = await t.app.inject({ method: 'GET', url: '/docs/' });
    expect(docs.statusCode).toBe(200);
    expect(docs.body).toContain('swagger');
  });

  it('echoes a request id, and puts it in error bodies', async () => {
    const res = await t.app.inject({
      method: 'GET',
      url: '/api/v1/orgs/ops',
      headers: { 'x-request-id': 'trace-me-123' },
    });
    expect(res.statusCode).toBe(401);
    expect(res.json().requestId).toBe('trace-me-123');
  });

  it('never logs passwords or tokens', async () => {
    const s = await login(t.app, owner.email, 'ops');
    await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/refresh',
      payload: { refreshToken: s.refreshToken },
    });
    const tok = await apiToken(t.app, owner, 'ops');
    await t.app.inject({ method: 'GET', url: '/api/v1/orgs/ops', headers: tok.auth });
    const all = logLines.join('');
    expect(all.length).toBeGreaterThan(0);
    for (const secret of [PASSWORD, s.accessToken, s.refreshToken, tok.token, owner.accessToken]) {
      expect(all).not.toContain(secret);
    }
  });
});

describe('the database going away', () => {
  it('answers 503 with Retry-After, reports not ready, and recovers by itself', async () => {
    expect(
      (await t.app.inject({ method: 'GET', url: '/api/v1/orgs/ops', headers: owner.auth }))
        .statusCode,
    ).toBe(200);
    await proxy.cut();
    const down = await t.app.inject({
      method: 'GET',
      url: '/api/v1/orgs/ops',
      headers: owner.auth,
    });
    expect(down.statusCode).toBe(503);
    expect(down.headers['retry-after']).toMatch(/^\d+$/);
    expect(down.headers['content-type']).toContain('application/problem+json');
    const notReady = await t.app.inject({ method: 'GET', url: '/readyz' });
    expect(notReady.statusCode).toBe(503);
    const write = await t.app.inject({
      method: 'PATCH',
      url: '/api/v1/orgs/ops',
      headers: owner.auth,
      payload: { name: 'During outage' },
    });
    expect(write.statusCode).toBe(503);

    await proxy.restore();
    let status = 0;
    for (let attempt = 0; attempt < 5 && status !== 200; attempt++) {
      status = (await t.app.inject({ method: 'GET', url: '/api/v1/orgs/ops', headers: owner.auth }))
        .statusCode;
    }
    expect(status).toBe(200);
    expect((await t.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    const org = await t.app.inject({ method: 'GET', url: '/api/v1/orgs/ops', headers: owner.auth });
    expect(org.json().name).not.toBe('During outage');
  });
});
