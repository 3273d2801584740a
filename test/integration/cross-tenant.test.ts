import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TENANT_TABLES } from '../../src/db/tenant-tables.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { apiToken, memberOf, ownerOfNewOrg, uniqueEmail, type Session } from '../helpers/actors.ts';
import { sample } from '../helpers/schema-sample.ts';
import { seedQualityData } from '../helpers/seed.ts';

interface Operation {
  method: string;
  path: string;
  body: Record<string, unknown> | undefined;
  query: Record<string, unknown>[];
  /** False for a public route that takes no Authorization (the badge: its token is the key). */
  authenticated: boolean;
}

let t: TestApp;
let victim: Session & { orgId: string };
let attacker: Session & { orgId: string };
let attackerToken: { auth: { authorization: string } };
let victimViewer: Session;
/** Ids of the victim's resources, by the path segment that names their collection. */
const victimIds: Record<string, string> = {};

beforeAll(async () => {
  t = await startTestApp();
  victim = await ownerOfNewOrg(t.app, 'victim');
  attacker = await ownerOfNewOrg(t.app, 'attacker');
  attackerToken = await apiToken(t.app, attacker, 'attacker', 'admin');
  const dev = await memberOf(t.app, victim, 'victim', 'developer');
  victimViewer = await memberOf(t.app, victim, 'victim', 'viewer');
  victimIds['members'] = dev.userId;
  const inv = await t.app.inject({
    method: 'POST',
    url: '/api/v1/orgs/victim/invitations',
    headers: victim.auth,
    payload: { email: uniqueEmail('pending'), role: 'developer' },
  });
  victimIds['invitations'] = inv.json<{ id: string }>().id;
  victimIds['api-tokens'] = (await apiToken(t.app, victim, 'victim')).id;
  const project = await t.app.inject({
    method: 'POST',
    url: '/api/v1/orgs/victim/projects',
    headers: victim.auth,
    payload: { key: 'victim-app', name: 'Victim app' },
  });
  victimIds['projects'] = project.json<{ key: string }>().key;
  const run = await t.app.inject({
    method: 'POST',
    url: '/api/v1/orgs/victim/projects/victim-app/runs?build=b1',
    headers: { ...victim.auth, 'content-type': 'application/xml' },
    payload:
      '<testsuite name="s"><testcase classname="c" name="ok"/><testcase classname="c" name="bad"><failure message="no"/></testcase></testsuite>',
  });
  victimIds['runs'] = run.json<{ id: string }>().id;
  const tests = await t.app.inject({
    method: 'GET',
    url: '/api/v1/orgs/victim/projects/victim-app/tests',
    headers: victim.auth,
  });
  victimIds['tests'] = tests.json<{ items: { testId: string }[] }>().items[0]!.testId;
  const seeded = await seedQualityData(t.app, victim.auth, 'victim');
  victimIds['issues'] = '2';
  const hooks = await t.app.inject({
    method: 'GET',
    url: '/api/v1/orgs/victim/webhooks',
    headers: victim.auth,
  });
  victimIds['webhooks'] = hooks.json<{ items: { id: string }[] }>().items[0]!.id;
  victimIds['escalations'] = seeded.escalationId;
  victimIds['risks'] = seeded.riskId;
  victimIds['checkpoints'] = seeded.checkpointId;
  victimIds['criteria'] = 'security-kept';
  victimIds['activities'] = 'ta-analysis';
});
afterAll(() => t.close());

async function operations(): Promise<Operation[]> {
  const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json<{
    paths: Record<
      string,
      Record<
        string,
        {
          requestBody?: { content: Record<string, { schema: Record<string, unknown> }> };
          parameters?: { in: string; name: string; schema: Record<string, unknown> }[];
          security?: unknown[];
        }
      >
    >;
  }>();
  const ops: Operation[] = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    if (!path.startsWith('/api/v1/orgs/{org}')) continue;
    for (const [method, op] of Object.entries(methods)) {
      const body = op.requestBody?.content['application/json']?.schema;
      ops.push({
        method: method.toUpperCase(),
        path,
        body,
        query: (op.parameters ?? []).filter((p) => p.in === 'query'),
        authenticated: (op.security ?? []).length > 0,
      });
    }
  }
  return ops;
}

function idFor(path: string, param: string): string {
  const segments = path.split('/');
  const collection = segments[segments.indexOf(`{${param}}`) - 1]!;
  const id = victimIds[collection];
  if (id === undefined)
    throw new Error(`the cross-tenant matrix has no victim id for {${param}} in ${path}; seed one`);
  return id;
}

function request(op: Operation, slug: string) {
  const url = op.path.replace(/\{(\w+)\}/g, (_m, p: string) =>
    p === 'org' ? slug : idFor(op.path, p),
  );
  const anyId = Object.values(victimIds)[0]!;
  const payload =
    op.body === undefined ? undefined : (sample(op.body, () => anyId) as Record<string, unknown>);
  return { method: op.method as 'GET', url, ...(payload === undefined ? {} : { payload }) };
}

/** Everything the victim has, read as the owner (no RLS), to prove nothing changed. */
async function victimSnapshot(): Promise<string> {
  const parts: unknown[] = [
    await t.database.db.selectFrom('orgs').selectAll().where('id', '=', victim.orgId).execute(),
  ];
  for (const table of TENANT_TABLES) {
    const { rows } =
      await sql`SELECT * FROM ${sql.table(table)} WHERE org_id = ${victim.orgId} ORDER BY 1, 2`.execute(
        t.database.db,
      );
    parts.push(rows);
  }
  return JSON.stringify(parts);
}

describe('cross-tenant matrix over every org-scoped route in /openapi.json', () => {
  it('finds the org-scoped routes to attack', async () => {
    const ops = await operations();
    expect(ops.length).toBeGreaterThanOrEqual(12);
    expect(ops.map((o) => `${o.method} ${o.path}`)).toContain('DELETE /api/v1/orgs/{org}');
  });

  it("answers another org's slug with a 404, for a JWT and for an API token, and changes nothing", async () => {
    const before = await victimSnapshot();
    for (const op of await operations()) {
      if (!op.authenticated) continue;
      for (const headers of [attacker.auth, attackerToken.auth]) {
        const res = await t.app.inject({ ...request(op, 'victim'), headers });
        expect(res.statusCode, `${op.method} ${op.path} ${res.body}`).toBe(404);
        expect(res.json().detail).toBe('Organization not found');
      }
    }
    expect(await victimSnapshot()).toBe(before);
  });

  it("answers the victim's ids under the attacker's own org with a 404, and changes nothing", async () => {
    const before = await victimSnapshot();
    for (const op of await operations()) {
      if (!/\{(?!org\})\w+\}/.test(op.path)) continue;
      const res = await t.app.inject({ ...request(op, 'attacker'), headers: attacker.auth });
      expect(res.statusCode, `${op.method} ${op.path}`).toBe(404);
    }
    expect(await victimSnapshot()).toBe(before);
  });

  it('looks exactly like a missing org', async () => {
    const missing = await t.app.inject({
      method: 'GET',
      url: '/api/v1/orgs/no-such-org',
      headers: attacker.auth,
    });
    const foreign = await t.app.inject({
      method: 'GET',
      url: '/api/v1/orgs/victim',
      headers: attacker.auth,
    });
    const strip = (b: Record<string, unknown>) => ({
      ...b,
      instance: undefined,
      requestId: undefined,
    });
    expect(foreign.statusCode).toBe(missing.statusCode);
    expect(strip(foreign.json())).toEqual(strip(missing.json()));
  });

  it('gives a member without the role a 403 on every mutation, and changes nothing', async () => {
    const before = await victimSnapshot();
    for (const op of await operations()) {
      // A stream ticket is how a reader (a viewer too) opens the live events: not a mutation.
      if (op.method === 'GET' || op.path.endsWith('/events/ticket')) continue;
      const res = await t.app.inject({ ...request(op, 'victim'), headers: victimViewer.auth });
      expect(res.statusCode, `${op.method} ${op.path}`).toBe(403);
    }
    expect(await victimSnapshot()).toBe(before);
  });

  it("opens none of the victim's public badges with the attacker's badge token, or with none", async () => {
    const project = async (slug: string, key: string, auth: Record<string, string>) =>
      (
        await t.app.inject({
          method: 'GET',
          url: `/api/v1/orgs/${slug}/projects/${key}`,
          headers: auth,
        })
      ).json<{ badgeToken: string }>().badgeToken;
    const created = await t.app.inject({
      method: 'POST',
      url: '/api/v1/orgs/attacker/projects',
      headers: attacker.auth,
      payload: { key: 'app', name: 'Same key as the victim' },
    });
    expect(created.statusCode).toBe(201);
    const attackers = await project('attacker', 'app', attacker.auth);
    const victims = await project('victim', 'app', victim.auth);
    const badge = (token?: string) =>
      `/api/v1/orgs/victim/projects/app/issues/2/badge.svg${token === undefined ? '' : `?token=${token}`}`;
    expect((await t.app.inject({ method: 'GET', url: badge(victims) })).statusCode).toBe(200);
    for (const [url, headers] of [
      [badge(attackers), {}],
      [badge(), attacker.auth],
      [badge(), victim.auth],
    ] as const) {
      const res = await t.app.inject({ method: 'GET', url, headers });
      expect(res.statusCode, url).toBe(404);
    }
  });
});
