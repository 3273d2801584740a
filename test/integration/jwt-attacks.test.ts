import { createHmac } from 'node:crypto';
import { generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { login, memberOf, ownerOfNewOrg, type Session } from '../helpers/actors.ts';

let t: TestApp;
let owner: Session & { orgId: string };

beforeAll(async () => {
  t = await startTestApp();
  owner = await ownerOfNewOrg(t.app, 'victim');
});
afterAll(() => t.close());

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

function claims(over: Record<string, unknown> = {}): JWTPayload {
  const payload = JSON.parse(
    Buffer.from(owner.accessToken.split('.')[1]!, 'base64url').toString(),
  ) as JWTPayload;
  // The app verifies by its own clock (standing still in tests), so forge on that clock.
  const now = Math.floor(t.clock.now().getTime() / 1000);
  return { ...payload, iat: now, exp: now + 300, ...over };
}

async function signWithRealKey(
  payload: JWTPayload,
  header: Record<string, unknown> = {},
): Promise<string> {
  const key = await t.keys.current();
  return new SignJWT(payload)
    .setProtectedHeader({ alg: 'EdDSA', kid: key.kid, typ: 'at+jwt', ...header })
    .sign(key.privateKey);
}

function without(payload: JWTPayload, name: string): JWTPayload {
  const copy: Record<string, unknown> = { ...payload };
  delete copy[name];
  return copy;
}

async function status(token: string, url = '/api/v1/orgs/victim'): Promise<number> {
  const res = await t.app.inject({
    method: 'GET',
    url,
    headers: { authorization: `Bearer ${token}` },
  });
  if (res.statusCode === 401)
    expect(res.headers['content-type']).toContain('application/problem+json');
  return res.statusCode;
}

describe('access token verification', () => {
  it('accepts the genuine token (the baseline the attacks are measured against)', async () => {
    expect(await status(owner.accessToken)).toBe(200);
    expect(await status(await signWithRealKey(claims()))).toBe(200);
  });

  it('refuses alg "none"', async () => {
    expect(await status(`${b64({ alg: 'none', typ: 'at+jwt' })}.${b64(claims())}.`)).toBe(401);
  });

  it('refuses HS256 signed with the public key', async () => {
    const jwk = t.keys.jwks().keys[0]!;
    for (const secret of [
      Buffer.from(String(jwk['x']), 'base64url'),
      Buffer.from(JSON.stringify(jwk)),
    ]) {
      const head = `${b64({ alg: 'HS256', typ: 'at+jwt', kid: jwk['kid'] })}.${b64(claims())}`;
      const sig = createHmac('sha256', secret).update(head).digest('base64url');
      expect(await status(`${head}.${sig}`)).toBe(401);
    }
  });

  it('refuses a token signed by a key it does not know', async () => {
    const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    const forged = await new SignJWT(claims())
      .setProtectedHeader({ alg: 'EdDSA', kid: 'attacker', typ: 'at+jwt' })
      .sign(privateKey);
    expect(await status(forged)).toBe(401);
    const knownKid = await new SignJWT(claims())
      .setProtectedHeader({ alg: 'EdDSA', kid: (await t.keys.current()).kid, typ: 'at+jwt' })
      .sign(privateKey);
    expect(await status(knownKid)).toBe(401);
  });

  it('refuses expired tokens and tokens not yet valid', async () => {
    const now = Math.floor(t.clock.now().getTime() / 1000);
    expect(await status(await signWithRealKey(claims({ iat: now - 700, exp: now - 100 })))).toBe(
      401,
    );
    expect(await status(await signWithRealKey(claims({ nbf: now + 600 })))).toBe(401);
  });

  it('refuses the wrong issuer, audience or type', async () => {
    expect(await status(await signWithRealKey(claims({ iss: 'https://evil.example' })))).toBe(401);
    expect(await status(await signWithRealKey(claims({ aud: 'someone-else' })))).toBe(401);
    expect(await status(await signWithRealKey(claims(), { typ: 'JWT' }))).toBe(401);
  });

  it('refuses a tampered payload', async () => {
    const [head, , sig] = owner.accessToken.split('.');
    const other = await memberOf(t.app, owner, 'victim', 'viewer');
    const tampered = `${head}.${b64(claims({ sub: other.userId }))}.${sig}`;
    expect(await status(tampered)).toBe(401);
    const [h2, p2, s2] = other.accessToken.split('.');
    const raised = {
      ...(JSON.parse(Buffer.from(p2!, 'base64url').toString()) as object),
      role: 'owner',
    };
    expect(await status(`${h2}.${b64(raised)}.${s2}`)).toBe(401);
  });

  it('refuses tokens missing a required claim', async () => {
    for (const claim of ['exp', 'iat', 'jti', 'sub', 'sid']) {
      expect(await status(await signWithRealKey(without(claims(), claim))), claim).toBe(401);
    }
  });

  it('refuses an oversized token before parsing it', async () => {
    const huge = await signWithRealKey(claims({ pad: 'x'.repeat(9000) }));
    expect(await status(huge)).toBe(401);
  });

  it('refuses the token of a session that was logged out', async () => {
    const s = await login(t.app, owner.email, 'victim');
    expect(await status(s.accessToken)).toBe(200);
    const out = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/logout',
      payload: { refreshToken: s.refreshToken },
    });
    expect(out.statusCode).toBe(204);
    expect(await status(s.accessToken)).toBe(401);
    expect(await status(s.accessToken, '/api/v1/me')).toBe(401);
  });

  it('never lets the role claim widen access: a demoted admin loses admin rights at once', async () => {
    const admin = await memberOf(t.app, owner, 'victim', 'admin');
    const url = '/api/v1/orgs/victim/audit-events';
    expect(await status(admin.accessToken, url)).toBe(200);
    await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/orgs/victim/members/${admin.userId}`,
      headers: owner.auth,
      payload: { role: 'viewer' },
    });
    expect(await status(admin.accessToken, url)).toBe(403);
  });

  it("gives a removed member's still-valid token a 404", async () => {
    const dev = await memberOf(t.app, owner, 'victim', 'developer');
    expect(await status(dev.accessToken)).toBe(200);
    await t.app.inject({
      method: 'DELETE',
      url: `/api/v1/orgs/victim/members/${dev.userId}`,
      headers: owner.auth,
    });
    expect(await status(dev.accessToken)).toBe(404);
  });
});
