import fs from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import pino from 'pino';
import type { Page } from 'playwright-core';
import { loadConfig } from '../src/config.ts';
import { createDemo } from '../src/demo.ts';
import { openRuntime } from '../src/runtime.ts';
import buildWeb from '../test/e2e/build-web.ts';
import { launchChromium } from '../test/e2e/browser.ts';
import { junitXml } from '../test/helpers/junit-gen.ts';
import { machine, median, tempDir } from './lib.ts';

/**
 * `npm run bench web`: the dashboard in Debian's Chromium against a real server (embedded
 * PostgreSQL, the demo organization). Budgets (issue 13): the issue page shows its gates
 * (LCP) in under 1 s; a run page with 100,000 results scrolls at 60 fps without long tasks
 * over 50 ms; ≤ 200 KB of gzipped JavaScript for the first page.
 */
const RESULTS = Number(process.env['BENCH_WEB_RESULTS'] ?? 100_000);
const LOADS = 5;

interface PageGlobals {
  document: { querySelector(s: string): { scrollTop: number } | null };
  requestAnimationFrame(cb: (t: number) => void): number;
  PerformanceObserver: new (
    cb: (list: { getEntries(): { duration: number; startTime: number }[] }) => void,
  ) => {
    observe(o: { type: string; buffered?: boolean }): void;
    disconnect(): void;
  };
  setTimeout(cb: () => void, ms: number): number;
  performance: { now(): number };
}

async function firstPageJs(): Promise<Record<string, number>> {
  const dist = path.join(import.meta.dirname, '..', 'web', 'dist');
  const html = await fs.readFile(path.join(dist, 'index.html'), 'utf8');
  const entry = [...html.matchAll(/(?:src|href)="\/(assets\/[^"]+\.js)"/g)].map((m) => m[1]!);
  const files = await fs.readdir(path.join(dist, 'assets'));
  const gz = async (rel: string) => gzipSync(await fs.readFile(path.join(dist, rel))).length / 1024;
  let entryKb = 0;
  for (const f of entry) entryKb += await gz(f);
  const chunk = async (prefix: string) => {
    const f = files.find((n) => n.startsWith(prefix) && n.endsWith('.js'));
    return f === undefined ? 0 : gz(`assets/${f}`);
  };
  return {
    entryGzipKb: entryKb,
    issuePageGzipKb: entryKb + (await chunk('issue-')),
    runPageGzipKb: entryKb + (await chunk('run-')),
    settingsPageGzipKb: entryKb + (await chunk('settings-')),
  };
}

/**
 * The requests of a page load so far, in start order, each as one line: when it started,
 * when its first byte and its last byte came (ms since navigation), its size on the wire
 * and its path. Where the time of a load goes, read off at a glance.
 */
const WATERFALL = `(() => {
  const ms = (t) => String(Math.round(t)).padStart(5);
  const entries = [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')];
  return entries
    .sort((a, b) => a.startTime - b.startTime)
    .map((e) => {
      const u = new URL(e.name);
      const kb = (e.transferSize / 1024).toFixed(1);
      return \`\${ms(e.startTime)} → \${ms(e.responseStart)} → \${ms(e.responseEnd)} ms  \${kb.padStart(6)} KB  \${u.pathname}\${u.search}\`;
    });
})()`;

interface IssueLoad {
  lcpMs: number;
  /** When Playwright saw a gate (its polling and a round trip included, as before). */
  gatesMs: number;
  /** When the first gate entered the page, by a MutationObserver in the page itself. */
  gatesInPageMs: number;
  requests: string[];
}

/** Set on every issue page before its scripts: notes when the first `[data-gate]` is added. */
const GATES_OBSERVER = `(() => {
  if (!/\\/issues\\/\\d+$/.test(location.pathname)) return;
  new MutationObserver((_, obs) => {
    if (document.querySelector('[data-gate]') === null) return;
    globalThis.__gatesAt = performance.now();
    obs.disconnect();
  }).observe(document, { childList: true, subtree: true });
})()`;

/** LCP and "gates shown" of one full load of the issue page. */
async function loadIssue(page: Page, url: string): Promise<IssueLoad> {
  await page.goto(url);
  await page.locator('[data-gate]').first().waitFor();
  const gatesMs = await page.evaluate(() =>
    (globalThis as unknown as PageGlobals).performance.now(),
  );
  const gatesInPageMs = await page.evaluate<number>('globalThis.__gatesAt ?? -1');
  const requests = await page.evaluate<string[]>(WATERFALL);
  const lcpMs = await page.evaluate(
    () =>
      new Promise<number>((resolve) => {
        const g = globalThis as unknown as PageGlobals;
        new g.PerformanceObserver((list) =>
          resolve(list.getEntries().at(-1)?.startTime ?? -1),
        ).observe({
          type: 'largest-contentful-paint',
          buffered: true,
        });
      }),
  );
  return { lcpMs, gatesMs, gatesInPageMs, requests };
}

interface ScrollFigures {
  frames: number;
  fps: number;
  p95FrameMs: number;
  worstFrameMs: number;
  longTasksOver50Ms: number;
  longestTaskMs: number;
}

/**
 * Runs in the page: scrolls the results table by `step` px each animation frame (or to a
 * random row) for `frames` frames, timing the frames and counting long tasks. Plain
 * JavaScript in a string: tsx would wrap named functions in a helper the page lacks.
 */
const SCROLL = `async ({ frames, step }) => {
  const el = document.querySelector('.vbody');
  el.scrollTop = 0;
  const long = [];
  const obs = new PerformanceObserver((l) => long.push(...l.getEntries().map((e) => e.duration)));
  obs.observe({ type: 'longtask' });
  const times = [];
  await new Promise((done) => {
    let i = 0;
    function tick(t) {
      times.push(t);
      if (step === 'jump') el.scrollTop = Math.floor(Math.random() * el.scrollHeight);
      else el.scrollTop += step;
      if (++i < frames) requestAnimationFrame(tick);
      else done();
    }
    requestAnimationFrame(tick);
  });
  await new Promise((r) => setTimeout(r, 200));
  obs.disconnect();
  const gaps = times.slice(1).map((t, i) => t - times[i]).sort((a, b) => a - b);
  const seconds = (times[times.length - 1] - times[0]) / 1000;
  return {
    frames: times.length,
    fps: Math.round(((times.length - 1) / seconds) * 10) / 10,
    p95FrameMs: Math.round(gaps[Math.floor(gaps.length * 0.95)] * 10) / 10,
    worstFrameMs: Math.round(gaps[gaps.length - 1] * 10) / 10,
    longTasksOver50Ms: long.filter((d) => d > 50).length,
    longestTaskMs: Math.round(Math.max(0, ...long)),
  };
}`;

async function scroll(page: Page, frames: number, step: number | 'jump'): Promise<ScrollFigures> {
  return page.evaluate<ScrollFigures>(`(${SCROLL})(${JSON.stringify({ frames, step })})`);
}

/**
 * With BENCH_WEB_TRACE=<dir>, `fn` runs under a Chromium performance trace (the timeline:
 * tasks, scripts, style, layout, paint, GC, with JS samples), written to <dir>/<name>.json:
 * open it in DevTools' Performance panel to see what a long task was made of.
 */
async function traced<T>(page: Page, name: string, fn: () => Promise<T>): Promise<T> {
  const dir = process.env['BENCH_WEB_TRACE'];
  if (dir === undefined || dir === '') return fn();
  const browser = page.context().browser()!;
  await fs.mkdir(dir, { recursive: true });
  await browser.startTracing(page, {
    path: path.join(dir, `${name}.json`),
    categories: [
      'devtools.timeline',
      'disabled-by-default-devtools.timeline',
      'disabled-by-default-v8.cpu_profiler',
      'v8',
      'blink.user_timing',
      'loading',
      'toplevel',
    ],
  });
  try {
    return await fn();
  } finally {
    await browser.stopTracing();
  }
}

export async function webBench(): Promise<Record<string, unknown>> {
  buildWeb();
  const dataDir = await tempDir('gatehouse-bench-web-');
  const config = loadConfig({
    ...process.env,
    GATEHOUSE_DATA_DIR: dataDir,
    DATABASE_URL: '',
    GATEHOUSE_DEMO: '0',
    LOG_LEVEL: 'warn',
    // Setting up 100,000 results on a busy machine is not what is measured here.
    DATABASE_STATEMENT_TIMEOUT_MS: '600000',
  });
  const runtime = await openRuntime(config, pino({ level: 'warn' }));
  const chromium = await launchChromium();
  try {
    const demo = await createDemo(runtime.app);
    const base = (await runtime.app.listen({ port: 0, host: '127.0.0.1' })).replace(
      'localhost',
      '127.0.0.1',
    );
    const issueUrl = `${base}/orgs/${demo.org}/projects/${demo.project}/issues/${demo.issue}`;

    // A run of RESULTS testcases, uploaded as CI would.
    const login = await fetch(`${base}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: demo.email, password: demo.password, org: demo.org }),
    }).then((r) => r.json() as Promise<{ accessToken: string }>);
    const uploaded = await fetch(`${base}/api/v1/orgs/${demo.org}/projects/${demo.project}/runs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${login.accessToken}`, 'content-type': 'application/xml' },
      body: junitXml(RESULTS, { failEvery: 20 }),
    });
    if (uploaded.status !== 201)
      throw new Error(`upload: ${uploaded.status} ${await uploaded.text()}`);
    const run = (await uploaded.json()) as { id: string };

    // Sign in once; later loads refresh through the cookie, as a returning user's would.
    const context = await chromium.browser.newContext({ viewport: { width: 1280, height: 900 } });
    await context.addInitScript(GATES_OBSERVER);
    const page = await context.newPage();
    await page.goto(`${base}/signin?next=${encodeURIComponent(new URL(issueUrl).pathname)}`);
    await page.getByLabel('Email').fill(demo.email);
    await page.getByLabel('Password').fill(demo.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('[data-gate]').first().waitFor();

    // Cold: a new context with the cookie but an empty HTTP cache.
    const cold = await chromium.browser.newContext({ storageState: await context.storageState() });
    await cold.addInitScript(GATES_OBSERVER);
    const coldPage = await cold.newPage();
    const coldLoad = await traced(coldPage, 'cold-issue', () => loadIssue(coldPage, issueUrl));
    await cold.close();
    const warm: IssueLoad[] = [];
    for (let i = 0; i < LOADS; i++) warm.push(await loadIssue(page, issueUrl));

    const t0 = Date.now();
    await page.goto(`${base}/orgs/${demo.org}/projects/${demo.project}/runs/${run.id}`);
    // Scrolling while the later pages of results arrive and join the table.
    await page.locator('.vbody [role=row]').first().waitFor();
    const whileLoading = await traced(page, 'scroll-while-loading', () => scroll(page, 600, 240));
    const loadedWhileScrolling = await page.getByRole('status').last().textContent();
    await page.getByText(`${RESULTS} shown`).waitFor({ timeout: 300_000 });
    const loadAllSeconds = (Date.now() - t0) / 1000;
    const smooth = await traced(page, 'scroll', () => scroll(page, 600, 240));
    const jumps = await traced(page, 'jumps', () => scroll(page, 120, 'jump'));
    await context.close();

    return {
      bench: 'web',
      machine: machine(),
      browser: `Chromium ${chromium.browser.version()} (headless, --disable-gpu)`,
      issuePage: {
        coldLcpMs: Math.round(coldLoad.lcpMs),
        coldRequests: coldLoad.requests,
        coldGatesShownMs: Math.round(coldLoad.gatesMs),
        coldGatesInPageMs: Math.round(coldLoad.gatesInPageMs),
        warmLcpMsMedian: Math.round(median(warm.map((w) => w.lcpMs))),
        warmGatesShownMsMedian: Math.round(median(warm.map((w) => w.gatesMs))),
        warmGatesInPageMsMedian: Math.round(median(warm.map((w) => w.gatesInPageMs))),
        warmRequests: warm.at(-1)?.requests,
        budgetMs: 1000,
      },
      runPage: {
        results: RESULTS,
        scrollWhileLoading: { ...whileLoading, afterwards: loadedWhileScrolling },
        allResultsLoadedSeconds: loadAllSeconds,
        scroll240PxPerFrame: smooth,
        scrollRandomJumps: jumps,
      },
      firstPageJs: { ...(await firstPageJs()), budgetGzipKb: 200 },
    };
  } finally {
    await chromium.close();
    await runtime.close();
    await fs.rm(dataDir, { recursive: true, force: true });
  }
}
