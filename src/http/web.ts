import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyReply } from 'fastify';
import type { Config } from '../config.ts';
import type { App } from './types.ts';

/** The dashboard's page URLs (shared in reports and comments): each answers the app's shell. */
export const PAGE_ROUTES = [
  '/',
  '/orgs/:org',
  '/orgs/:org/projects/:project/issues/:number',
  '/orgs/:org/projects/:project/runs/:runId',
  '/orgs/:org/settings',
  '/signin',
  '/signup',
  '/invitations/accept',
] as const;

/** Vite names every file under assets/ by its content hash: it never changes under a URL. */
const IMMUTABLE = 'public, max-age=31536000, immutable';
/** The shell (and any unhashed file) is revalidated every time, so a deploy shows at once. */
const REVALIDATE = 'no-cache';

/**
 * The page URLs whose code is a chunk of its own, and the chunk's source in the build's
 * manifest (web/dist/.vite/manifest.json): their shell names that chunk for preloading.
 */
const PAGE_CHUNKS: Partial<Record<(typeof PAGE_ROUTES)[number], string>> = {
  '/orgs/:org/projects/:project/issues/:number': 'src/pages/issue.tsx',
  '/orgs/:org/projects/:project/runs/:runId': 'src/pages/run.tsx',
  '/orgs/:org/settings': 'src/pages/settings.tsx',
};

interface ManifestChunk {
  file: string;
  isEntry?: boolean;
  imports?: string[];
  css?: string[];
}

/**
 * The shell for a page whose code is the chunk `source`: the same HTML with that chunk (and
 * the chunks and styles it imports, less the entry's own) named in `<link rel=modulepreload>`
 * and `<link rel=preload as=style>`, so the browser fetches them alongside the entry instead
 * of after the entry has run. Without a manifest (or the chunk in it), the shell as it is.
 */
function shellFor(html: string, manifest: Record<string, ManifestChunk> | null, source: string) {
  const chunk = manifest?.[source];
  if (manifest === null || chunk === undefined) return html;
  const js = new Set<string>();
  const css = new Set<string>();
  const visit = (key: string) => {
    const c = manifest[key];
    if (c === undefined || c.isEntry === true || js.has(c.file)) return;
    js.add(c.file);
    for (const f of c.css ?? []) css.add(f);
    for (const i of c.imports ?? []) visit(i);
  };
  visit(source);
  const links = [
    ...[...js].map((f) => `<link rel="modulepreload" crossorigin href="/${f}">`),
    ...[...css].map((f) => `<link rel="preload" as="style" crossorigin href="/${f}">`),
  ].join('');
  return html.includes('</head>') ? html.replace('</head>', `${links}</head>`) : html;
}

function readManifest(root: string): Record<string, ManifestChunk> | null {
  try {
    return JSON.parse(readFileSync(path.join(root, '.vite', 'manifest.json'), 'utf8')) as Record<
      string,
      ManifestChunk
    >;
  } catch {
    return null;
  }
}

/**
 * Each page's shell, made once per build: read again when index.html changes (a rebuild
 * under a running server), so a shell never names assets the new build removed.
 */
function shellCache(root: string) {
  const file = path.join(root, 'index.html');
  let built = -1;
  let shells = new Map<string | undefined, { body: string; etag: string }>();
  return {
    get(source: string | undefined): { body: string; etag: string } {
      const mtime = statSync(file).mtimeMs;
      if (mtime !== built) {
        built = mtime;
        shells = new Map();
      }
      let shell = shells.get(source);
      if (shell === undefined) {
        const html = readFileSync(file, 'utf8');
        const body = source === undefined ? html : shellFor(html, readManifest(root), source);
        const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
        shell = { body, etag };
        shells.set(source, shell);
      }
      return shell;
    },
  };
}

/** Shown at `/` until the dashboard is built: where the API is and how to get the app. */
const NOT_BUILT_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Gatehouse</title>
</head>
<body>
<main>
<h1>Gatehouse is running</h1>
<p>The API answers at <code>/api/v1</code>. The web dashboard has not been built in this
installation (no <code>web/dist</code>).</p>
<ul>
<li><a href="/docs">Browse the API documentation</a> (<a href="/openapi.json">OpenAPI description</a>)</li>
<li>Quick start (README.md, section “Quick start”): <code>npm ci &amp;&amp; npm start</code> installs,
builds the dashboard and serves it here; the first start prints a one-time login for the demo organization.</li>
<li>Health: <a href="/healthz">/healthz</a>, <a href="/readyz">/readyz</a></li>
</ul>
</main>
</body>
</html>
`;

/**
 * The dashboard, served by the API's own process: hashed assets from `web/dist` (cached for
 * good; the build's `.br`/`.gz` siblings sent to a browser that accepts them, so nothing is
 * compressed per request), and the app's shell (`index.html`, revalidated, with the page's
 * own chunk preloaded) for each page URL, so a shared link opens straight on its page.
 * Everything else — `/api/*`, `/docs`, `/openapi.json`, `/metrics`, health — keeps its own
 * routes and its JSON 404s. Until the app is built, the page URLs answer a short page that
 * points to the docs.
 */
export async function webRoutes(app: App, config: Config): Promise<void> {
  const root = config.web.distDir;
  const built = existsSync(path.join(root, 'index.html'));
  const shells = shellCache(root);
  await app.register(async (web) => {
    // Pages and assets are public: the app signs in through the API itself.
    web.addHook('onRoute', (route) => {
      route.config = { ...route.config, auth: false };
      route.schema = { ...route.schema, hide: true };
    });
    if (!built) {
      for (const url of PAGE_ROUTES)
        web.get(url, (_req, reply) =>
          reply
            .type('text/html; charset=utf-8')
            .header('cache-control', REVALIDATE)
            .send(NOT_BUILT_PAGE),
        );
      return;
    }
    await web.register(fastifyStatic, {
      root,
      prefix: '/',
      index: false,
      preCompressed: true,
      cacheControl: false,
      dotfiles: 'deny',
      setHeaders: (reply: FastifyReply, file: string) => {
        const inAssets = path.relative(path.join(root, 'assets'), file);
        const hashed = !inAssets.startsWith('..') && !path.isAbsolute(inAssets);
        void reply.header('cache-control', hashed ? IMMUTABLE : REVALIDATE);
      },
    });
    for (const url of PAGE_ROUTES) {
      const source = PAGE_CHUNKS[url];
      web.get(url, (req, reply) => {
        const { body, etag } = shells.get(source);
        void reply.header('cache-control', REVALIDATE).header('etag', etag);
        if (req.headers['if-none-match'] === etag) return reply.code(304).send();
        return reply.type('text/html; charset=utf-8').send(body);
      });
    }
  });
}
