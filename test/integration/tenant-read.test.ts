import { sql } from 'kysely';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_ROLE } from '../../src/db/app-role.ts';
import { connect, runPipelined, type Database } from '../../src/db/connection.ts';
import { readAsTenant, type Caller } from '../../src/db/tenant.ts';
import { Forbidden, NotFound, Unauthorized } from '../../src/errors.ts';
import { parseOrgSecret } from '../../src/lib/tokens.ts';
import { apiToken, memberOf, ownerOfNewOrg, type Session } from '../helpers/actors.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';

// readAsTenant sends the tenant door and a read as one pipeline (src/db/pipeline.ts): these
// check that the read runs only behind an open door, as the app role inside the caller's
// org, and that the connection comes back clean, with its prepared statements in order.

let t: TestApp;
/** One connection only, so every read here shares it. */
let one: Database;
let orgA: string;
let owner: Session & { orgId: string };
let viewer: Session;
let token: { id: string; token: string };

const tokenCaller = (raw: string): Caller => {
  const parsed = parseOrgSecret('gth', raw)!;
  return { actor: { kind: 'token', orgId: parsed.orgId, tokenHash: parsed.hash }, requestId: 'r' };
};
const userCaller = (s: Session): Caller => {
  const claims = JSON.parse(
    Buffer.from(s.accessToken.split('.')[1]!, 'base64url').toString('utf8'),
  ) as { sub: string; sid: string; org: string | null };
  return {
    actor: { kind: 'user', userId: claims.sub, sessionId: claims.sid, orgId: claims.org },
    requestId: 'r',
  };
};

beforeAll(async () => {
  t = await startTestApp();
  owner = await ownerOfNewOrg(t.app, 'door-a');
  orgA = owner.orgId;
  viewer = await memberOf(t.app, owner, 'door-a', 'viewer');
  token = await apiToken(t.app, owner, 'door-a');
  const b = await ownerOfNewOrg(t.app, 'door-b');
  await apiToken(t.app, b, 'door-b');
  one = connect(t.config.databaseUrl!, { ...t.config.db, poolMax: 1 }, pino({ level: 'silent' }));
});
afterAll(async () => {
  await one?.close();
  await t?.close();
});

/** A statement that fails if it ever runs: a refused read must not reach it. */
const mustNotRun = () => sql<{ x: number }>`SELECT 1 / 0 AS x`.compile(one.db);

const whoAmI = (orgId: string) =>
  sql<{ who: string; org: string; foreign: number; mine: number }>`
    SELECT current_user AS who, current_setting('app.org_id') AS org,
      (SELECT count(*)::int FROM api_tokens WHERE org_id <> ${orgId}) AS foreign,
      (SELECT count(*)::int FROM api_tokens) AS mine`.compile(one.db);

describe('readAsTenant', () => {
  it('runs the read as the app role inside the caller’s org, where row-level security shows only that org', async () => {
    const answer = await readAsTenant(
      one.db,
      tokenCaller(token.token),
      'door-a',
      'org:read',
      whoAmI,
      (rows, ctx) => ({ row: rows[0], ctx }),
    );
    expect(answer.row).toEqual({ who: APP_ROLE, org: orgA, foreign: 0, mine: 1 });
    expect(answer.ctx).toMatchObject({
      orgId: orgA,
      orgSlug: 'door-a',
      role: 'ci',
      actorId: token.id,
      actorType: 'token',
      userId: null,
    });
    const user = await readAsTenant(
      one.db,
      userCaller(viewer),
      'door-a',
      'org:read',
      whoAmI,
      (_r, ctx) => ctx,
    );
    expect(user).toMatchObject({ orgId: orgA, role: 'viewer', actorType: 'user' });
  });

  it('hands the connection back as it found it: login role, no org', async () => {
    await readAsTenant(one.db, tokenCaller(token.token), 'door-a', 'org:read', whoAmI, (r) => r);
    const { rows } = await sql<{ who: string; org: string }>`
      SELECT current_user AS who, coalesce(current_setting('app.org_id', true), '') AS org`.execute(
      one.db,
    );
    expect(rows[0]!.who).not.toBe(APP_ROLE);
    expect(rows[0]!.org).toBe('');
  });

  it('refuses a dead token with a 401 before the read runs', async () => {
    const forged = tokenCaller(token.token);
    if (forged.actor.kind !== 'token') throw new Error('token caller expected');
    const dead: Caller = { ...forged, actor: { ...forged.actor, tokenHash: Buffer.alloc(32, 7) } };
    await expect(
      readAsTenant(one.db, dead, 'door-a', 'org:read', mustNotRun, (r) => r),
    ).rejects.toThrow(Unauthorized);
  });

  it('answers another org’s slug with a 404 before the read runs', async () => {
    await expect(
      readAsTenant(one.db, tokenCaller(token.token), 'door-b', 'org:read', mustNotRun, (r) => r),
    ).rejects.toThrow(new NotFound('Organization not found'));
    await expect(
      readAsTenant(one.db, userCaller(viewer), 'door-b', 'org:read', mustNotRun, (r) => r),
    ).rejects.toThrow(new NotFound('Organization not found'));
  });

  it('refuses a role without the permission with the 403 withTenant gives, before the read runs', async () => {
    const refusal = readAsTenant(
      one.db,
      userCaller(viewer),
      'door-a',
      'projects:write',
      mustNotRun,
      (r) => r,
    );
    await expect(refusal).rejects.toThrow(Forbidden);
    await expect(refusal).rejects.toThrow(
      /Your role \(viewer\) lacks the permission projects:write/,
    );
  });

  it('tells a user whose access token names no org to switch, before the read runs', async () => {
    const caller = userCaller(owner);
    if (caller.actor.kind !== 'user') throw new Error('user caller expected');
    const unscoped: Caller = { ...caller, actor: { ...caller.actor, orgId: null } };
    await expect(
      readAsTenant(one.db, unscoped, 'door-a', 'org:read', mustNotRun, (r) => r),
    ).rejects.toThrow(/scoped to another organization; get one for "door-a"/);
  });

  it('keeps prepared statements right when a read was skipped or failed after it was parsed', async () => {
    const divide = (by: number) => () =>
      sql<{ q: number }>`SELECT 6 / ${by}::int AS q, current_setting('app.org_id') AS org`.compile(
        one.db,
      );
    const ok = tokenCaller(token.token);
    // Skipped behind a refusal (its Parse never ran), then run: parsed now.
    await expect(
      readAsTenant(one.db, ok, 'door-b', 'org:read', divide(2), (r) => r),
    ).rejects.toThrow(NotFound);
    expect(await readAsTenant(one.db, ok, 'door-a', 'org:read', divide(2), (r) => r)).toEqual([
      { q: 3, org: orgA },
    ]);
    // Failed while executing (parsed, then division by zero), then run again with another value.
    await expect(
      readAsTenant(one.db, ok, 'door-a', 'org:read', divide(0), (r) => r),
    ).rejects.toThrow(/division by zero/);
    expect(await readAsTenant(one.db, ok, 'door-a', 'org:read', divide(3), (r) => r)).toEqual([
      { q: 2, org: orgA },
    ]);
  });

  it('runs the same statement twice in one pipeline, parsing it once', async () => {
    const twice = sql<{ n: number }>`SELECT ${7}::int * 6 AS n, 'twice' AS tag`.compile(one.db);
    const [, first, second] = await runPipelined(one.db, [whoAmI(orgA), twice, twice]);
    expect(first).toEqual([{ n: 42, tag: 'twice' }]);
    expect(second).toEqual([{ n: 42, tag: 'twice' }]);
  });

  it('records a token’s use to the minute', async () => {
    await sql`UPDATE api_tokens SET last_used_at = NULL WHERE id = ${token.id}`.execute(
      t.database.db,
    );
    await readAsTenant(one.db, tokenCaller(token.token), 'door-a', 'org:read', whoAmI, (r) => r);
    const { rows } = await sql<{ used: Date | null }>`
      SELECT last_used_at AS used FROM api_tokens WHERE id = ${token.id}`.execute(t.database.db);
    expect(rows[0]!.used).toBeInstanceOf(Date);
  });
});
