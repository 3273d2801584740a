import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { sql, type Kysely } from 'kysely';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkAppRole } from '../../src/db/app-role.ts';
import { connect } from '../../src/db/connection.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

const root = path.resolve(import.meta.dirname, '../..');

function freePort(): number {
  return 20000 + Math.floor(Math.random() * 20000);
}

function spawnServe(dataDir: string, port: number) {
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    GATEHOUSE_DATA_DIR: dataDir,
    PORT: String(port),
    LOG_LEVEL: 'info',
  };
  delete env['DATABASE_URL'];
  delete env['GATEHOUSE_SECRET'];
  const child = spawn(process.execPath, ['bin/gatehouse.js', 'serve'], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const text = { out: '', err: '' };
  child.stdout.on('data', (c: Buffer) => (text.out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (text.err += c.toString()));
  return { child, text };
}

/** Runs `gatehouse serve` as a user would, and waits until it answers /readyz. */
async function serve(
  dataDir: string,
  port: number,
): Promise<{ child: ChildProcess; output: () => string }> {
  const { child, text } = spawnServe(dataDir, port);
  const out = () => text.out + text.err;
  // First start: initdb, migrations, the job queue's schema and the whole demo issue; the
  // demo login is printed once listening, just before "Gatehouse is serving" is logged.
  for (let i = 0; i < 900; i++) {
    const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok && out().includes('"msg":"Gatehouse is serving"')) return { child, output: out };
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`gatehouse serve did not become ready:\n${out()}`);
}

/** Runs `gatehouse serve` that is expected to refuse to start. */
async function serveFailing(
  dataDir: string,
  port: number,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const { child, text } = spawnServe(dataDir, port);
  const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  clearTimeout(timer);
  return { code, stdout: text.out, stderr: text.err };
}

async function signIn(port: number, email: string, password: string): Promise<Response> {
  return fetch(`http://127.0.0.1:${port}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password, org: 'demo' }),
  });
}

const demoLogin = (output: string) => {
  const m = /email:\s+(\S+)\s+password:\s+(\S+)/.exec(output);
  return m === null ? null : { email: m[1]!, password: m[2]! };
};

async function stop(child: ChildProcess): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  child.kill('SIGTERM');
  return exited;
}

describe('gatehouse serve on the embedded PostgreSQL', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'gatehouse-serve-'));
    await fs.chmod(dataDir, 0o755);
  });
  afterAll(() => fs.rm(dataDir, { recursive: true, force: true }));

  it('starts its own PostgreSQL, prints a one-time demo login, stops cleanly, and keeps data across restarts', async () => {
    const port = freePort();
    // A port in use on the first start: one clear line, and no login printed (and lost).
    const squatter = net.createServer();
    await new Promise<void>((r) => squatter.listen(port, '127.0.0.1', r));
    const taken = await serveFailing(dataDir, port);
    await new Promise<void>((r) => squatter.close(() => r()));
    expect(taken.code).toBe(2);
    expect(taken.stderr.trim()).toBe(
      `gatehouse: port ${port} is already in use on 127.0.0.1 (another Gatehouse or another server); stop it, or set PORT to a free port`,
    );
    expect(taken.stdout).not.toContain('password:');

    const first = await serve(dataDir, port);
    const login = demoLogin(first.output());
    expect(login, first.output()).not.toBeNull();
    const secret = await fs.stat(path.join(dataDir, 'secret'));
    expect(secret.mode & 0o777).toBe(0o600);

    // A second server on the same data directory: one line naming it and the other process.
    const lock = await fs.readFile(path.join(dataDir, 'pg', 'postmaster.pid'), 'utf8');
    const pgPid = lock.split('\n')[0]!;
    const second = await serveFailing(dataDir, freePort());
    expect(second.code).toBe(2);
    const lines = second.stderr.trim().split('\n');
    expect(lines, second.stderr).toHaveLength(1);
    expect(lines[0]).toContain(
      `the data directory ${dataDir} is in use by another PostgreSQL (pid ${pgPid}, started by pid ${first.child.pid}`,
    );
    expect(lines[0]).toContain('GATEHOUSE_DATA_DIR');
    expect(second.stdout).not.toContain('password:');

    expect(await stop(first.child)).toBe(0);
    expect(first.output()).toContain('"msg":"stopped"');
    const { stdout } = await import('node:child_process').then(({ execFileSync }) => ({
      stdout: execFileSync('ps', ['-eo', 'args']).toString(),
    }));
    expect(stdout).not.toContain(path.join(dataDir, 'pg'));

    // Nobody used the login: the next start prints a new one, and the old one is void.
    const renewed = await serve(dataDir, port);
    let current: { email: string; password: string };
    try {
      const again = demoLogin(renewed.output());
      expect(again, renewed.output()).not.toBeNull();
      expect(again!.email).toBe(login!.email);
      expect(again!.password).not.toBe(login!.password);
      expect((await signIn(port, login!.email, login!.password)).status).toBe(401);
      current = again!;
      const res = await signIn(port, current.email, current.password);
      expect(res.status).toBe(200);
      const { accessToken } = (await res.json()) as { accessToken: string };
      const org = await fetch(`http://127.0.0.1:${port}/api/v1/orgs/demo`, {
        headers: { authorization: `Bearer ${accessToken}` },
      });
      expect(org.status).toBe(200);
    } finally {
      expect(await stop(renewed.child)).toBe(0);
    }

    // Used once: later starts print nothing, and the data (and that password) are kept.
    const third = await serve(dataDir, port);
    try {
      expect(third.output()).not.toContain('Demo organization');
      expect(third.output()).not.toContain('password:');
      expect((await signIn(port, current.email, current.password)).status).toBe(200);
    } finally {
      expect(await stop(third.child)).toBe(0);
    }
  }, 400_000);

  it('says in one line which data directory the embedded PostgreSQL cannot reach, and how to fix it', async () => {
    const parent = await fs.mkdtemp(path.join(os.tmpdir(), 'gatehouse-closed-'));
    try {
      const root = process.getuid?.() === 0;
      // As root, PostgreSQL runs as "postgres", which cannot pass a 0700 folder of root's;
      // otherwise it runs as us, and a folder we cannot write stops the data directory.
      await fs.chmod(parent, root ? 0o700 : 0o500);
      const dir = path.join(parent, 'data');
      const res = await serveFailing(dir, freePort());
      expect(res.code).toBe(2);
      const lines = res.stderr.trim().split('\n');
      expect(lines, res.stderr).toHaveLength(1);
      expect(lines[0]).toContain(dir);
      expect(lines[0]).toMatch(root ? new RegExp(`chmod o\\+x ${parent}`) : /GATEHOUSE_DATA_DIR/);
      expect(res.stderr).not.toMatch(/initdb|\n\s+at /);
    } finally {
      await fs.chmod(parent, 0o755);
      await fs.rm(parent, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('the start-up safety check', () => {
  let testDb: TestDatabase;
  beforeAll(async () => {
    testDb = await createTestDatabase();
  });
  afterAll(() => testDb.drop());

  it('refuses a role that could bypass row-level security, naming why', async () => {
    const database = connect(
      testDb.url,
      { poolMax: 2, statementTimeoutMs: 10_000, connectionTimeoutMs: 5_000 },
      pino({ level: 'silent' }),
    );
    const db = database.db as unknown as Kysely<unknown>;
    const role = `gatehouse_probe_${randomBytes(4).toString('hex')}`;
    try {
      await sql.raw(`CREATE ROLE ${role} NOLOGIN`).execute(db);
      expect(await checkAppRole(db, role)).toEqual([]);
      await sql.raw(`ALTER ROLE ${role} BYPASSRLS`).execute(db);
      expect((await checkAppRole(db, role)).join()).toMatch(/BYPASSRLS/);
      await sql.raw(`ALTER ROLE ${role} NOBYPASSRLS SUPERUSER`).execute(db);
      expect((await checkAppRole(db, role)).join()).toMatch(/superuser/);
      await sql
        .raw(
          `ALTER ROLE ${role} NOSUPERUSER; CREATE TABLE probe (id int); ALTER TABLE probe OWNER TO ${role}`,
        )
        .execute(db);
      expect((await checkAppRole(db, role)).join()).toMatch(/owns 1 relation/);
      expect(await checkAppRole(db, `${role}_missing`)).toEqual([
        expect.stringMatching(/does not exist/),
      ]);
    } finally {
      await sql.raw(`DROP TABLE IF EXISTS probe; DROP ROLE IF EXISTS ${role}`).execute(db);
      await database.close();
    }
  });
});
