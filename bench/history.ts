import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import pino from 'pino';
import { startEmbeddedPostgres } from '../src/db/embedded.ts';
import { JOB_SCHEMA } from '../src/jobs/queue.ts';
import { SEED_QUALITY_CONFIG } from '../src/seed-quality-config.ts';
import { firstSightAgainstRowPerResult } from './first-sight.ts';
import { historyReads } from './history-reads.ts';
import {
  autocannon,
  freePort,
  jsonCaller,
  machine,
  median,
  root,
  round,
  tempDir,
  type LoadResult,
  waitUntilReady,
} from './lib.ts';

// `npm run bench history`: a project's history of BENCH_HISTORY_RUNS runs of
// BENCH_HISTORY_TESTS tests (default 1,000 × 10,000 = 10M results), built through the real
// upload path (a `gatehouse serve` in its own process, its own embedded PostgreSQL), then:
// storage per result, steady-state and first-upload ingest against the bare saxes parse of
// the same file, the server's peak RSS over the build-up, and read latencies (readLatencies:
// the place where the history reads plug in).

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);

/** Every table that holds results, old format or new: whichever exist are summed. */
const RESULT_TABLES = ['test_results', 'tests', 'run_blocks', 'result_details'];

/** A `gatehouse serve` of the bench, signed in: what the measurements need to reach it. */
export interface HistoryServer {
  base: string;
  pid: number;
  /** A CI token of org `bench` (uploads and reads). */
  token: string;
  /** An owner's access token of org `bench` (10-minute life: mint another with `ownerToken`). */
  ownerToken(): Promise<string>;
  /** The owner role's connection string to the server's database (sizes, ids). */
  databaseUrl: string;
  stop(): Promise<void>;
}

/** What the build-up left behind, for the read measurements. */
export interface HistoryContext {
  server: HistoryServer;
  /** Path of the project's API: /api/v1/orgs/bench/projects/hist. */
  project: string;
  runs: number;
  tests: number;
  /** Run ids in upload order (oldest first). */
  runIds: string[];
  /** Issue numbers the runs were linked to (every tenth run). */
  issues: number[];
  /** A few testIds: a flaky one, an always-passing one, a sometimes-failing one. */
  testIds: string[];
}

/** Starts PostgreSQL (embedded, in `dataDir`) and a `gatehouse serve` on it; signs in. */
export async function startHistoryServer(
  dataDir: string,
  serverRoot = root,
): Promise<HistoryServer> {
  const logger = pino({ level: 'silent' });
  const pgServer = await startEmbeddedPostgres(path.join(dataDir, 'pg'), logger);
  const admin = new pg.Client({ connectionString: pgServer.url });
  await admin.connect();
  await admin.query('CREATE DATABASE gatehouse');
  await admin.end();
  const databaseUrl = pgServer.url.replace(/\/postgres$/, '/gatehouse');
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const server: ChildProcess = spawn(process.execPath, ['bin/gatehouse.js', 'serve'], {
    cwd: serverRoot,
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      GATEHOUSE_SECRET: randomBytes(32).toString('base64url'),
      GATEHOUSE_DATA_DIR: dataDir,
      PORT: String(port),
      GATEHOUSE_DEMO: '0',
      LOG_LEVEL: 'warn',
      NODE_OPTIONS: process.env['BENCH_SERVER_NODE_OPTIONS'] ?? '',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const stop = async () => {
    if (server.exitCode === null) {
      const exited = new Promise((r) => server.once('exit', r));
      server.kill('SIGTERM');
      await exited;
    }
    await pgServer.stop();
  };
  try {
    await waitUntilReady(base);
    const call = jsonCaller(base);
    const creds = { email: 'bench@example.test', password: 'benchmark password 1' };
    await call('POST', '/api/v1/auth/signup', { ...creds, name: 'Bench' });
    const first = await call('POST', '/api/v1/auth/login', creds);
    await call('POST', '/api/v1/orgs', { name: 'Bench', slug: 'bench' }, first['accessToken']);
    const ownerToken = async () =>
      (await call('POST', '/api/v1/auth/login', { ...creds, org: 'bench' }))['accessToken']!;
    const owner = await ownerToken();
    await call(
      'POST',
      '/api/v1/orgs/bench/projects',
      { key: 'hist', name: 'History', defaultBranch: 'main' },
      owner,
    );
    await call(
      'PUT',
      '/api/v1/orgs/bench/projects/hist/quality-config',
      SEED_QUALITY_CONFIG,
      owner,
    );
    const { token } = await call('POST', '/api/v1/orgs/bench/api-tokens', { name: 'ci' }, owner);
    return { base, pid: server.pid!, token: token!, ownerToken, databaseUrl, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** A cheap deterministic hash: which test fails in which run. */
function mix(a: number, b: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x632be5ab, 0xc2b2ae35);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  return (h ^ (h >>> 12)) >>> 0;
}

/**
 * Run `r` of the history: `tests` testcases in 50 suites; ~2% fail at random (message and a
 * short stack), the first 10 tests are flaky (fail one run in three).
 */
export function runXml(r: number, tests: number, prefix = 'handles request'): string {
  const parts: string[] = ['<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="ci">\n'];
  const perSuite = Math.ceil(tests / 50);
  for (let n = 0; n < tests; n++) {
    const s = Math.floor(n / perSuite);
    if (n % perSuite === 0) {
      if (n > 0) parts.push('</testsuite>\n');
      parts.push(`<testsuite name="com.example.module${s}.ServiceTest">\n`);
    }
    const cls = `com.example.module${s}.Service${n % 40}Test`;
    const time = ((mix(n, r) % 5000) / 1000).toFixed(3);
    const fails = n < 10 ? (r + n) % 3 === 0 : mix(n, r * 7 + 1) % 100 < 2;
    if (fails) {
      parts.push(
        `<testcase classname="${cls}" name="${prefix} ${n}" time="${time}">` +
          `<failure type="org.opentest4j.AssertionFailedError" message="expected: &lt;200&gt; but was: &lt;503&gt; for tenant ${mix(n, r) % 997}">` +
          `org.opentest4j.AssertionFailedError: expected: &lt;200&gt; but was: &lt;503&gt;\n` +
          `\tat ${cls}.handlesRequest(Service${n % 40}Test.java:${100 + (n % 300)})\n</failure></testcase>\n`,
      );
    } else {
      parts.push(`<testcase classname="${cls}" name="${prefix} ${n}" time="${time}"/>\n`);
    }
  }
  parts.push('</testsuite>\n</testsuites>\n');
  return parts.join('');
}

export async function upload(server: HistoryServer, query: string, xml: string) {
  const res = await fetch(`${server.base}/api/v1/orgs/bench/projects/hist/runs?${query}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/xml' },
    body: xml,
  });
  const body = (await res.json()) as { id?: string; totals?: { tests: number }; detail?: string };
  if (res.status !== 201) throw new Error(`upload ${query}: ${res.status} ${body.detail ?? ''}`);
  return body as { id: string; totals: { tests: number } };
}

const peakRssMb = (pid: number) =>
  Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

/** The bare saxes parse of `file` in a process of its own (bench/ingest-worker.ts). */
function saxesSeconds(file: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'bench/ingest-worker.ts', 'saxes', file],
      {
        cwd: root,
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.on('close', (code) =>
      code === 0
        ? resolve((JSON.parse(out.trim().split('\n').pop()!) as { seconds: number }).seconds)
        : reject(new Error(`saxes worker exited ${code}`)),
    );
  });
}

/** Storage of every results table and its indexes (and TOAST), in bytes. */
async function resultsBytes(databaseUrl: string) {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('VACUUM ANALYZE');
    const { rows } = await client.query<{ relname: string; bytes: string }>(
      `SELECT relname, pg_total_relation_size(oid)::text AS bytes FROM pg_class
       WHERE relname = ANY($1) AND relkind = 'r'`,
      [RESULT_TABLES],
    );
    return Object.fromEntries(rows.map((r) => [r.relname, Number(r.bytes)]));
  } finally {
    await client.end();
  }
}

/**
 * Read latencies at this size: p50/p99 under 10 concurrent clients (autocannon in its own
 * process). The history reads (test list, a test's history, trends, issue trend) join this
 * list as they land; each entry is a path under the project (or absolute from /api).
 */
export async function readLatencies(
  ctx: HistoryContext,
  seconds = env('BENCH_HISTORY_READ_SECONDS', 10),
): Promise<Record<string, LoadResult>> {
  const lastRun = ctx.runIds[ctx.runIds.length - 1]!;
  const reads: Record<string, string> = {
    "a run's failed results": `${ctx.project}/runs/${lastRun}/results?status=failed&limit=100`,
    "an issue's gates": `${ctx.project}/issues/${ctx.issues[0]}/gates`,
    // The history reads: test list, a test's history (100 runs), 90 days of trends, an
    // issue's trend (bench/history-reads.ts).
    ...(await historyReads(ctx)),
  };
  const out: Record<string, LoadResult> = {};
  const headers = { authorization: `Bearer ${ctx.server.token}` };
  await quietQueue(ctx.server.databaseUrl);
  for (const [what, url] of Object.entries(reads)) {
    // Warmed up first, as bench/auth-read.ts does: the first second of a read the server has
    // not answered yet measures V8 compiling its code and each pooled connection preparing
    // its statement, not the read a server answers all day.
    await autocannon(`${ctx.server.base}${url}`, { headers, connections: 10, seconds: 2 });
    out[what] = await autocannon(`${ctx.server.base}${url}`, { headers, connections: 10, seconds });
  }
  return out;
}

/**
 * Waits (up to two minutes) until the job queue has nothing due or running: the uploads'
 * follow-up work (closing and judging runs, webhook fan-out) is done before reads are
 * measured, so each read is measured on its own.
 */
async function quietQueue(databaseUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      const { rows } = await client.query<{ busy: number }>(
        `SELECT count(*)::int AS busy FROM ${JOB_SCHEMA}.job
         WHERE state = 'active' OR (state IN ('created', 'retry') AND start_after <= now())`,
      );
      if (rows[0]!.busy === 0) return;
      await new Promise((r) => setTimeout(r, 250));
    }
    process.stderr.write('history: the job queue was still busy after 2 minutes\n');
  } finally {
    await client.end();
  }
}

export async function history(): Promise<Record<string, unknown>> {
  const tests = env('BENCH_HISTORY_TESTS', 10_000);
  const result = await historyOfRuns(env('BENCH_HISTORY_RUNS', 1000), tests);
  // After the big server has stopped: the two servers it starts have the machine to themselves.
  return {
    ...result,
    firstSightAgainstRowPerResult:
      process.env['BENCH_HISTORY_BASELINE'] === '0'
        ? { skipped: 'BENCH_HISTORY_BASELINE=0' }
        : await firstSightAgainstRowPerResult(tests),
  };
}

async function historyOfRuns(runs: number, tests: number): Promise<Record<string, unknown>> {
  const dataDir = await tempDir('gatehouse-bench-history-');
  const server = await startHistoryServer(dataDir);
  const project = '/api/v1/orgs/bench/projects/hist';
  try {
    // Reset the peak-RSS mark: the build-up, not start-up or sign-up's scrypt.
    await fs.writeFile(`/proc/${server.pid}/clear_refs`, '5');
    const runIds: string[] = [];
    const issues = new Set<number>();
    const started = performance.now();
    const firstUpload = { seconds: 0 };
    const uploadSeconds: number[] = [];
    for (let r = 0; r < runs; r++) {
      const xml = runXml(r, tests);
      // Every tenth run names an issue (its gates are judged); a run in five is on a branch.
      const issue = r % 10 === 0 ? 1 + ((r / 10) % 10) : null;
      if (issue !== null) issues.add(issue);
      const query =
        `commit=c${r}&branch=${r % 5 === 4 ? `feature-${r % 7}` : 'main'}&build=b${r}` +
        (issue === null ? '' : `&issue=${issue}`);
      const t0 = performance.now();
      const run = await upload(server, query, xml);
      const seconds = (performance.now() - t0) / 1000;
      if (r === 0) firstUpload.seconds = seconds;
      else uploadSeconds.push(seconds);
      runIds.push(run.id);
      if ((r + 1) % 50 === 0)
        process.stderr.write(
          `history: ${r + 1}/${runs} runs, ${((performance.now() - started) / 1000).toFixed(0)} s\n`,
        );
    }
    const buildSeconds = (performance.now() - started) / 1000;
    const buildPeakRssMb = peakRssMb(server.pid);
    const results = runs * tests;
    const sizes = await resultsBytes(server.databaseUrl);
    const bytes = Object.values(sizes).reduce((a, b) => a + b, 0);

    // Steady state: the same tests again, as new builds, against the bare parse of the file.
    const dir = await tempDir('gatehouse-bench-history-files-');
    const file = path.join(dir, 'run.xml');
    const again = runXml(runs, tests);
    writeFileSync(file, again);
    const saxes: number[] = [];
    for (let i = 0; i < 3; i++) saxes.push(await saxesSeconds(file));
    const steady: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      await upload(server, `commit=steady${i}&branch=main&build=steady${i}`, again);
      steady.push((performance.now() - t0) / 1000);
    }
    // First sight: as many tests the project has never seen, in a file of the same shape.
    const fresh: number[] = [];
    for (let i = 0; i < 3; i++) {
      const xml = runXml(runs, tests, `new test ${i}`);
      const t0 = performance.now();
      await upload(server, `commit=fresh${i}&branch=main&build=fresh${i}`, xml);
      fresh.push((performance.now() - t0) / 1000);
    }
    await fs.rm(dir, { recursive: true, force: true });

    const ctx: HistoryContext = {
      server,
      project,
      runs,
      tests,
      runIds,
      issues: [...issues].sort((a, b) => a - b),
      testIds: [],
    };
    const reads = process.env['BENCH_HISTORY_READS'] === '0' ? {} : await readLatencies(ctx);
    const steadySeconds = median(steady);
    const saxesMedian = median(saxes);
    return {
      bench: 'history',
      machine: machine(),
      history: { runs, tests, results, buildSeconds: round(buildSeconds, 1) },
      storage: {
        bytesPerResult: round(bytes / results, 2),
        totalMb: round(bytes / 1048576, 1),
        tables: Object.fromEntries(
          Object.entries(sizes).map(([t, b]) => [t, `${round(b / 1048576, 1)} MB`]),
        ),
      },
      ingest: {
        uploadsPerSecondDuringBuild: round(
          (runs - 1) / uploadSeconds.reduce((a, b) => a + b, 0),
          2,
        ),
        medianUploadSecondsDuringBuild: round(median(uploadSeconds)),
        firstUploadOfTheProjectSeconds: round(firstUpload.seconds),
        bareSaxesSeconds: round(saxesMedian),
        steadyStateUploadSeconds: round(steadySeconds),
        'steady state / bare saxes (target >= 0.35)': round(saxesMedian / steadySeconds),
        firstSightUploadSeconds: round(median(fresh)),
        'first sight / bare saxes': round(saxesMedian / median(fresh)),
      },
      server: { peakRssMbDuringBuild: Math.round(buildPeakRssMb) },
      reads,
      targets: {
        bytesPerResultAtMost40: bytes / results <= 40,
        bytesPerResultAtMost16: bytes / results <= 16,
        steadyStateAtLeast035OfSaxes: saxesMedian / steadySeconds >= 0.35,
        serverPeakRssUnder300Mb: buildPeakRssMb < 300,
      },
    };
  } finally {
    await server.stop();
    await fs.rm(dataDir, { recursive: true, force: true });
  }
}
