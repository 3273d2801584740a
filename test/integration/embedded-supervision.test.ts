import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { startEmbeddedPostgres } from '../../src/db/embedded.ts';
import { openRuntime, type Runtime } from '../../src/runtime.ts';
import { apiToken, ownerOfNewOrg } from '../helpers/actors.ts';
import { junitChunks, junitXml } from '../helpers/junit-gen.ts';
import { waitFor } from '../helpers/wait.ts';

// Killing the server is only ours to do when Gatehouse started it.
const embedded = inject('serverKind') === 'embedded';

async function scratchDir(tag: string): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `gatehouse-${tag}-`));
  await fs.chmod(dir, 0o755);
  return dir;
}

async function postmasterPid(dataDir: string): Promise<number> {
  const lock = await fs.readFile(path.join(dataDir, 'pg', 'postmaster.pid'), 'utf8');
  return Number(lock.split('\n')[0]);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(!embedded)('the embedded PostgreSQL is supervised', () => {
  let dir: string;
  let runtime: Runtime;
  let address: string;
  beforeAll(async () => {
    dir = await scratchDir('supervised');
    const config = loadConfig({
      GATEHOUSE_DATA_DIR: dir,
      GATEHOUSE_WORKER: '0',
      GATEHOUSE_DEMO: '0',
      LOG_LEVEL: 'silent',
    });
    runtime = await openRuntime(config, pino({ level: 'silent' }));
    address = await runtime.app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await runtime?.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('restarts a postmaster killed (-9) under an upload: /readyz is ready again by itself, no partial run, data intact', async () => {
    const app = runtime.app;
    const db = runtime.storage.database.db;
    const owner = await ownerOfNewOrg(app, 'supervised');
    const created = await app.inject({
      method: 'POST',
      url: '/api/v1/orgs/supervised/projects',
      headers: owner.auth,
      payload: { key: 'api', name: 'API' },
    });
    expect(created.statusCode).toBe(201);
    const ci = await apiToken(app, owner, 'supervised');
    const base = '/api/v1/orgs/supervised/projects/api/runs';
    const headers = { ...ci.auth, 'content-type': 'application/xml' };
    const before = await app.inject({
      method: 'POST',
      url: `${base}?build=before`,
      headers,
      payload: junitXml(300),
    });
    expect(before.statusCode).toBe(201);
    const beforeRun = before.json<{ id: string; totals: { tests: number } }>();

    const firstPid = await postmasterPid(dir);
    let killed = false;
    const upload = new Promise<{ status: number; body: string }>((resolve, reject) => {
      // Once the answer has come, the client's own later writes may fail (the server has
      // closed its side): the answer is what counts.
      let answered = false;
      const req = http.request(
        new URL(`${base}?build=killed`, address),
        { method: 'POST', headers: { ...headers, 'transfer-encoding': 'chunked' } },
        (res) => {
          answered = true;
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', (err) => {
        if (!answered) resolve({ status: -1, body: err.message });
      });
      const pump = async () => {
        let sent = 0;
        for (const chunk of junitChunks(40_000, { perChunk: 1000 })) {
          if (!req.write(chunk)) await new Promise((r) => req.once('drain', r));
          if (++sent === 10) {
            // Rows are on their way in: wait for the upload's transaction, then kill -9.
            await waitFor(async () => {
              const { rows } = await sql<{ pid: number }>`
                SELECT pid FROM pg_stat_activity
                WHERE datname = current_database() AND pid <> pg_backend_pid()
                  AND xact_start IS NOT NULL AND backend_type = 'client backend'`.execute(db);
              return rows.length > 0 ? true : undefined;
            }, 10_000);
            process.kill(firstPid, 'SIGKILL');
            killed = true;
          }
          await new Promise((r) => setImmediate(r));
          if (req.destroyed) return;
        }
        req.end();
      };
      pump().catch(reject);
    });
    const result = await upload;
    expect(killed).toBe(true);
    expect(result.status, result.body.slice(0, 300)).toBe(503);

    // Nobody restarts anything by hand: the supervisor brings the server back.
    await waitFor(async () => {
      const res = await fetch(new URL('/readyz', address)).catch(() => null);
      return res?.status === 200 ? true : undefined;
    }, 60_000);
    const secondPid = await postmasterPid(dir);
    expect(secondPid).not.toBe(firstPid);
    expect(alive(secondPid)).toBe(true);

    const killedRuns = await db
      .selectFrom('test_runs')
      .select('id')
      .where('build', '=', 'killed')
      .execute();
    expect(killedRuns).toEqual([]);
    const kept = await app.inject({
      method: 'GET',
      url: `${base}/${beforeRun.id}`,
      headers: ci.auth,
    });
    expect(kept.statusCode).toBe(200);
    expect(kept.json().totals.tests).toBe(300);
    const after = await app.inject({
      method: 'POST',
      url: `${base}?build=after`,
      headers,
      payload: junitXml(100),
    });
    expect(after.statusCode).toBe(201);
    expect(after.json().totals.tests).toBe(100);
  }, 180_000);
});

describe.skipIf(!embedded)('an embedded PostgreSQL that cannot be restarted', () => {
  it('is given up on with the reason, after its restarts with backoff failed', async () => {
    const dir = await scratchDir('unrestartable');
    let gaveUp: (err: Error) => void = () => undefined;
    const givenUp = new Promise<Error>((resolve) => (gaveUp = resolve));
    const server = await startEmbeddedPostgres(dir, pino({ level: 'silent' }), {
      attempts: 2,
      firstDelayMs: 200,
      onGiveUp: (err) => gaveUp(err),
    });
    try {
      const pid = await postmasterPid(dir);
      // The cluster's directory goes away with its server: nothing is left to restart.
      process.kill(pid, 'SIGKILL');
      await fs.rename(path.join(dir, 'pg'), path.join(dir, 'pg-gone'));
      const err = await givenUp;
      expect(err.message).toMatch(/could not restart after 2 attempts: .*did not start: .*\S/);
      expect(err.message).not.toMatch(/no reason given/);
    } finally {
      await server.stop();
      await fs.rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe.skipIf(!embedded)('gatehouse serve on a supervised embedded PostgreSQL', () => {
  it('carries on after a kill -9 of its postmaster, and exits 1 saying why once it cannot restart it', async () => {
    const dir = await scratchDir('serve-supervised');
    const port = 20000 + Math.floor(Math.random() * 20000);
    const env: Record<string, string> = {
      ...(process.env as Record<string, string>),
      GATEHOUSE_DATA_DIR: dir,
      PORT: String(port),
      LOG_LEVEL: 'info',
      GATEHOUSE_DEMO: '0',
    };
    delete env['DATABASE_URL'];
    delete env['GATEHOUSE_SECRET'];
    const child = spawn(process.execPath, ['bin/gatehouse.js', 'serve'], {
      cwd: path.resolve(import.meta.dirname, '../..'),
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const ready = () =>
      waitFor(async () => {
        if (child.exitCode !== null) throw new Error(`gatehouse serve exited:\n${out}`);
        const res = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null);
        return res?.status === 200 ? true : undefined;
      }, 120_000);
    try {
      await ready();
      const first = await postmasterPid(dir);
      process.kill(first, 'SIGKILL');
      await waitFor(() => Promise.resolve(out.includes('exited unexpectedly') ? true : undefined));
      await ready();
      expect(await postmasterPid(dir)).not.toBe(first);
      expect(child.exitCode).toBeNull();

      // Now the cluster's directory goes away with its server: restarting cannot work.
      process.kill(await postmasterPid(dir), 'SIGKILL');
      await fs.rename(path.join(dir, 'pg'), path.join(dir, 'pg-gone'));
      expect(await exited).toBe(1);
      expect(out).toMatch(/giving up on the embedded PostgreSQL/);
      expect(out).toMatch(/could not restart after \d+ attempts: .*did not start/);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await fs.rm(dir, { recursive: true, force: true });
    }
  }, 240_000);
});
