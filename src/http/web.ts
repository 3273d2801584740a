import { existsSync } from 'node:fs';
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
 * good), and the app's shell (`index.html`, revalidated) for each page URL, so a shared link
 * opens straight on its page. Everything else — `/api/*`, `/docs`, `/openapi.json`,
 * `/metrics`, health — keeps its own routes and its JSON 404s. Until the app is built, the
 * page URLs answer a short page that points to the docs.
 */
export async function webRoutes(app: App, config: Config): Promise<void> {
  const root = config.web.distDir;
  const built = existsSync(path.join(root, 'index.html'));
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
      cacheControl: false,
      dotfiles: 'deny',
      setHeaders: (reply: FastifyReply, file: string) => {
        const inAssets = path.relative(path.join(root, 'assets'), file);
        const hashed = !inAssets.startsWith('..') && !path.isAbsolute(inAssets);
        void reply.header('cache-control', hashed ? IMMUTABLE : REVALIDATE);
      },
    });
    for (const url of PAGE_ROUTES)
      web.get(url, (_req, reply) =>
        reply.header('cache-control', REVALIDATE).sendFile('index.html'),
      );
  });
}
