import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import {
  apiToken,
  login,
  memberOf,
  ownerOfNewOrg,
  signup,
  uniqueEmail,
  type Session,
} from '../helpers/actors.ts';

let t: TestApp;
let owner: Session & { orgId: string };

beforeAll(async () => {
  t = await startTestApp();
  owner = await ownerOfNewOrg(t.app, 'acme');
});
afterAll(() => t.close());

async function auditActions(): Promise<string[]> {
  const res = await t.app.inject({
    method: 'GET',
    url: '/api/v1/orgs/acme/audit-events?limit=200',
    headers: owner.auth,
  });
  expect(res.statusCode).toBe(200);
  return res.json<{ items: { action: string }[] }>().items.map((e) => e.action);
}

describe('organizations', () => {
  it('makes the creator the owner and lists the org among theirs', async () => {
    const me = await t.app.inject({ method: 'GET', url: '/api/v1/me', headers: owner.auth });
    expect(me.statusCode).toBe(200);
    expect(me.json().memberships).toEqual([
      { org: { id: owner.orgId, slug: 'acme', name: 'Org acme' }, role: 'owner' },
    ]);
    const list = await t.app.inject({ method: 'GET', url: '/api/v1/orgs', headers: owner.auth });
    expect(list.json().items.map((o: { slug: string }) => o.slug)).toEqual(['acme']);
    expect(await auditActions()).toContain('org.created');
  });

  it("answers a new org with a token pair scoped to it, and tells a member holding another org's token to switch", async () => {
    const email = uniqueEmail('creator');
    await signup(t.app, email);
    const first = await login(t.app, email);
    const created = await t.app.inject({
      method: 'POST',
      url: '/api/v1/orgs',
      headers: first.auth,
      payload: { name: 'Fresh', slug: 'acme-fresh' },
    });
    expect(created.statusCode, created.body).toBe(201);
    const body = created.json();
    expect(body).toMatchObject({ slug: 'acme-fresh', role: 'owner', tokenType: 'Bearer' });
    const auth = { authorization: `Bearer ${body.accessToken}` };
    const read = await t.app.inject({
      method: 'GET',
      url: '/api/v1/orgs/acme-fresh',
      headers: auth,
    });
    expect(read.statusCode).toBe(200);
    const refreshed = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/refresh',
      payload: { refreshToken: body.refreshToken },
    });
    expect(refreshed.statusCode).toBe(200);
    // A second org: the first org's token reaches it only after switching.
    const second = await t.app.inject({
      method: 'POST',
      url: '/api/v1/orgs',
      headers: auth,
      payload: { name: 'Fresh two', slug: 'acme-fresh-two' },
    });
    expect(second.statusCode).toBe(201);
    const elsewhere = await t.app.inject({
      method: 'GET',
      url: '/api/v1/orgs/acme-fresh-two',
      headers: auth,
    });
    expect(elsewhere.statusCode).toBe(404);
    expect(elsewhere.json().detail).toContain('switch-org');
    // Someone who is not a member learns nothing beyond "not found".
    const stranger = await t.app.inject({
      method: 'GET',
      url: '/api/v1/orgs/acme-fresh-two',
      headers: owner.auth,
    });
    expect(stranger.json().detail).toBe('Organization not found');
  });

  it('refuses a slug that is already taken with a 409', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/orgs',
      headers: owner.auth,
      payload: { name: 'Again', slug: 'acme' },
    });
    expect(res.statusCode).toBe(409);
    expect(res.headers['content-type']).toContain('application/problem+json');
  });

  it('renames for admins and audits the change', async () => {
    const res = await t.app.inject({
      method: 'PATCH',
      url: '/api/v1/orgs/acme',
      headers: owner.auth,
      payload: { name: 'Acme Inc' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().name).toBe('Acme Inc');
    expect(await auditActions()).toContain('org.renamed');
  });

  it('lets a viewer read but not rename', async () => {
    const viewer = await memberOf(t.app, owner, 'acme', 'viewer');
    expect(
      (await t.app.inject({ method: 'GET', url: '/api/v1/orgs/acme', headers: viewer.auth }))
        .statusCode,
    ).toBe(200);
    const res = await t.app.inject({
      method: 'PATCH',
      url: '/api/v1/orgs/acme',
      headers: viewer.auth,
      payload: { name: 'Mine' },
    });
    expect(res.statusCode).toBe(403);
  });

  it('soft-deletes for the owner only, after which the org is a 404 everywhere', async () => {
    const boss = await ownerOfNewOrg(t.app, 'doomed');
    const admin = await memberOf(t.app, boss, 'doomed', 'admin');
    expect(
      (await t.app.inject({ method: 'DELETE', url: '/api/v1/orgs/doomed', headers: admin.auth }))
        .statusCode,
    ).toBe(403);
    expect(
      (await t.app.inject({ method: 'DELETE', url: '/api/v1/orgs/doomed', headers: boss.auth }))
        .statusCode,
    ).toBe(204);
    for (const url of [
      '/api/v1/orgs/doomed',
      '/api/v1/orgs/doomed/members',
      '/api/v1/orgs/doomed/audit-events',
    ]) {
      expect((await t.app.inject({ method: 'GET', url, headers: boss.auth })).statusCode).toBe(404);
    }
    const list = await t.app.inject({ method: 'GET', url: '/api/v1/orgs', headers: boss.auth });
    expect(list.json().items).toEqual([]);
  });
});

describe('members', () => {
  it('changes roles, but an admin cannot make an owner nor touch one', async () => {
    const admin = await memberOf(t.app, owner, 'acme', 'admin');
    const dev = await memberOf(t.app, owner, 'acme', 'developer');
    const promote = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/orgs/acme/members/${dev.userId}`,
      headers: admin.auth,
      payload: { role: 'qa_lead' },
    });
    expect(promote.statusCode).toBe(200);
    expect(promote.json().role).toBe('qa_lead');
    const toOwner = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/orgs/acme/members/${dev.userId}`,
      headers: admin.auth,
      payload: { role: 'owner' },
    });
    expect(toOwner.statusCode).toBe(403);
    const demoteOwner = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/orgs/acme/members/${owner.userId}`,
      headers: admin.auth,
      payload: { role: 'viewer' },
    });
    expect(demoteOwner.statusCode).toBe(403);
    expect(await auditActions()).toContain('member.role_changed');
  });

  it('never leaves an org without an owner', async () => {
    const demote = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/orgs/acme/members/${owner.userId}`,
      headers: owner.auth,
      payload: { role: 'admin' },
    });
    expect(demote.statusCode).toBe(409);
    const remove = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/orgs/acme/members/${owner.userId}`,
      headers: owner.auth,
    });
    expect(remove.statusCode).toBe(409);
  });

  it('cuts a removed member off on their very next request', async () => {
    const dev = await memberOf(t.app, owner, 'acme', 'developer');
    expect(
      (await t.app.inject({ method: 'GET', url: '/api/v1/orgs/acme', headers: dev.auth }))
        .statusCode,
    ).toBe(200);
    const res = await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/orgs/acme/members/${dev.userId}`,
      headers: owner.auth,
    });
    expect(res.statusCode).toBe(204);
    expect(
      (await t.app.inject({ method: 'GET', url: '/api/v1/orgs/acme', headers: dev.auth }))
        .statusCode,
    ).toBe(404);
    expect(await auditActions()).toContain('member.removed');
  });

  it('pages through members with a cursor', async () => {
    const first = await t.app.inject({
      method: 'GET',
      url: '/api/v1/orgs/acme/members?limit=1',
      headers: owner.auth,
    });
    const page1 = first.json<{ items: { userId: string }[]; nextCursor: string }>();
    expect(page1.items).toHaveLength(1);
    expect(page1.nextCursor).toBeTypeOf('string');
    const second = await t.app.inject({
      method: 'GET',
      url: `/api/v1/orgs/acme/members?limit=1&cursor=${page1.nextCursor}`,
      headers: owner.auth,
    });
    expect(second.json().items[0].userId).not.toBe(page1.items[0]!.userId);
  });
});

describe('invitations', () => {
  it('is single use and only for the invited email', async () => {
    const invitee = uniqueEmail('invitee');
    await signup(t.app, invitee);
    const other = uniqueEmail('other');
    await signup(t.app, other);
    const inv = await t.app.inject({
      method: 'POST',
      url: '/api/v1/orgs/acme/invitations',
      headers: owner.auth,
      payload: { email: invitee, role: 'reviewer' },
    });
    expect(inv.statusCode).toBe(201);
    const { token, expiresAt, state } = inv.json<{
      token: string;
      expiresAt: string;
      state: string;
    }>();
    expect(token).toMatch(/^gti_/);
    expect(state).toBe('pending');
    expect(new Date(expiresAt).getTime() - Date.now()).toBeGreaterThan(6.9 * 24 * 3600 * 1000);

    const stranger = await login(t.app, other);
    const wrong = await t.app.inject({
      method: 'POST',
      url: '/api/v1/invitations/accept',
      headers: stranger.auth,
      payload: { token },
    });
    expect(wrong.statusCode).toBe(403);

    const s = await login(t.app, invitee);
    const ok = await t.app.inject({
      method: 'POST',
      url: '/api/v1/invitations/accept',
      headers: s.auth,
      payload: { token },
    });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ org: { slug: 'acme' }, role: 'reviewer' });
    const again = await t.app.inject({
      method: 'POST',
      url: '/api/v1/invitations/accept',
      headers: s.auth,
      payload: { token },
    });
    expect(again.statusCode).toBe(404);
  });

  it('can be revoked, after which it cannot be accepted', async () => {
    const invitee = uniqueEmail('revoked');
    await signup(t.app, invitee);
    const inv = await t.app.inject({
      method: 'POST',
      url: '/api/v1/orgs/acme/invitations',
      headers: owner.auth,
      payload: { email: invitee, role: 'viewer' },
    });
    const { id, token } = inv.json<{ id: string; token: string }>();
    expect(
      (
        await t.app.inject({
          method: 'DELETE',
          url: `/api/v1/orgs/acme/invitations/${id}`,
          headers: owner.auth,
        })
      ).statusCode,
    ).toBe(204);
    const s = await login(t.app, invitee);
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/invitations/accept',
      headers: s.auth,
      payload: { token },
    });
    expect(res.statusCode).toBe(404);
    const list = await t.app.inject({
      method: 'GET',
      url: '/api/v1/orgs/acme/invitations',
      headers: owner.auth,
    });
    expect(list.json().items.find((i: { id: string }) => i.id === id).state).toBe('revoked');
  });

  it('does not let an inviter grant a role above their own', async () => {
    const admin = await memberOf(t.app, owner, 'acme', 'admin');
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/orgs/acme/invitations',
      headers: admin.auth,
      payload: { email: uniqueEmail('x'), role: 'owner' },
    });
    expect(res.statusCode).toBe(403);
    const qa = await memberOf(t.app, owner, 'acme', 'qa_lead');
    const res2 = await t.app.inject({
      method: 'POST',
      url: '/api/v1/orgs/acme/invitations',
      headers: qa.auth,
      payload: { email: uniqueEmail('y'), role: 'viewer' },
    });
    expect(res2.statusCode).toBe(403);
  });
});

describe('API tokens', () => {
  it('shows the secret once, stores only its hash, and records last use', async () => {
    const created = await apiToken(t.app, owner, 'acme');
    expect(created.token).toMatch(/^gth_[A-Za-z0-9_-]{64}$/);
    const stored = await t.database.db
      .selectFrom('api_tokens')
      .select(['token_hash'])
      .where('id', '=', created.id)
      .executeTakeFirstOrThrow();
    expect(stored.token_hash.toString('hex')).not.toContain(
      Buffer.from(created.token).toString('hex'),
    );
    expect(
      (await t.app.inject({ method: 'GET', url: '/api/v1/orgs/acme', headers: created.auth }))
        .statusCode,
    ).toBe(200);
    const list = await t.app.inject({
      method: 'GET',
      url: '/api/v1/orgs/acme/api-tokens',
      headers: owner.auth,
    });
    const listed = list.json().items.find((i: { id: string }) => i.id === created.id);
    expect(listed.lastUsedAt).not.toBeNull();
    expect(listed).not.toHaveProperty('token');
  });

  it('gives a ci token read access but not member management', async () => {
    const ci = await apiToken(t.app, owner, 'acme', 'ci');
    expect(
      (await t.app.inject({ method: 'GET', url: '/api/v1/orgs/acme', headers: ci.auth }))
        .statusCode,
    ).toBe(200);
    expect(
      (await t.app.inject({ method: 'GET', url: '/api/v1/orgs/acme/members', headers: ci.auth }))
        .statusCode,
    ).toBe(403);
    const res = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/orgs/acme/members/${owner.userId}`,
      headers: ci.auth,
      payload: { role: 'viewer' },
    });
    expect(res.statusCode).toBe(403);
  });

  it('stops working once revoked or expired', async () => {
    const tok = await apiToken(t.app, owner, 'acme');
    expect(
      (
        await t.app.inject({
          method: 'DELETE',
          url: `/api/v1/orgs/acme/api-tokens/${tok.id}`,
          headers: owner.auth,
        })
      ).statusCode,
    ).toBe(204);
    expect(
      (await t.app.inject({ method: 'GET', url: '/api/v1/orgs/acme', headers: tok.auth }))
        .statusCode,
    ).toBe(401);
    const soon = await t.app.inject({
      method: 'POST',
      url: '/api/v1/orgs/acme/api-tokens',
      headers: owner.auth,
      payload: { name: 'short', expiresAt: new Date(Date.now() + 1500).toISOString() },
    });
    expect(soon.statusCode).toBe(201);
    const auth = { authorization: `Bearer ${soon.json<{ token: string }>().token}` };
    expect(
      (await t.app.inject({ method: 'GET', url: '/api/v1/orgs/acme', headers: auth })).statusCode,
    ).toBe(200);
    await new Promise((r) => setTimeout(r, 1600));
    expect(
      (await t.app.inject({ method: 'GET', url: '/api/v1/orgs/acme', headers: auth })).statusCode,
    ).toBe(401);
  });

  it('cannot carry a role above its creator', async () => {
    const qa = await memberOf(t.app, owner, 'acme', 'qa_lead');
    // qa_lead lacks api_tokens:manage entirely
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/orgs/acme/api-tokens',
      headers: qa.auth,
      payload: { name: 'x', role: 'admin' },
    });
    expect(res.statusCode).toBe(403);
    const admin = await memberOf(t.app, owner, 'acme', 'admin');
    const res2 = await t.app.inject({
      method: 'POST',
      url: '/api/v1/orgs/acme/api-tokens',
      headers: admin.auth,
      payload: { name: 'x', role: 'owner' },
    });
    expect(res2.statusCode).toBe(403);
    const res3 = await t.app.inject({
      method: 'POST',
      url: '/api/v1/orgs/acme/api-tokens',
      headers: admin.auth,
      payload: { name: 'x', role: 'admin' },
    });
    expect(res3.statusCode).toBe(201);
  });
});
