import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ownerOfNewOrg, PASSWORD, type Session } from '../helpers/actors.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';

let t: TestApp;
let alpha: Session & { orgId: string };
let beta: Session & { orgId: string };
const ORIGIN = 'http://gatehouse.test'; // the test app's GATEHOUSE_PUBLIC_URL

interface Cookie {
  value: string;
  attributes: string[];
}

function refreshCookie(res: { headers: Record<string, unknown> }): Cookie | undefined {
  const raw = res.headers['set-cookie'] as string | string[] | undefined;
  const all = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  const line = all.find((c) => c.startsWith('gatehouse_refresh='));
  if (line === undefined) return undefined;
  const [pair, ...attributes] = line.split(/;\s*/);
  return { value: pair!.slice('gatehouse_refresh='.length), attributes };
}

async function signIn(email: string, headers: Record<string, string> = {}) {
  const res = await t.app.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    headers,
    payload: { email, password: PASSWORD },
  });
  expect(res.statusCode).toBe(200);
  return res;
}

/** A browser's request carrying the cookie; `origin: null` leaves the Origin header out. */
const byCookie = (value: string, origin: string | null = ORIGIN) => ({
  cookie: `gatehouse_refresh=${value}`,
  ...(origin === null ? {} : { origin }),
});

beforeAll(async () => {
  t = await startTestApp({ GATEHOUSE_TRUST_PROXY: '1' });
  alpha = await ownerOfNewOrg(t.app, 'cookie-alpha');
  beta = await ownerOfNewOrg(t.app, 'cookie-beta');
});

afterAll(async () => {
  await t.close();
});

describe('the refresh cookie', () => {
  it('is set by sign-in: httpOnly, SameSite=Strict, only for the auth routes, Secure over https', async () => {
    const res = await signIn(alpha.email);
    const body = res.json<{ accessToken: string; refreshToken: string }>();
    expect(body.accessToken).toBeTruthy();
    const c = refreshCookie(res)!;
    expect(c.value).toBe(body.refreshToken);
    expect(c.attributes).toEqual(
      expect.arrayContaining(['HttpOnly', 'SameSite=Strict', 'Path=/api/v1/auth']),
    );
    expect(c.attributes.some((a) => /^Max-Age=\d+$/.test(a) && a !== 'Max-Age=0')).toBe(true);
    expect(c.attributes).not.toContain('Secure');

    // Behind a trusted proxy that received https.
    const tls = await signIn(alpha.email, { 'x-forwarded-proto': 'https' });
    expect(refreshCookie(tls)!.attributes).toContain('Secure');
  });

  it('refreshes from the cookie alone, rotating it, when the Origin is the server’s own', async () => {
    const first = refreshCookie(await signIn(alpha.email))!.value;
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/refresh',
      headers: byCookie(first),
    });
    expect(res.statusCode).toBe(200);
    const pair = res.json<{ accessToken: string; refreshToken: string }>();
    const next = refreshCookie(res)!.value;
    expect(next).toBe(pair.refreshToken);
    expect(next).not.toBe(first);
    const me = await t.app.inject({
      method: 'GET',
      url: '/api/v1/me',
      headers: { authorization: `Bearer ${pair.accessToken}` },
    });
    expect(me.statusCode).toBe(200);
  });

  it('refuses a cookie refresh from another origin or with no Origin (CSRF)', async () => {
    const token = refreshCookie(await signIn(alpha.email))!.value;
    for (const origin of ['https://evil.example', 'null', null]) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/v1/auth/refresh',
        headers: byCookie(token, origin),
      });
      expect(res.statusCode, String(origin)).toBe(403);
      expect(refreshCookie(res)).toBeUndefined();
    }
    // Refused before use: the token still works from the dashboard's origin.
    const ok = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/refresh',
      headers: byCookie(token),
    });
    expect(ok.statusCode).toBe(200);
  });

  it('keeps the body token working for API clients, with no Origin and no cookie', async () => {
    const { refreshToken } = (await signIn(alpha.email)).json<{ refreshToken: string }>();
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/refresh',
      payload: { refreshToken },
    });
    expect(res.statusCode).toBe(200);
    const none = await t.app.inject({ method: 'POST', url: '/api/v1/auth/refresh' });
    expect(none.statusCode).toBe(401);
  });

  it('is cleared by sign-out, which ends the session it names', async () => {
    const token = refreshCookie(await signIn(alpha.email))!.value;
    const out = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/logout',
      headers: byCookie(token),
    });
    expect(out.statusCode).toBe(204);
    const cleared = refreshCookie(out)!;
    expect(cleared.value).toBe('');
    expect(cleared.attributes).toContain('Max-Age=0');
    const again = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/refresh',
      headers: byCookie(token),
    });
    expect(again.statusCode).toBe(401);
  });

  it('is set by switching org, and never for an org the user is not in', async () => {
    const switched = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/switch-org',
      headers: alpha.auth,
      payload: { org: 'cookie-alpha' },
    });
    expect(switched.statusCode).toBe(200);
    expect(refreshCookie(switched)!.value).toBe(
      switched.json<{ refreshToken: string }>().refreshToken,
    );
    const foreign = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/switch-org',
      headers: alpha.auth,
      payload: { org: 'cookie-beta' },
    });
    expect(foreign.statusCode).toBe(404);
    expect(refreshCookie(foreign)).toBeUndefined();
  });

  it('authenticates nothing outside the auth routes', async () => {
    const token = refreshCookie(await signIn(beta.email))!.value;
    for (const url of [
      '/api/v1/me',
      '/api/v1/orgs/cookie-beta',
      '/api/v1/orgs/cookie-beta/events',
    ]) {
      const res = await t.app.inject({ method: 'GET', url, headers: byCookie(token) });
      expect(res.statusCode, url).toBe(401);
    }
  });
});
