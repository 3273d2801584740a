import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
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

/** Runs `gatehouse serve` as a user would, and waits until it answers /readyz. */
async function serve(
  dataDir: string,
  port: number,
): Promise<{ child: ChildProcess; output: () => string }> {
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
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  // First start: initdb, migrations, the job queue's schema and the whole demo issue.
  for (let i = 0; i < 900; i++) {
    const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return { child, output: () => out };
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`gatehouse serve did not become ready:\n${out}`);
}

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
    const first = await serve(dataDir, port);
    const login = /email:\s+(\S+)\s+password:\s+(\S+)/.exec(first.output());
    expect(login, first.output()).not.toBeNull();
    const [, email, password] = login!;
    const secret = await fs.stat(path.join(dataDir, 'secret'));
    expect(secret.mode & 0o777).toBe(0o600);
    expect(await stop(first.child)).toBe(0);
    expect(first.output()).toContain('"msg":"stopped"');
    const { stdout } = await import('node:child_process').then(({ execFileSync }) => ({
      stdout: execFileSync('ps', ['-eo', 'args']).toString(),
    }));
    expect(stdout).not.toContain(path.join(dataDir, 'pg'));

    const second = await serve(dataDir, port);
    try {
      expect(second.output()).not.toContain('Demo organization');
      const res = await fetch(`http://127.0.0.1:${port}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email, password, org: 'demo' }),
      });
      expect(res.status).toBe(200);
      const { accessToken } = (await res.json()) as { accessToken: string };
      const org = await fetch(`http://127.0.0.1:${port}/api/v1/orgs/demo`, {
        headers: { authorization: `Bearer ${accessToken}` },
      });
      expect(org.status).toBe(200);
    } finally {
      expect(await stop(second.child)).toBe(0);
    }
  }, 240_000);
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
