import { randomBytes } from 'node:crypto';
import type { App } from '../../src/http/types.ts';

export const PASSWORD = 'correct horse battery staple';

export interface Session {
  userId: string;
  email: string;
  accessToken: string;
  refreshToken: string;
  auth: { authorization: string };
}

export function uniqueEmail(tag: string): string {
  return `${tag}-${randomBytes(4).toString('hex')}@example.test`;
}

export async function signup(app: App, email: string, name = 'Test User'): Promise<string> {
  const res = await app.inject({
    method: 'POST',
    url: '/api/v1/auth/signup',
    payload: { email, password: PASSWORD, name },
  });
  if (res.statusCode !== 201) throw new Error(`signup failed: ${res.statusCode} ${res.body}`);
  return res.json<{ id: string }>().id;
}

export async function login(
  app: App,
  email: string,
  org?: string,
): Promise<Omit<Session, 'userId'>> {
  const res = await app.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    payload: org === undefined ? { email, password: PASSWORD } : { email, password: PASSWORD, org },
  });
  if (res.statusCode !== 200) throw new Error(`login failed: ${res.statusCode} ${res.body}`);
  const body = res.json<{ accessToken: string; refreshToken: string }>();
  return { email, ...body, auth: { authorization: `Bearer ${body.accessToken}` } };
}

/** Signs a user up, creates an org they own, and returns a session scoped to it. */
export async function ownerOfNewOrg(app: App, slug: string): Promise<Session & { orgId: string }> {
  const email = uniqueEmail(slug);
  const userId = await signup(app, email);
  const first = await login(app, email);
  const res = await app.inject({
    method: 'POST',
    url: '/api/v1/orgs',
    headers: first.auth,
    payload: { name: `Org ${slug}`, slug },
  });
  if (res.statusCode !== 201) throw new Error(`create org failed: ${res.statusCode} ${res.body}`);
  const switched = await app.inject({
    method: 'POST',
    url: '/api/v1/auth/switch-org',
    headers: first.auth,
    payload: { org: slug },
  });
  const pair = switched.json<{ accessToken: string; refreshToken: string }>();
  return {
    userId,
    email,
    orgId: res.json<{ id: string }>().id,
    accessToken: pair.accessToken,
    refreshToken: pair.refreshToken,
    auth: { authorization: `Bearer ${pair.accessToken}` },
  };
}

/** Invites a new user into `slug` with `role` and returns their session scoped to it. */
export async function memberOf(
  app: App,
  owner: Session,
  slug: string,
  role: string,
): Promise<Session> {
  const email = uniqueEmail(role);
  const userId = await signup(app, email);
  const inv = await app.inject({
    method: 'POST',
    url: `/api/v1/orgs/${slug}/invitations`,
    headers: owner.auth,
    payload: { email, role },
  });
  if (inv.statusCode !== 201) throw new Error(`invite failed: ${inv.statusCode} ${inv.body}`);
  const pre = await login(app, email);
  const acc = await app.inject({
    method: 'POST',
    url: '/api/v1/invitations/accept',
    headers: pre.auth,
    payload: { token: inv.json<{ token: string }>().token },
  });
  if (acc.statusCode !== 200) throw new Error(`accept failed: ${acc.statusCode} ${acc.body}`);
  const s = await login(app, email, slug);
  return { userId, ...s };
}

export async function apiToken(
  app: App,
  owner: Session,
  slug: string,
  role = 'ci',
): Promise<{ id: string; token: string; auth: { authorization: string } }> {
  const res = await app.inject({
    method: 'POST',
    url: `/api/v1/orgs/${slug}/api-tokens`,
    headers: owner.auth,
    payload: { name: `${role} token`, role },
  });
  if (res.statusCode !== 201) throw new Error(`token failed: ${res.statusCode} ${res.body}`);
  const body = res.json<{ id: string; token: string }>();
  return { ...body, auth: { authorization: `Bearer ${body.token}` } };
}
