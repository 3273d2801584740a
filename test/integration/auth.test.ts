import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dummyHash } from '../../src/lib/password.ts';
import { addSigningKey } from '../../src/modules/auth/signing-keys.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import {
  login,
  ownerOfNewOrg,
  PASSWORD,
  signup,
  uniqueEmail,
  type Session,
} from '../helpers/actors.ts';

let t: TestApp;
let owner: Session & { orgId: string };

beforeAll(async () => {
  t = await startTestApp();
  owner = await ownerOfNewOrg(t.app, 'auth-org');
});
afterAll(() => t.close());

const post = (url: string, payload: object, headers: Record<string, string> = {}) =>
  t.app.inject({ method: 'POST', url, payload, headers });

describe('sign-up and login', () => {
  it('stores a scrypt hash with OWASP parameters, never the password', async () => {
    const email = uniqueEmail('hash');
    const id = await signup(t.app, email);
    const row = await t.database.db
      .selectFrom('users')
      .select('password_hash')
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    expect(row.password_hash).toMatch(/^scrypt\$17\$8\$1\$/);
    expect(row.password_hash).not.toContain(PASSWORD);
  });

  it('refuses a second account for the same email, whatever its case', async () => {
    const email = uniqueEmail('dup');
    await signup(t.app, email);
    const res = await post('/api/v1/auth/signup', {
      email: email.toUpperCase(),
      password: PASSWORD,
      name: 'Dup',
    });
    expect(res.statusCode).toBe(409);
  });

  it('has the hash a sign-in for an unknown email is checked against made before the first such sign-in', async () => {
    // Settled already: it wins a race against a promise settled now (a hash still being
    // made, or made only now, loses).
    const pending = Symbol('pending');
    expect(await Promise.race([dummyHash(), Promise.resolve(pending)])).not.toBe(pending);
  });

  it('does not reveal whether an email exists: same status, same message, similar time', async () => {
    const email = uniqueEmail('exists');
    await signup(t.app, email);
    let start = performance.now();
    const wrongPassword = await post('/api/v1/auth/login', {
      email,
      password: 'not the password at all',
    });
    const wrongPasswordMs = performance.now() - start;
    start = performance.now();
    const unknown = await post('/api/v1/auth/login', {
      email: uniqueEmail('nobody'),
      password: 'not the password at all',
    });
    const unknownMs = performance.now() - start;
    expect(wrongPassword.statusCode).toBe(401);
    expect(unknown.statusCode).toBe(401);
    expect(unknown.json().detail).toBe(wrongPassword.json().detail);
    // Both pay for a full scrypt verification; neither answers early.
    expect(unknownMs).toBeGreaterThan(wrongPasswordMs / 3);
    expect(wrongPasswordMs).toBeGreaterThan(unknownMs / 3);
  });

  it('throttles an account after 10 failures in the window, even for the right password', async () => {
    const email = uniqueEmail('throttle');
    await signup(t.app, email);
    for (let i = 0; i < 10; i++) {
      expect(
        (await post('/api/v1/auth/login', { email, password: 'wrong password here' })).statusCode,
      ).toBe(401);
    }
    const res = await post('/api/v1/auth/login', { email, password: PASSWORD });
    expect(res.statusCode).toBe(429);
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    // Another account is unaffected.
    expect(
      (await post('/api/v1/auth/login', { email: owner.email, password: PASSWORD })).statusCode,
    ).toBe(200);
  });

  it('scopes the pair to the org named at login, and refuses an org the user is not in', async () => {
    const s = await login(t.app, owner.email, 'auth-org');
    const payload = JSON.parse(
      Buffer.from(s.accessToken.split('.')[1]!, 'base64url').toString(),
    ) as Record<string, unknown>;
    expect(payload).toMatchObject({
      sub: owner.userId,
      org: owner.orgId,
      role: 'owner',
      iss: 'http://gatehouse.test',
      aud: 'gatehouse',
    });
    expect(Object.keys(payload).sort()).toEqual([
      'aud',
      'exp',
      'iat',
      'iss',
      'jti',
      'org',
      'role',
      'sid',
      'sub',
    ]);
    expect((payload['exp'] as number) - (payload['iat'] as number)).toBe(600);
    const header = JSON.parse(
      Buffer.from(s.accessToken.split('.')[0]!, 'base64url').toString(),
    ) as Record<string, unknown>;
    expect(header).toMatchObject({ alg: 'EdDSA', typ: 'at+jwt' });
    expect(header['kid']).toBe(t.keys.jwks().keys[0]!['kid']);
    const res = await post('/api/v1/auth/login', {
      email: owner.email,
      password: PASSWORD,
      org: 'not-mine',
    });
    expect(res.statusCode).toBe(404);
  });
});

describe('refresh tokens and sessions', () => {
  it('rotates on each refresh; the old token is spent', async () => {
    const s = await login(t.app, owner.email, 'auth-org');
    const first = await post('/api/v1/auth/refresh', { refreshToken: s.refreshToken });
    expect(first.statusCode).toBe(200);
    const pair = first.json<{ accessToken: string; refreshToken: string }>();
    expect(pair.refreshToken).not.toBe(s.refreshToken);
    const me = await t.app.inject({
      method: 'GET',
      url: '/api/v1/orgs/auth-org',
      headers: { authorization: `Bearer ${pair.accessToken}` },
    });
    expect(me.statusCode).toBe(200);
    const rows = await t.database.db.selectFrom('refresh_tokens').select('token_hash').execute();
    for (const r of rows) expect(r.token_hash.toString('utf8')).not.toContain(pair.refreshToken);
  });

  it('revokes the whole session when a spent refresh token comes back after the grace window', async () => {
    const s = await login(t.app, owner.email, 'auth-org');
    const next = (await post('/api/v1/auth/refresh', { refreshToken: s.refreshToken })).json<{
      accessToken: string;
      refreshToken: string;
    }>();
    t.clock.advance(t.config.auth.refreshReuseGraceSeconds * 1000);
    const replay = await post('/api/v1/auth/refresh', { refreshToken: s.refreshToken });
    expect(replay.statusCode).toBe(401);
    // The legitimate newer token dies with the session, and so do its access tokens.
    expect(
      (await post('/api/v1/auth/refresh', { refreshToken: next.refreshToken })).statusCode,
    ).toBe(401);
    const res = await t.app.inject({
      method: 'GET',
      url: '/api/v1/me',
      headers: { authorization: `Bearer ${next.accessToken}` },
    });
    expect(res.statusCode).toBe(401);
  });

  it('gives a second tab refreshing with the same token within the grace window a fresh pair on the same session', async () => {
    expect(t.config.auth.refreshReuseGraceSeconds).toBe(5);
    const s = await login(t.app, owner.email, 'auth-org');
    const sid = (tok: string) =>
      (JSON.parse(Buffer.from(tok.split('.')[1]!, 'base64url').toString()) as { sid: string }).sid;
    type Pair = { accessToken: string; refreshToken: string };
    const first = await post('/api/v1/auth/refresh', { refreshToken: s.refreshToken });
    t.clock.advance(4_999);
    const second = await post('/api/v1/auth/refresh', { refreshToken: s.refreshToken });
    expect(first.statusCode).toBe(200);
    expect(second.statusCode).toBe(200);
    const [a, b] = [first.json<Pair>(), second.json<Pair>()];
    expect(b.refreshToken).not.toBe(a.refreshToken);
    expect(sid(b.accessToken)).toBe(sid(a.accessToken));
    expect(sid(a.accessToken)).toBe(sid(s.accessToken));
    // Both tabs carry on: each successor refreshes, and the session is alive.
    const latest: Pair[] = [];
    for (const pair of [a, b]) {
      const again = await post('/api/v1/auth/refresh', { refreshToken: pair.refreshToken });
      expect(again.statusCode).toBe(200);
      latest.push(again.json<Pair>());
      const me = await t.app.inject({
        method: 'GET',
        url: '/api/v1/me',
        headers: { authorization: `Bearer ${latest.at(-1)!.accessToken}` },
      });
      expect(me.statusCode).toBe(200);
    }
    // The window is counted from the first rotation: at 5 s the original token is a replay,
    // and the session ends with every token in it.
    t.clock.advance(1);
    expect((await post('/api/v1/auth/refresh', { refreshToken: s.refreshToken })).statusCode).toBe(
      401,
    );
    expect(
      (await post('/api/v1/auth/refresh', { refreshToken: latest[0]!.refreshToken })).statusCode,
    ).toBe(401);
  });

  it('answers two refreshes with the same token at the same moment with two pairs, signing nobody out', async () => {
    const s = await login(t.app, owner.email, 'auth-org');
    const both = await Promise.all(
      [1, 2].map(() => post('/api/v1/auth/refresh', { refreshToken: s.refreshToken })),
    );
    expect(both.map((r) => r.statusCode)).toEqual([200, 200]);
    for (const r of both) {
      const me = await t.app.inject({
        method: 'GET',
        url: '/api/v1/me',
        headers: { authorization: `Bearer ${r.json<{ accessToken: string }>().accessToken}` },
      });
      expect(me.statusCode).toBe(200);
    }
  });

  it('ends a session after its idle lifetime and after its absolute lifetime', async () => {
    const idle = await login(t.app, owner.email);
    const absolute = await login(t.app, owner.email);
    const sid = (tok: string) =>
      (JSON.parse(Buffer.from(tok.split('.')[1]!, 'base64url').toString()) as { sid: string }).sid;
    await t.database.db
      .updateTable('sessions')
      .set({ idle_expires_at: sql<Date>`now() - interval '1 second'` })
      .where('id', '=', sid(idle.accessToken))
      .execute();
    await t.database.db
      .updateTable('sessions')
      .set({ expires_at: sql<Date>`now() - interval '1 second'` })
      .where('id', '=', sid(absolute.accessToken))
      .execute();
    expect(
      (await post('/api/v1/auth/refresh', { refreshToken: idle.refreshToken })).statusCode,
    ).toBe(401);
    expect(
      (await post('/api/v1/auth/refresh', { refreshToken: absolute.refreshToken })).statusCode,
    ).toBe(401);
    expect(
      (await t.app.inject({ method: 'GET', url: '/api/v1/me', headers: absolute.auth })).statusCode,
    ).toBe(401);
  });

  it('logs out: the refresh token no longer works', async () => {
    const s = await login(t.app, owner.email);
    expect((await post('/api/v1/auth/logout', { refreshToken: s.refreshToken })).statusCode).toBe(
      204,
    );
    expect((await post('/api/v1/auth/refresh', { refreshToken: s.refreshToken })).statusCode).toBe(
      401,
    );
  });

  it('switches org to one the user belongs to, and only to such an org', async () => {
    const second = await t.app.inject({
      method: 'POST',
      url: '/api/v1/orgs',
      headers: owner.auth,
      payload: { name: 'Second', slug: 'auth-second' },
    });
    expect(second.statusCode).toBe(201);
    expect(
      (await t.app.inject({ method: 'GET', url: '/api/v1/orgs/auth-second', headers: owner.auth }))
        .statusCode,
    ).toBe(404);
    const sw = await post('/api/v1/auth/switch-org', { org: 'auth-second' }, owner.auth);
    expect(sw.statusCode).toBe(200);
    const auth = { authorization: `Bearer ${sw.json<{ accessToken: string }>().accessToken}` };
    expect(
      (await t.app.inject({ method: 'GET', url: '/api/v1/orgs/auth-second', headers: auth }))
        .statusCode,
    ).toBe(200);
    expect(
      (await t.app.inject({ method: 'GET', url: '/api/v1/orgs/auth-org', headers: auth }))
        .statusCode,
    ).toBe(404);
    const other = await ownerOfNewOrg(t.app, 'auth-foreign');
    expect(other.orgId).toBeTruthy();
    expect(
      (await post('/api/v1/auth/switch-org', { org: 'auth-foreign' }, owner.auth)).statusCode,
    ).toBe(404);
  });
});

describe('signing keys', () => {
  it('publishes the public keys, never a private half', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
    expect(res.statusCode).toBe(200);
    for (const k of res.json<{ keys: Record<string, unknown>[] }>().keys) {
      expect(k).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA' });
      expect(k).not.toHaveProperty('d');
    }
    const stored = await t.database.db.selectFrom('signing_keys').select('private_enc').execute();
    for (const s of stored) expect(s.private_enc).toMatch(/^v1\./);
  });

  it('rotates: the new key signs, tokens from the old one still verify', async () => {
    const before = await login(t.app, owner.email, 'auth-org');
    const oldKid = (await t.keys.current()).kid;
    const kid = await addSigningKey(t.database.db, t.box);
    await t.keys.reload();
    const after = await login(t.app, owner.email, 'auth-org');
    const kidOf = (tok: string) =>
      (JSON.parse(Buffer.from(tok.split('.')[0]!, 'base64url').toString()) as { kid: string }).kid;
    expect(kidOf(after.accessToken)).toBe(kid);
    expect(kidOf(before.accessToken)).toBe(oldKid);
    for (const s of [before, after]) {
      expect(
        (await t.app.inject({ method: 'GET', url: '/api/v1/orgs/auth-org', headers: s.auth }))
          .statusCode,
      ).toBe(200);
    }
    const jwks = (await t.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json<{
      keys: { kid: string }[];
    }>();
    expect(jwks.keys.map((k) => k.kid).sort()).toEqual([kid, oldKid].sort());
  });
});
