import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { brotliCompressSync, gzipSync } from 'node:zlib';
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

describe('a production build: compressed at build time, page chunks preloaded, shells revalidated', () => {
  const ENTRY = "console.log('entry');\n".repeat(200);
  const shell = (entry: string) =>
    `<!doctype html><html><head><script type="module" crossorigin src="/assets/${entry}"></script></head><body><div id="root"></div></body></html>`;
  const manifest = {
    'index.html': {
      file: 'assets/index-aa11.js',
      isEntry: true,
      css: ['assets/index-aa11.css'],
    },
    'src/pages/issue.tsx': {
      file: 'assets/issue-bb22.js',
      imports: ['index.html', '_confirm-cc33.js'],
    },
    '_confirm-cc33.js': {
      file: 'assets/confirm-cc33.js',
      imports: ['index.html'],
      css: ['assets/confirm-cc33.css'],
    },
  };
  let prod: string;
  let app: TestApp;

  beforeAll(async () => {
    prod = await mkdtemp(path.join(tmpdir(), 'gatehouse-web-prod-'));
    await mkdir(path.join(prod, 'assets'));
    await mkdir(path.join(prod, '.vite'));
    await writeFile(path.join(prod, 'index.html'), shell('index-aa11.js'));
    await writeFile(path.join(prod, '.vite', 'manifest.json'), JSON.stringify(manifest));
    await writeFile(path.join(prod, 'assets', 'index-aa11.js'), ENTRY);
    await writeFile(path.join(prod, 'assets', 'index-aa11.js.br'), brotliCompressSync(ENTRY));
    await writeFile(path.join(prod, 'assets', 'index-aa11.js.gz'), gzipSync(ENTRY));
    app = await startTestApp({ GATEHOUSE_WEB_DIST: prod });
  });

  afterAll(async () => {
    await app.close();
    await rm(prod, { recursive: true, force: true });
  });

  it("sends the build's brotli or gzip file to a browser that accepts it, the plain file otherwise", async () => {
    const url = '/assets/index-aa11.js';
    const br = await app.app.inject({
      method: 'GET',
      url,
      headers: { 'accept-encoding': 'br, gzip' },
    });
    expect(br.statusCode).toBe(200);
    expect(br.headers['content-encoding']).toBe('br');
    expect(br.rawPayload.length).toBeLessThan(ENTRY.length / 10);
    expect(br.rawPayload.equals(brotliCompressSync(ENTRY))).toBe(true);
    expect(String(br.headers.vary)).toMatch(/accept-encoding/i);
    expect(br.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    const gz = await app.app.inject({ method: 'GET', url, headers: { 'accept-encoding': 'gzip' } });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gz.rawPayload.equals(gzipSync(ENTRY))).toBe(true);
    const plain = await app.app.inject({
      method: 'GET',
      url,
      headers: { 'accept-encoding': 'identity' },
    });
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body).toBe(ENTRY);
  });

  it("names a page's own chunk, the chunks it imports and their styles for preloading, never the entry", async () => {
    const issue = await app.app.inject({
      method: 'GET',
      url: '/orgs/acme/projects/portal/issues/2',
    });
    expect(issue.statusCode).toBe(200);
    const links = issue.body.match(/<link [^>]+>/g) ?? [];
    expect(links.sort()).toEqual(
      [
        '<link rel="modulepreload" crossorigin href="/assets/confirm-cc33.js">',
        '<link rel="modulepreload" crossorigin href="/assets/issue-bb22.js">',
        '<link rel="preload" as="style" crossorigin href="/assets/confirm-cc33.css">',
      ].sort(),
    );
    expect(issue.body.indexOf('<link')).toBeLessThan(issue.body.indexOf('</head>'));
    // Pages without a chunk of their own (or not in the manifest) get the shell as built.
    for (const url of ['/', '/orgs/acme', '/orgs/acme/projects/portal/runs/x']) {
      const res = await app.app.inject({ method: 'GET', url });
      expect(res.body, url).toBe(shell('index-aa11.js'));
    }
  });

  it('answers 304 to a browser holding the current shell, and a new shell after a rebuild', async () => {
    const url = '/orgs/acme/projects/portal/issues/2';
    const first = await app.app.inject({ method: 'GET', url });
    const etag = String(first.headers.etag);
    expect(etag).toMatch(/^"[A-Za-z0-9_-]+"$/);
    const again = await app.app.inject({ method: 'GET', url, headers: { 'if-none-match': etag } });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe('');
    expect(again.headers['cache-control']).toBe('no-cache');
    // Another page's shell is another document: its own tag.
    const root = await app.app.inject({ method: 'GET', url: '/' });
    expect(root.headers.etag).not.toBe(etag);

    // A rebuild under the running server: a new entry, so the old shell must not be served.
    await writeFile(path.join(prod, 'index.html'), shell('index-dd44.js'));
    const later = new Date(Date.now() + 5_000);
    await utimes(path.join(prod, 'index.html'), later, later);
    const rebuilt = await app.app.inject({
      method: 'GET',
      url,
      headers: { 'if-none-match': etag },
    });
    expect(rebuilt.statusCode).toBe(200);
    expect(rebuilt.body).toContain('/assets/index-dd44.js');
    expect(rebuilt.headers.etag).not.toBe(etag);
  });
});
