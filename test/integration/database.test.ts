import { sql, type Kysely } from 'kysely';
import pino from 'pino';
import { uuidv7 } from 'uuidv7';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_ROLE } from '../../src/db/app-role.ts';
import { connect, type Database } from '../../src/db/connection.ts';
import { TENANT_TABLES } from '../../src/db/tenant-tables.ts';
import { enterOrg, withUser } from '../../src/db/tenant.ts';
import type { DB } from '../../src/db/types.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { createTestDatabase } from '../helpers/database.ts';
import { seedQualityData } from '../helpers/seed.ts';
import { apiToken, memberOf, ownerOfNewOrg } from '../helpers/actors.ts';

let t: TestApp;
let orgA: string;
let orgB: string;

beforeAll(async () => {
  t = await startTestApp();
  const a = await ownerOfNewOrg(t.app, 'tenant-a');
  const b = await ownerOfNewOrg(t.app, 'tenant-b');
  orgA = a.orgId;
  orgB = b.orgId;
  for (const [owner, slug] of [
    [a, 'tenant-a'],
    [b, 'tenant-b'],
  ] as const) {
    await memberOf(t.app, owner, slug, 'developer');
    await apiToken(t.app, owner, slug);
    await seedQualityData(t.app, owner.auth, slug, t);
  }
});
afterAll(() => t.close());

/** Counts rows per tenant table as the app role, with the given settings. */
async function visible(db: Kysely<DB>, settings: { org?: string; user?: string }) {
  return db.transaction().execute(async (trx) => {
    await sql`SELECT set_config('role', ${APP_ROLE}, true)`.execute(trx);
    if (settings.org !== undefined)
      await sql`SELECT set_config('app.org_id', ${settings.org}, true)`.execute(trx);
    if (settings.user !== undefined)
      await sql`SELECT set_config('app.user_id', ${settings.user}, true)`.execute(trx);
    const counts: Record<string, { total: number; foreign: number }> = {};
    for (const table of TENANT_TABLES) {
      const { rows } = await sql<{ total: number; foreign: number }>`
        SELECT count(*)::int AS total,
               count(*) FILTER (WHERE org_id IS DISTINCT FROM ${settings.org ?? null}::uuid)::int AS foreign
        FROM ${sql.table(table)}`.execute(trx);
      counts[table] = rows[0]!;
    }
    return counts;
  });
}

describe('row-level security in the catalog', () => {
  it('enables, forces and has a policy on every table with an org_id', async () => {
    const { rows } = await sql<{ table: string; rls: boolean; forced: boolean; policies: number }>`
      SELECT c.relname AS table, c.relrowsecurity AS rls, c.relforcerowsecurity AS forced,
             (SELECT count(*)::int FROM pg_policy p WHERE p.polrelid = c.oid) AS policies
      FROM pg_class c
      JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'org_id' AND NOT a.attisdropped
      WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
      ORDER BY 1`.execute(t.database.db);
    expect(rows.length).toBeGreaterThanOrEqual(TENANT_TABLES.length);
    for (const row of rows) {
      expect(row, row.table).toMatchObject({ rls: true, forced: true });
      expect(row.policies, row.table).toBeGreaterThan(0);
    }
  });

  it('puts org_id first in the primary key and in every foreign key of tenant tables', async () => {
    const { rows } = await sql<{ table: string; kind: string; first: string; refs: string | null }>`
      SELECT c.relname AS table, con.contype AS kind, a.attname AS first, rc.relname AS refs
      FROM pg_constraint con
      JOIN pg_class c ON c.oid = con.conrelid
      JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = con.conkey[1]
      LEFT JOIN pg_class rc ON rc.oid = con.confrelid
      WHERE c.relname = ANY(${[...TENANT_TABLES]}) AND con.contype IN ('p', 'f')`.execute(
      t.database.db,
    );
    for (const row of rows) {
      // Foreign keys to global tables (users) are not tenant keys.
      if (row.kind === 'f' && row.refs === 'users') continue;
      expect(row.first, `${row.table} ${row.kind}`).toBe('org_id');
    }
  });

  it('runs requests as a role that is not superuser, cannot bypass RLS and owns nothing', async () => {
    const { rows } = await sql<{ rolsuper: boolean; rolbypassrls: boolean; owned: number }>`
      SELECT r.rolsuper, r.rolbypassrls,
        (SELECT count(*)::int FROM pg_class c WHERE c.relowner = r.oid)
        + (SELECT count(*)::int FROM pg_proc p WHERE p.proowner = r.oid)
        + (SELECT count(*)::int FROM pg_namespace n WHERE n.nspowner = r.oid) AS owned
      FROM pg_roles r WHERE r.rolname = ${APP_ROLE}`.execute(t.database.db);
    expect(rows).toEqual([{ rolsuper: false, rolbypassrls: false, owned: 0 }]);
  });
});

describe('row-level security at run time', () => {
  it('shows a tenant table nothing without app.org_id, or with a wrong one', async () => {
    for (const settings of [{}, { org: uuidv7() }]) {
      const counts = await visible(t.database.db, settings);
      for (const table of TENANT_TABLES) expect(counts[table]!.total, table).toBe(0);
    }
  });

  it("shows exactly one tenant's rows with its org set", async () => {
    const counts = await visible(t.database.db, { org: orgA });
    for (const table of TENANT_TABLES) {
      expect(counts[table]!.total, table).toBeGreaterThan(0);
      expect(counts[table]!.foreign, table).toBe(0);
    }
  });

  it('refuses inserts tagged with another org and touches no foreign row on update or delete', async () => {
    await expect(
      t.database.db.transaction().execute(async (trx) => {
        await sql`SELECT set_config('role', ${APP_ROLE}, true), set_config('app.org_id', ${orgA}, true)`.execute(
          trx,
        );
        await trx
          .insertInto('audit_events')
          .values({
            org_id: orgB,
            id: uuidv7(),
            actor_type: 'user',
            actor_id: uuidv7(),
            action: 'forged',
            target_type: 'x',
            data: '{}',
          })
          .execute();
      }),
    ).rejects.toThrow(/row-level security/);
    const touched = await t.database.db.transaction().execute(async (trx) => {
      await sql`SELECT set_config('role', ${APP_ROLE}, true), set_config('app.org_id', ${orgA}, true)`.execute(
        trx,
      );
      const upd = await trx
        .updateTable('api_tokens')
        .set({ name: 'hijacked' })
        .where('org_id', '=', orgB)
        .executeTakeFirst();
      const del = await trx.deleteFrom('memberships').where('org_id', '=', orgB).executeTakeFirst();
      return Number(upd.numUpdatedRows) + Number(del.numDeletedRows);
    });
    expect(touched).toBe(0);
    const names = await t.database.db
      .selectFrom('api_tokens')
      .select('name')
      .where('org_id', '=', orgB)
      .execute();
    expect(names.map((n) => n.name)).not.toContain('hijacked');
  });

  /** A Database of its own on the test database, with a pool of `poolMax` connections. */
  const connectWithPool = (poolMax: number): Database =>
    connect(
      t.testDb.url,
      { poolMax, statementTimeoutMs: 10_000, connectionTimeoutMs: 5_000 },
      pino({ level: 'silent' }),
    );

  it('counts the connections the pool could give without waiting', async () => {
    const small = connectWithPool(3);
    try {
      expect(small.spareConnections()).toBe(3);
      const held = await Promise.all([small.pool.connect(), small.pool.connect()]);
      expect(small.spareConnections()).toBe(1);
      held[0].release();
      // An idle connection is spare as much as one not opened yet.
      expect(small.spareConnections()).toBe(2);
      const third = await small.pool.connect();
      const fourth = await small.pool.connect();
      // Every connection in use and one request waiting: less than none.
      const waiting = small.pool.connect();
      expect(small.spareConnections()).toBe(-1);
      third.release();
      (await waiting).release();
      fourth.release();
      held[1].release();
      expect(small.spareConnections()).toBe(3);
    } finally {
      await small.close();
    }
  });

  it("never leaks one tenant's setting into the next transaction on the same pooled connection", async () => {
    const single = connectWithPool(1);
    try {
      const pids = new Set<number>();
      const seen = async (org?: string) =>
        single.db.transaction().execute(async (trx) => {
          await sql`SELECT set_config('role', ${APP_ROLE}, true)`.execute(trx);
          if (org !== undefined) await enterOrg(trx, org);
          const { rows } = await sql<{
            pid: number;
            setting: string | null;
            orgs: string[] | null;
          }>`
            SELECT pg_backend_pid() AS pid, current_setting('app.org_id', true) AS setting,
                   (SELECT array_agg(DISTINCT org_id::text) FROM api_tokens) AS orgs`.execute(trx);
          pids.add(rows[0]!.pid);
          return rows[0]!;
        });
      expect((await seen(orgA)).orgs).toEqual([orgA]);
      const after = await seen();
      expect(after.setting ?? '').toBe('');
      expect(after.orgs).toBeNull();
      expect((await seen(orgB)).orgs).toEqual([orgB]);
      // Outside any transaction the role is the owner again, not the app role.
      const { rows } = await sql<{ role: string }>`SELECT current_user AS role`.execute(single.db);
      expect(rows[0]!.role).not.toBe(APP_ROLE);
      expect(pids.size).toBe(1);
    } finally {
      await single.close();
    }
  });

  it('lets a user list only their own memberships outside an org', async () => {
    const someone = await t.database.db
      .selectFrom('memberships')
      .select('user_id')
      .where('org_id', '=', orgA)
      .executeTakeFirstOrThrow();
    const rows = await withUser(t.database.db, someone.user_id, (trx) =>
      trx.selectFrom('memberships').selectAll().execute(),
    );
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) expect(r.user_id).toBe(someone.user_id);
  });
});

describe('migrations', () => {
  it('are safe to run twice and from two processes at once', async () => {
    const log = pino({ level: 'silent' });
    const fresh = await createTestDatabase();
    const a = connect(fresh.url, t.config.db, log);
    const b = connect(fresh.url, t.config.db, log);
    try {
      const results = await Promise.all([
        migrateToLatest(a.db as Kysely<unknown>),
        migrateToLatest(b.db as Kysely<unknown>),
      ]);
      // Exactly one of the two applied the migrations; the other waited on the lock and found nothing to do.
      const [applied, none] = [...results].sort((x, y) => y.length - x.length);
      expect(applied!.length).toBeGreaterThan(0);
      expect(none).toEqual([]);
      expect(await migrateToLatest(a.db as Kysely<unknown>)).toEqual([]);
    } finally {
      await a.close();
      await b.close();
      await fresh.drop();
    }
  });
});
