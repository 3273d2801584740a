import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { apiToken, ownerOfNewOrg, PASSWORD, type Session } from '../helpers/actors.ts';
import { junitXml } from '../helpers/junit-gen.ts';
import { SEED_QUALITY_CONFIG } from '../helpers/seed.ts';

let t: TestApp;
let owner: Session & { orgId: string };
let ci: { auth: { authorization: string } };
const logLines: string[] = [];
const METRICS_TOKEN = 'metrics-token-0123456789';

beforeAll(async () => {
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logLines.push(chunk.toString());
      done();
    },
  });
  t = await startTestApp(
    { GATEHOUSE_METRICS_TOKEN: METRICS_TOKEN },
    { logger: pino({ level: 'trace' }, sink) },
  );
  owner = await ownerOfNewOrg(t.app, 'hostile');
  const res = await t.app.inject({
    method: 'POST',
    url: '/api/v1/orgs/hostile/projects',
    headers: owner.auth,
    payload: { key: 'api', name: 'API' },
  });
  expect(res.statusCode).toBe(201);
  const issue = await t.app.inject({
    method: 'POST',
    url: '/api/v1/orgs/hostile/projects/api/issues',
    headers: owner.auth,
    payload: { number: 3, title: 'Third' },
  });
  expect(issue.statusCode).toBe(201);
  ci = await apiToken(t.app, owner, 'hostile');
});
afterAll(() => t.close());

const project = '/api/v1/orgs/hostile/projects/api';
const NUL = '\u0000';

function expectFieldProblem(
  res: { statusCode: number; headers: Record<string, unknown>; json: () => unknown },
  path: string,
  message: RegExp,
) {
  expect(res.statusCode).toBe(400);
  expect(String(res.headers['content-type'])).toContain('application/problem+json');
  const body = res.json() as { code: string; errors: { path: string; message: string }[] };
  expect(body.code).toBe('bad_input');
  expect(body.errors).toEqual([{ path, message: expect.stringMatching(message) as string }]);
}

describe('text PostgreSQL cannot store', () => {
  it('refuses a NUL character in the sign-up name as a 400 naming the field', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/signup',
      payload: { email: 'nul@example.test', password: PASSWORD, name: `A${NUL}B` },
    });
    expectFieldProblem(res, 'body/name', /NUL character/);
  });

  it('refuses a NUL character in project names, issue titles and token names', async () => {
    const cases = [
      { url: '/api/v1/orgs/hostile/projects', payload: { key: 'nul', name: `P${NUL}` } },
      { url: `${project}/issues`, payload: { number: 9, title: `T${NUL}itle` } },
      { url: '/api/v1/orgs/hostile/api-tokens', payload: { name: `tok${NUL}` } },
    ];
    for (const c of cases) {
      const res = await t.app.inject({
        method: 'POST',
        url: c.url,
        headers: owner.auth,
        payload: c.payload,
      });
      expectFieldProblem(res, c.url.endsWith('/issues') ? 'body/title' : 'body/name', /NUL/);
    }
  });

  it('refuses a NUL character or a lone surrogate deep inside the quality config', async () => {
    const [first, ...rest] = SEED_QUALITY_CONFIG.categories;
    for (const [label, message] of [
      [`JWT${NUL}`, /NUL character/],
      ['JWT \ud800 broken', /unpaired surrogate/],
    ] as const) {
      const res = await t.app.inject({
        method: 'PUT',
        url: `${project}/quality-config`,
        headers: owner.auth,
        payload: { ...SEED_QUALITY_CONFIG, categories: [{ ...first!, label }, ...rest] },
      });
      expectFieldProblem(res, 'body/categories/0/label', message);
    }
  });

  it('refuses a NUL character in upload and list query parameters and the audit filter', async () => {
    const upload = await t.app.inject({
      method: 'POST',
      url: `${project}/runs?branch=main%00x`,
      headers: { ...ci.auth, 'content-type': 'application/xml' },
      payload: junitXml(1),
    });
    expectFieldProblem(upload, 'querystring/branch', /NUL character/);
    const list = await t.app.inject({
      method: 'GET',
      url: `${project}/runs?branch=%00`,
      headers: owner.auth,
    });
    expectFieldProblem(list, 'querystring/branch', /NUL character/);
    const audit = await t.app.inject({
      method: 'GET',
      url: '/api/v1/orgs/hostile/audit-events?action=org.%00',
      headers: owner.auth,
    });
    expectFieldProblem(audit, 'querystring/action', /NUL character/);
  });
});

describe('numbers in query parameters', () => {
  it('takes only decimal digits for an integer: 1e3 and 0x10 are not issues 1000 and 16', async () => {
    for (const value of ['1e3', '0x10', '']) {
      const res = await t.app.inject({
        method: 'GET',
        url: `${project}/runs?issue=${value}`,
        headers: owner.auth,
      });
      expectFieldProblem(res, 'querystring/issue', /decimal digits/);
    }
    const ok = await t.app.inject({
      method: 'GET',
      url: `${project}/runs?issue=3`,
      headers: owner.auth,
    });
    expect(ok.statusCode).toBe(200);
  });
});

describe('upload filenames', () => {
  it('keeps only the last path segment without control characters, for display', async () => {
    const raw = await t.app.inject({
      method: 'POST',
      url: `${project}/runs?filename=${encodeURIComponent('../../etc/passwd')}&build=raw`,
      headers: { ...ci.auth, 'content-type': 'application/xml' },
      payload: junitXml(1),
    });
    expect(raw.statusCode).toBe(201);
    const boundary = 'hostileboundary';
    const multipart = [
      `--${boundary}`,
      'Content-Disposition: form-data; name="file"; filename="..\\\\..\\\\win\\\\re\tport.xml"',
      'Content-Type: application/xml',
      '',
      junitXml(1),
      `--${boundary}--`,
      '',
    ].join('\r\n');
    const multi = await t.app.inject({
      method: 'POST',
      url: `${project}/runs?build=multi`,
      headers: { ...ci.auth, 'content-type': `multipart/form-data; boundary=${boundary}` },
      payload: multipart,
    });
    expect(multi.statusCode).toBe(201);
    const names = async (res: { json: <T>() => T }) => {
      const id = res.json<{ id: string }>().id;
      const run = await t.app.inject({
        method: 'GET',
        url: `${project}/runs/${id}`,
        headers: owner.auth,
      });
      return run.json<{ uploads: { filename: string }[] }>().uploads.map((u) => u.filename);
    };
    expect(await names(raw)).toEqual(['passwd']);
    expect(await names(multi)).toEqual(['report.xml']);
  });
});

describe('logs', () => {
  it('hides query parameter values that may carry secrets', async () => {
    await t.app.inject({
      method: 'GET',
      url: '/api/v1/me?access_token=s3cret-query-token&password=hunter2-query&limit=7',
    });
    const line = logLines.find((l) => l.includes('/api/v1/me?'));
    expect(line).toBeDefined();
    expect(line).not.toContain('s3cret-query-token');
    expect(line).not.toContain('hunter2-query');
    expect(line).toContain('limit=7');
    expect(line).toContain('access_token=[REDACTED]');
  });
});

describe('/metrics with GATEHOUSE_METRICS_TOKEN set', () => {
  it('needs the token as a bearer token', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(401);
    const wrong = await t.app.inject({
      method: 'GET',
      url: '/metrics',
      headers: { authorization: 'Bearer not-the-token' },
    });
    expect(wrong.statusCode).toBe(401);
    const right = await t.app.inject({
      method: 'GET',
      url: '/metrics',
      headers: { authorization: `Bearer ${METRICS_TOKEN}` },
    });
    expect(right.statusCode).toBe(200);
    expect(right.body).toMatch(/http_request_duration_seconds/);
  });
});

describe('security headers', () => {
  it('come with every response, and /docs still serves its page', async () => {
    const docs = await t.app.inject({ method: 'GET', url: '/docs/' });
    expect(docs.statusCode).toBe(200);
    expect(docs.body).toContain('swagger');
    const api = await t.app.inject({
      method: 'GET',
      url: '/api/v1/orgs/hostile',
      headers: owner.auth,
    });
    expect(api.statusCode).toBe(200);
    for (const res of [docs, api]) {
      expect(res.headers['x-frame-options']).toBe('DENY');
      expect(res.headers['referrer-policy']).toBe('no-referrer');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['content-security-policy']).toBeDefined();
    }
    // /docs answers with swagger-ui's own policy, written for the page it serves.
    expect(String(docs.headers['content-security-policy'])).toMatch(/validator\.swagger\.io/);
  });
});

describe('errors outside any route are problem+json too', () => {
  it('answers a 60 KB bearer token with a 431 problem', async () => {
    const address = await t.app.listen({ host: '127.0.0.1', port: 0 });
    const res = await fetch(`${address}${project}/runs`, {
      headers: { authorization: `Bearer ${'a'.repeat(60 * 1024)}` },
    });
    expect(res.status).toBe(431);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(await res.json()).toMatchObject({ status: 431, code: 'headers_too_large' });
    // The server goes on serving.
    const next = await fetch(`${address}/healthz`);
    expect(next.status).toBe(200);
  });

  it('answers a path parameter longer than any route takes with a 414 problem', async () => {
    // An API route's parameter, and a path the dashboard's static files would take.
    for (const url of [`/api/v1/orgs/${'o'.repeat(5000)}/projects`, `/${'a'.repeat(300)}.js`]) {
      const res = await t.app.inject({ method: 'GET', url, headers: owner.auth });
      expect(res.statusCode, url.slice(0, 40)).toBe(414);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.json()).toMatchObject({ status: 414, code: 'uri_too_long' });
    }
    // A short unknown path is still a 404.
    const missing = await t.app.inject({ method: 'GET', url: '/api/v1/nothing' });
    expect(missing.statusCode).toBe(404);
  });
});
