import { spawn } from 'node:child_process';
import { createReadStream, readFileSync, statSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { sql } from 'kysely';
import pino from 'pino';
import { loadConfig } from '../src/config.ts';
import { openStorage } from '../src/db/storage.ts';
import { writeJUnitFile } from './junit-file.ts';
import { freePort, jsonCaller, machine, root, round, tempDir, waitUntilReady } from './lib.ts';

interface Measure {
  what: string;
  cases: number;
  seconds: number;
  casesPerSecond: number;
  mbPerSecond: number;
  peakRssMb: number;
  error?: string;
}

function run(cmd: string, args: string[], env: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('close', (code) =>
      code === 0
        ? resolve(out)
        : reject(new Error(`${args.join(' ')} exited ${code}: ${err.slice(-500)}`)),
    );
  });
}

async function worker(mode: string, file: string, what: string): Promise<Measure> {
  const bytes = statSync(file).size;
  try {
    const out = await run(process.execPath, [
      '--max-old-space-size=16384',
      '--import',
      'tsx',
      'bench/ingest-worker.ts',
      mode,
      file,
    ]);
    const r = JSON.parse(out.trim().split('\n').pop()!) as {
      cases: number;
      seconds: number;
      peakRssMb: number;
    };
    return {
      what,
      cases: r.cases,
      seconds: r.seconds,
      casesPerSecond: r.cases / r.seconds,
      mbPerSecond: bytes / 1048576 / r.seconds,
      peakRssMb: r.peakRssMb,
    };
  } catch (err) {
    return {
      what,
      cases: 0,
      seconds: 0,
      casesPerSecond: 0,
      mbPerSecond: 0,
      peakRssMb: 0,
      error: (err as Error).message.slice(0, 300),
    };
  }
}

/** A real `gatehouse serve` in its own process on its own embedded PostgreSQL; upload the file over HTTP. */
export async function endToEnd(
  file: string,
  what: string,
  nodeOptions = process.env['BENCH_SERVER_NODE_OPTIONS'] ?? '',
): Promise<Measure> {
  const dataDir = await tempDir('gatehouse-bench-ingest-');
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  // BENCH_SERVER_CPU_PROF=<dir>: write a V8 CPU profile of the server to <dir> (NODE_OPTIONS refuses --cpu-prof).
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
      NODE_OPTIONS: nodeOptions,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  try {
    await waitUntilReady(base);
    const call = jsonCaller(base);
    const creds = { email: 'bench@example.test', password: 'benchmark password 1' };
    await call('POST', '/api/v1/auth/signup', { ...creds, name: 'Bench' });
    const first = await call('POST', '/api/v1/auth/login', creds);
    await call('POST', '/api/v1/orgs', { name: 'Bench', slug: 'bench' }, first['accessToken']);
    const scoped = await call(
      'POST',
      '/api/v1/auth/switch-org',
      { org: 'bench' },
      first['accessToken'],
    );
    await call(
      'POST',
      '/api/v1/orgs/bench/projects',
      { key: 'big', name: 'Big' },
      scoped['accessToken'],
    );
    const { token } = await call(
      'POST',
      '/api/v1/orgs/bench/api-tokens',
      { name: 'bench' },
      scoped['accessToken'],
    );
    const bytes = statSync(file).size;
    // Reset the peak-RSS mark so it measures the upload, not start-up or the scrypt of sign-up.
    await fs.writeFile(`/proc/${server.pid}/clear_refs`, '5');
    const started = performance.now();
    const res = await fetch(`${base}/api/v1/orgs/bench/projects/big/runs?build=bench`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/xml',
        'content-length': String(bytes),
      },
      body: Readable.toWeb(createReadStream(file, { highWaterMark: 256 * 1024 })) as ReadableStream,
      duplex: 'half',
    });
    const body = (await res.json()) as { totals?: { tests: number }; detail?: string };
    const seconds = (performance.now() - started) / 1000;
    if (res.status !== 201) throw new Error(`upload: ${res.status} ${body.detail ?? ''}`);
    const peakRssMb =
      Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${server.pid}/status`, 'utf8'))?.[1] ?? 0) /
      1024;
    const cases = body.totals!.tests;
    return {
      what,
      cases,
      seconds,
      casesPerSecond: cases / seconds,
      mbPerSecond: bytes / 1048576 / seconds,
      peakRssMb,
    };
  } finally {
    const exited = new Promise((r) => server.once('exit', r));
    server.kill('SIGTERM');
    await exited;
    await fs.rm(dataDir, { recursive: true, force: true });
  }
}

/** PostgreSQL alone: the same number of rows, generated server-side, as the app role into result_details
 *  (a row of text per result, as test_results was before compact results). */
async function postgresFloor(cases: number): Promise<Measure> {
  const dataDir = await tempDir('gatehouse-bench-floor-');
  const config = loadConfig({ GATEHOUSE_DATA_DIR: dataDir, LOG_LEVEL: 'silent' });
  const storage = await openStorage(config, pino({ level: 'silent' }), { migrate: true });
  try {
    const db = storage.database.db;
    const orgId = '00000000-0000-7000-8000-000000000001';
    await db.insertInto('orgs').values({ id: orgId, slug: 'floor', name: 'Floor' }).execute();
    const started = performance.now();
    await db.transaction().execute(async (trx) => {
      await sql`SELECT set_config('role', 'gatehouse_app', true), set_config('app.org_id', ${orgId}, true)`.execute(
        trx,
      );
      await sql`
        INSERT INTO result_details (org_id, run_id, seq, ord, project_id, file_id, status,
          duration_ms, failure_type, failure_message, failure_text, system_out, truncated, flaky)
        SELECT ${orgId}::uuid, ${orgId}::uuid, g, g, ${orgId}::uuid, ${orgId}::uuid,
          CASE WHEN g % 10 = 3 THEN 'failed' ELSE 'passed' END, (g % 5000) / 1000.0,
          CASE WHEN g % 10 = 3 THEN 'org.opentest4j.AssertionFailedError' END,
          CASE WHEN g % 10 = 3 THEN 'expected: <200> but was: <503> for tenant ' || (g % 997) END,
          CASE WHEN g % 10 = 3 THEN repeat('at com.example.Service.handlesRequest(Service.java:123)
', 4) END,
          CASE WHEN g % 20 = 7 THEN 'GET /api/v1/items/' || g || ' 200' END, false, false
        FROM generate_series(1, ${cases}) g`.execute(trx);
    });
    const seconds = (performance.now() - started) / 1000;
    return {
      what: 'PostgreSQL alone: INSERT … SELECT of as many generated rows into result_details (reference)',
      cases,
      seconds,
      casesPerSecond: cases / seconds,
      mbPerSecond: 0,
      peakRssMb: 0,
    };
  } finally {
    await storage.close();
    await fs.rm(dataDir, { recursive: true, force: true });
  }
}

export async function ingest(): Promise<Record<string, unknown>> {
  const dir = await tempDir('gatehouse-bench-files-');
  try {
    const big = path.join(dir, 'junit-1m.xml');
    const small = path.join(dir, 'junit-100k.xml');
    const million = Number(process.env['BENCH_INGEST_CASES'] ?? 1_000_000);
    await writeJUnitFile(big, million);
    await writeJUnitFile(small, Math.round(million / 10));
    const bare = await worker('saxes', big, 'bare saxes parse (baseline)');
    const parser = await worker('gatehouse-parser', big, 'Gatehouse JUnit parser, no database');
    const e2eSmall = await endToEnd(small, 'Gatehouse end to end, 1/10 of the file');
    const e2e = await endToEnd(big, 'Gatehouse end to end (HTTP upload → PostgreSQL)');
    // With default heap sizing V8 takes heap lazily, so RSS tracks how long the upload ran;
    // with the old space capped, what the server really retains shows.
    const capped = '--max-old-space-size=96';
    const cappedSmall = await endToEnd(small, `end to end, 1/10 of the file, ${capped}`, capped);
    const cappedBig = await endToEnd(big, `end to end, full file, ${capped}`, capped);
    const j2j = await worker('junit2json', big, 'junit2json');
    const floor = await postgresFloor(million);
    const ratio = (a: Measure, b: Measure) =>
      b.casesPerSecond > 0 ? round(a.casesPerSecond / b.casesPerSecond, 3) : null;
    return {
      bench: 'ingest',
      machine: machine(),
      file: { testcases: million, mb: round(statSync(big).size / 1048576, 1) },
      results: [bare, parser, e2eSmall, e2e, cappedSmall, cappedBig, j2j, floor].map((m) => ({
        ...m,
        seconds: round(m.seconds, 2),
        casesPerSecond: Math.round(m.casesPerSecond),
        mbPerSecond: round(m.mbPerSecond, 1),
        peakRssMb: Math.round(m.peakRssMb),
      })),
      ratios: {
        'end to end / bare parser (target >= 0.7)': ratio(e2e, bare),
        'end to end / junit2json (target > 1)': ratio(e2e, j2j),
        'PostgreSQL alone / bare parser (the ceiling for end to end)': ratio(floor, bare),
        'server peak RSS, full file / tenth (flat ≈ 1)': round(
          e2e.peakRssMb / e2eSmall.peakRssMb,
          2,
        ),
        [`server peak RSS, full file / tenth, ${capped} (flat ≈ 1)`]: round(
          cappedBig.peakRssMb / cappedSmall.peakRssMb,
          2,
        ),
      },
      targets: {
        endToEndAtLeast70PercentOfParser: (ratio(e2e, bare) ?? 0) >= 0.7,
        serverPeakRssUnder300Mb: e2e.peakRssMb < 300,
        fasterThanJunit2json: j2j.error !== undefined || (ratio(e2e, j2j) ?? 0) > 1,
      },
    };
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}
