import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { ownerOfNewOrg, PASSWORD, type Session } from '../helpers/actors.ts';

let t: TestApp;
let owner: Session & { orgId: string };

beforeAll(async () => {
  t = await startTestApp();
  owner = await ownerOfNewOrg(t.app, 'strict');
});
afterAll(() => t.close());

const TABLES = [
  'users',
  'orgs',
  'memberships',
  'invitations',
  'api_tokens',
  'audit_events',
  'sessions',
];

async function counts(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const table of TABLES) {
    const { rows } = await sql<{
      n: number;
    }>`SELECT count(*)::int AS n FROM ${sql.table(table)}`.execute(t.database.db);
    out[table] = rows[0]!.n;
  }
  return out;
}

interface Case {
  name: string;
  method: 'POST' | 'PATCH';
  url: string;
  body: string | object;
  field: RegExp;
  auth?: boolean;
}

const long = 'x'.repeat(5000);

const CASES: Case[] = [
  {
    name: 'malformed JSON',
    method: 'POST',
    url: '/api/v1/orgs',
    body: '{"name": "a", "slug": ',
    field: /JSON/i,
  },
  {
    name: 'a number for a string',
    method: 'POST',
    url: '/api/v1/orgs',
    body: { name: 42, slug: 'num' },
    field: /body\/name/,
  },
  {
    name: 'an over-long name',
    method: 'POST',
    url: '/api/v1/orgs',
    body: { name: long, slug: 'long' },
    field: /body\/name/,
  },
  {
    name: 'an unknown field',
    method: 'POST',
    url: '/api/v1/orgs',
    body: { name: 'A', slug: 'extra', plan: 'free' },
    field: /body\/plan/,
  },
  {
    name: 'a missing field',
    method: 'POST',
    url: '/api/v1/orgs',
    body: { name: 'A' },
    field: /body\/slug/,
  },
  {
    name: 'a slug with bad characters',
    method: 'POST',
    url: '/api/v1/orgs',
    body: { name: 'A', slug: 'Bad Slug!' },
    field: /body\/slug/,
  },
  {
    name: 'a role that does not exist',
    method: 'POST',
    url: '/api/v1/orgs/strict/invitations',
    body: { email: 'a@example.test', role: 'god' },
    field: /body\/role/,
  },
  {
    name: 'an email that is not one',
    method: 'POST',
    url: '/api/v1/orgs/strict/invitations',
    body: { email: 'nope', role: 'viewer' },
    field: /body\/email/,
  },
  {
    name: 'an over-long token name',
    method: 'POST',
    url: '/api/v1/orgs/strict/api-tokens',
    body: { name: long },
    field: /body\/name/,
  },
  {
    name: 'an expiry in the past',
    method: 'POST',
    url: '/api/v1/orgs/strict/api-tokens',
    body: { name: 'old', expiresAt: '2001-01-01T00:00:00Z' },
    field: /body\/expiresAt/,
  },
  {
    name: 'a wrong type on rename',
    method: 'PATCH',
    url: '/api/v1/orgs/strict',
    body: { name: ['list'] },
    field: /body\/name/,
  },
  {
    name: 'a short password at sign-up',
    method: 'POST',
    url: '/api/v1/auth/signup',
    body: { email: 'p@example.test', password: 'short', name: 'P' },
    field: /body\/password/,
    auth: false,
  },
  {
    name: 'an over-long password at login',
    method: 'POST',
    url: '/api/v1/auth/login',
    body: { email: 'p@example.test', password: long },
    field: /body\/password/,
    auth: false,
  },
  {
    name: 'an unknown field at sign-up',
    method: 'POST',
    url: '/api/v1/auth/signup',
    body: { email: 'q@example.test', password: PASSWORD, name: 'Q', isAdmin: true },
    field: /body\/isAdmin/,
    auth: false,
  },
];

describe('bad input', () => {
  it.each(CASES)('answers $name with a 400 naming the field, and writes nothing', async (c) => {
    const before = await counts();
    const res = await t.app.inject({
      method: c.method,
      url: c.url,
      headers: { ...(c.auth === false ? {} : owner.auth), 'content-type': 'application/json' },
      payload: typeof c.body === 'string' ? c.body : JSON.stringify(c.body),
    });
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toContain('application/problem+json');
    const problem = res.json<{
      status: number;
      detail: string;
      title: string;
      requestId: string;
    }>();
    expect(problem.status).toBe(400);
    expect(problem.requestId).toBeTruthy();
    expect(problem.detail).toMatch(c.field);
    expect(await counts()).toEqual(before);
  });

  it('rejects bad query values and cursors with a 400', async () => {
    for (const url of [
      '/api/v1/orgs/strict/members?limit=0',
      '/api/v1/orgs/strict/members?limit=abc',
      '/api/v1/orgs/strict/members?cursor=!!!',
    ]) {
      const res = await t.app.inject({ method: 'GET', url, headers: owner.auth });
      expect(res.statusCode, url).toBe(400);
      expect(res.json().detail).toMatch(/querystring\/(limit|cursor)/);
    }
  });

  it('refuses a body over the size limit with a 413', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/orgs',
      headers: { ...owner.auth, 'content-type': 'application/json' },
      payload: JSON.stringify({ name: 'x'.repeat(2 * 1024 * 1024), slug: 'big' }),
    });
    expect(res.statusCode).toBe(413);
    expect(res.headers['content-type']).toContain('application/problem+json');
  });

  it('answers an unknown route with a problem+json 404', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/v1/nothing-here' });
    expect(res.statusCode).toBe(404);
    expect(res.headers['content-type']).toContain('application/problem+json');
  });
});

describe('cursors', () => {
  it('refuses a well-formed cursor whose key is of the wrong type with a 400, not a database error', async () => {
    const forged = Buffer.from(JSON.stringify({ k: 'not-a-uuid' })).toString('base64url');
    for (const url of [
      `/api/v1/orgs/strict/members?cursor=${forged}`,
      `/api/v1/orgs/strict/audit-events?cursor=${forged}`,
      `/api/v1/orgs?cursor=${forged}`,
    ]) {
      const res = await t.app.inject({ method: 'GET', url, headers: owner.auth });
      expect(res.statusCode, url).toBe(400);
      expect(res.json().detail).toMatch(/querystring\/cursor/);
    }
  });
});
