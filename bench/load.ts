import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { SEED_QUALITY_CONFIG } from '../src/seed-quality-config.ts';
import { writeJUnitFile } from './junit-file.ts';
import { freePort, jsonCaller, machine, root, round, tempDir, waitUntilReady } from './lib.ts';

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function summary(ms: number[]) {
  const sorted = [...ms].sort((a, b) => a - b);
  return {
    count: sorted.length,
    p50Ms: round(percentile(sorted, 50), 1),
    p99Ms: round(percentile(sorted, 99), 1),
    maxMs: round(sorted.at(-1) ?? 0, 1),
  };
}

/**
 * A dashboard polling while CI uploads: one reader asks, one request after the other, for
 * the project's runs and an issue's gates, and records each answer's time and status.
 */
function startReader(base: string, auth: string) {
  const urls = [
    `${base}/api/v1/orgs/bench/projects/load/runs?limit=20`,
    `${base}/api/v1/orgs/bench/projects/load/issues/1/gates`,
  ];
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let stop = false;
  const done = (async () => {
    for (let i = 0; !stop; i++) {
      const started = performance.now();
      let status: string;
      try {
        const res = await fetch(urls[i % urls.length]!, { headers: { authorization: auth } });
        await res.arrayBuffer();
        status = String(res.status);
      } catch {
        status = 'network error';
      }
      latencies.push(performance.now() - started);
      statuses[status] = (statuses[status] ?? 0) + 1;
    }
  })();
  return {
    async stop() {
      stop = true;
      await done;
      return { ...summary(latencies), statuses };
    },
  };
}

/**
 * One CI job's upload, as the CLI sends it: retried with the same Idempotency-Key on 429,
 * 5xx and network errors, honouring Retry-After (else 1, 2, 4 … s).
 */
async function uploadLikeTheCli(
  base: string,
  token: string,
  body: Buffer,
  job: number,
  seen: Record<string, number>,
): Promise<{ ms: number; attempts: number; ok: boolean }> {
  const started = performance.now();
  const url = `${base}/api/v1/orgs/bench/projects/load/runs?build=job-${job}&issue=1&branch=main`;
  for (let attempt = 1; attempt <= 30; attempt++) {
    let wait = Math.min(1000 * 2 ** (attempt - 1), 30_000);
    let status: string;
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/xml',
          'idempotency-key': `bench-load-${job}`,
        },
        body,
      });
      const text = await res.text();
      // A 5xx is told apart by its problem code (busy, timeout, unavailable, internal).
      status =
        res.status >= 500
          ? `${res.status} ${(JSON.parse(text) as { code?: string }).code ?? ''}`.trim()
          : String(res.status);
      const after = Number(res.headers.get('retry-after'));
      if (Number.isFinite(after) && after > 0) wait = Math.min(after, 60) * 1000;
    } catch {
      status = 'network error';
    }
    seen[status] = (seen[status] ?? 0) + 1;
    if (status === '201') return { ms: performance.now() - started, attempts: attempt, ok: true };
    if (status !== '429' && status !== 'network error' && !status.startsWith('5'))
      return { ms: performance.now() - started, attempts: attempt, ok: false };
    await new Promise((r) => setTimeout(r, wait));
  }
  return { ms: performance.now() - started, attempts: 30, ok: false };
}

/** A pino line in brief: level, message, and what the error said. */
function brief(line: string): string {
  try {
    const l = JSON.parse(line) as {
      level?: number;
      msg?: string;
      err?: { message?: string; code?: string };
      error?: string;
    };
    const err =
      l.err === undefined ? (l.error ?? '') : `${l.err.code ?? ''} ${l.err.message ?? ''}`;
    return [l.level, l.msg, err].filter((x) => x !== undefined && x !== '').join(' | ');
  } catch {
    return line.slice(0, 300);
  }
}

/**
 * `npm run bench load`: BENCH_LOAD_UPLOADS (100) CI jobs upload a BENCH_LOAD_TESTS (25,000)
 * testcase file at the same moment while a reader polls the runs list and an issue's gates.
 * Baseline: the same reader on the idle server, in the same run. A real `gatehouse serve`
 * in its own process on its own embedded PostgreSQL, default configuration.
 */
export async function load(): Promise<Record<string, unknown>> {
  const uploads = Number(process.env['BENCH_LOAD_UPLOADS'] ?? 100);
  const tests = Number(process.env['BENCH_LOAD_TESTS'] ?? 25_000);
  const dir = await tempDir('gatehouse-bench-load-');
  const file = path.join(dir, 'junit.xml');
  await writeJUnitFile(file, tests);
  const body = readFileSync(file);
  const dataDir = path.join(dir, 'data');
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  // BENCH_SERVER_CPU_PROF=<dir>: write a V8 CPU profile of the server to <dir>.
  const profDir = process.env['BENCH_SERVER_CPU_PROF'];
  const profile = profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [];
  const server = spawn(process.execPath, [...profile, 'bin/gatehouse.js', 'serve'], {
    cwd: root,
    env: {
      ...process.env,
      GATEHOUSE_DATA_DIR: dataDir,
      PORT: String(port),
      GATEHOUSE_DEMO: '0',
      LOG_LEVEL: 'warn',
      DATABASE_URL: '',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  // The server's warnings and errors (pino's JSON lines at LOG_LEVEL=warn): what a 5xx or a
  // failed job said, reported beside the figures (the first 20).
  const serverLog: string[] = [];
  let partial = '';
  server.stdout.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop()!;
    for (const line of lines) if (line.trim() !== '' && serverLog.length < 20) serverLog.push(line);
  });
  try {
    await waitUntilReady(base);
    const call = jsonCaller(base);
    const creds = { email: 'load@example.test', password: 'benchmark password 1' };
    await call('POST', '/api/v1/auth/signup', { ...creds, name: 'Load' });
    const login = await call('POST', '/api/v1/auth/login', creds);
    const org = await call(
      'POST',
      '/api/v1/orgs',
      { name: 'Bench', slug: 'bench' },
      login['accessToken'],
    );
    const access = org['accessToken']!;
    const project = '/api/v1/orgs/bench/projects/load';
    await call('POST', '/api/v1/orgs/bench/projects', { key: 'load', name: 'Load' }, access);
    await call('PUT', `${project}/quality-config`, SEED_QUALITY_CONFIG, access);
    await call('POST', `${project}/issues`, { number: 1, title: 'Matrix build' }, access);
    const { token } = await call('POST', '/api/v1/orgs/bench/api-tokens', { name: 'ci' }, access);
    // One run first, so the lists and gates read something.
    const seed: Record<string, number> = {};
    await uploadLikeTheCli(base, token!, body, 0, seed);

    // The server's event-loop delay (prom-client resets its histogram at each scrape), so
    // a scrape before and after each phase gives that phase's figures.
    const eventLoop = async () => {
      const text = await (await fetch(`${base}/metrics`)).text();
      const ms = (name: string) =>
        Number(
          (Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN) * 1000).toFixed(1),
        );
      return {
        p50Ms: ms('nodejs_eventloop_lag_p50_seconds'),
        p99Ms: ms('nodejs_eventloop_lag_p99_seconds'),
        maxMs: ms('nodejs_eventloop_lag_max_seconds'),
      };
    };
    const loadBefore = os.loadavg()[0]!;
    await eventLoop();
    const idleReader = startReader(base, `Bearer ${access}`);
    await new Promise((r) => setTimeout(r, 5000));
    const idle = await idleReader.stop();
    const idleLoop = await eventLoop();

    const seen: Record<string, number> = {};
    const reader = startReader(base, `Bearer ${access}`);
    const started = performance.now();
    const results = await Promise.all(
      Array.from({ length: uploads }, (_, i) => uploadLikeTheCli(base, token!, body, i + 1, seen)),
    );
    const burstSeconds = (performance.now() - started) / 1000;
    const during = await reader.stop();
    const burstLoop = await eventLoop();
    const loadAfter = os.loadavg()[0]!;

    const stored = (await call('GET', `${project}/runs?limit=200`, undefined, access).catch(
      () => ({}),
    )) as { items?: unknown[] };
    const fiveXx = Object.entries(seen)
      .filter(([status]) => status.startsWith('5'))
      .reduce((n, [, count]) => n + count, 0);
    const readFiveXx = Object.entries(during.statuses)
      .filter(([status]) => status.startsWith('5'))
      .reduce((n, [, count]) => n + count, 0);
    const uploadMs = summary(results.map((r) => r.ms));
    return {
      bench: 'load',
      machine: machine(),
      file: { testcases: tests, mb: round(body.length / 1048576, 2) },
      uploads: {
        concurrent: uploads,
        succeeded: results.filter((r) => r.ok).length,
        runsStored: (stored.items?.length ?? 0) - 1,
        answers: seen,
        attemptsMax: Math.max(...results.map((r) => r.attempts)),
        timeToStoredMs: uploadMs,
        burstSeconds: round(burstSeconds, 1),
        testcasesPerSecond: Math.round((uploads * tests) / burstSeconds),
      },
      reads: { idle, duringBurst: during },
      serverEventLoopDelay: { idle: idleLoop, duringBurst: burstLoop },
      // Other work on the machine shows here: a 2-core machine at a load of 2 is full.
      loadAverage1m: { before: loadBefore, after: loadAfter },
      ratios: {
        'read p99 during burst / idle': round(during.p99Ms / Math.max(idle.p99Ms, 0.1), 1),
        'read p50 during burst / idle': round(during.p50Ms / Math.max(idle.p50Ms, 0.1), 1),
      },
      serverWarnings: serverLog.map(brief),
      targets: {
        noUpload5xx: fiveXx === 0,
        everyUploadStored: results.every((r) => r.ok),
        noRead5xx: readFiveXx === 0,
        readP99Under100MsDuringBurst: during.p99Ms < 100,
      },
    };
  } finally {
    const exited = new Promise((r) => server.once('exit', r));
    server.kill('SIGTERM');
    await exited;
    await fs.rm(dir, { recursive: true, force: true });
  }
}
