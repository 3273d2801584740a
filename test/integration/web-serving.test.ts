import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';

const SHELL =
  '<!doctype html><html><head><script type="module" src="/assets/index-3f9a1c.js"></script></head><body><div id="root"></div></body></html>';
const PAGES = [
  '/',
  '/orgs/acme',
  '/orgs/acme/projects/portal/issues/2',
  '/orgs/acme/projects/portal/runs/01a22c02-32a1-7f3c-bb37-b0c55d0eeae6',
  '/orgs/acme/settings',
  '/signin',
  '/signup',
  '/invitations/accept',
];
const JSON_404 = ['/api/v1/nowhere', '/api/v1/orgs/acme/nowhere', '/docs/nowhere', '/nowhere'];

let dist: string;
let built: TestApp;
let unbuilt: TestApp;

function expectPageHeaders(headers: Record<string, unknown>): void {
  const csp = String(headers['content-security-policy']);
  expect(csp).toContain("frame-ancestors 'none'");
  expect(csp).toMatch(/script-src 'self'(;|$)/);
  expect(csp).not.toMatch(/script-src[^;]*unsafe-inline/);
  expect(headers['x-frame-options']).toBe('DENY');
  expect(headers['x-content-type-options']).toBe('nosniff');
}

beforeAll(async () => {
  dist = await mkdtemp(path.join(tmpdir(), 'gatehouse-web-'));
  await mkdir(path.join(dist, 'assets'));
  await writeFile(path.join(dist, 'index.html'), SHELL);
  await writeFile(path.join(dist, 'assets', 'index-3f9a1c.js'), 'console.log("app");\n');
  await writeFile(path.join(dist, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  built = await startTestApp({ GATEHOUSE_WEB_DIST: dist });
  unbuilt = await startTestApp({ GATEHOUSE_WEB_DIST: path.join(dist, 'not-built') });
});

afterAll(async () => {
  await built.close();
  await unbuilt.close();
  await rm(dist, { recursive: true, force: true });
});

describe('the dashboard, served by the API process', () => {
  it("answers every page URL with the app's shell, revalidated, under a strict CSP", async () => {
    for (const url of PAGES) {
      const res = await built.app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['content-type'], url).toMatch(/^text\/html/);
      expect(res.body, url).toBe(SHELL);
      expect(res.headers['cache-control'], url).toBe('no-cache');
      expectPageHeaders(res.headers);
    }
  });

  it('serves hashed assets cached for good and other files revalidated', async () => {
    const js = await built.app.inject({ method: 'GET', url: '/assets/index-3f9a1c.js' });
    expect(js.statusCode).toBe(200);
    expect(js.headers['content-type']).toMatch(/javascript/);
    expect(js.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    const icon = await built.app.inject({ method: 'GET', url: '/favicon.svg' });
    expect(icon.statusCode).toBe(200);
    expect(icon.headers['cache-control']).toBe('no-cache');
    const shell = await built.app.inject({ method: 'GET', url: '/index.html' });
    expect(shell.headers['cache-control']).toBe('no-cache');
  });

  it('keeps JSON 404s for the API, the docs and unknown paths, and never serves outside dist', async () => {
    for (const url of [
      ...JSON_404,
      '/assets/missing.js',
      '/assets/../../package.json',
      '/%2e%2e/package.json',
    ]) {
      const res = await built.app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(404);
      expect(res.headers['content-type'], url).toMatch(/^application\/problem\+json/);
    }
  });

  it('leaves the API description, the docs, health and metrics as they were', async () => {
    const spec = await built.app.inject({ method: 'GET', url: '/openapi.json' });
    expect(spec.statusCode).toBe(200);
    expect(spec.json<{ openapi: string }>().openapi).toMatch(/^3\./);
    expect(Object.keys(spec.json<{ paths: object }>().paths)).not.toContain('/orgs/{org}');
    const docs = await built.app.inject({ method: 'GET', url: '/docs/' });
    expect(docs.statusCode).toBe(200);
    expect(docs.body).toContain('swagger');
    expect(String(docs.headers['content-security-policy'])).toMatch(/validator\.swagger\.io/);
    for (const url of ['/healthz', '/readyz']) {
      const res = await built.app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['content-type'], url).toMatch(/json/);
    }
    const metrics = await built.app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.statusCode).toBe(200);
    expect(metrics.body).not.toContain('<html');
  });

  it('answers a short page pointing at the docs until the app is built', async () => {
    for (const url of ['/', '/orgs/acme/settings', '/signin']) {
      const res = await unbuilt.app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['content-type'], url).toMatch(/^text\/html/);
      expect(res.body).toContain('href="/docs"');
      expect(res.body).toContain('npm ci &amp;&amp; npm start');
      expect(res.body).not.toContain('<script');
      expect(res.headers['cache-control']).toBe('no-cache');
      expectPageHeaders(res.headers);
    }
    for (const url of JSON_404) {
      const res = await unbuilt.app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(404);
      expect(res.headers['content-type'], url).toMatch(/^application\/problem\+json/);
    }
  });
});
