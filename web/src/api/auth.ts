/**
 * The session as this tab sees it: the access token lives in memory only; the refresh token
 * lives in an httpOnly cookie the auth routes set and read. Refreshing (and switching org,
 * which retires the session's refresh tokens) happens under one Web Lock shared by every tab
 * of the origin, so two tabs never present the same refresh token: the second one waits and
 * then presents the cookie the first one left.
 */

interface Pair {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
}

interface Session {
  token: string;
  /** The org id the token is scoped to (its `org` claim), null for none. */
  orgId: string | null;
  /** The slug we asked for when we scoped it, while the token is still scoped there. */
  orgSlug: string | null;
  expiresAt: number;
  /** The newest refresh token this tab was given: only to revoke the session on sign-out. */
  refreshToken: string;
}

export class AuthError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

let session: Session | null = null;
const listeners = new Set<() => void>();

export function onSessionChange(fn: () => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export function isSignedIn(): boolean {
  return session !== null;
}

function claims(token: string): { org?: string | null; exp?: number } {
  const part = token.split('.')[1] ?? '';
  try {
    const json = atob(part.replace(/-/g, '+').replace(/_/g, '/'));
    return JSON.parse(json) as { org?: string | null; exp?: number };
  } catch {
    return {};
  }
}

/**
 * Which slug each org id the session was scoped to had, so a token refreshed from the cookie
 * (which names the org by id) is known to fit a page's org without switching again. Ids and
 * slugs are no secret.
 */
const SLUGS = 'gatehouse.orgSlugs';
function slugOf(orgId: string): string | null {
  try {
    return (
      (JSON.parse(localStorage.getItem(SLUGS) ?? '{}') as Record<string, string>)[orgId] ?? null
    );
  } catch {
    return null;
  }
}
function rememberSlug(orgId: string, slug: string): void {
  try {
    const map = JSON.parse(localStorage.getItem(SLUGS) ?? '{}') as Record<string, string>;
    map[orgId] = slug;
    localStorage.setItem(SLUGS, JSON.stringify(map));
  } catch {
    // storage refused: the next page switches org once more
  }
}

function adopt(pair: Pair, orgSlug: string | null): Session {
  const orgId = claims(pair.accessToken).org ?? null;
  if (orgId !== null && orgSlug !== null) rememberSlug(orgId, orgSlug);
  const keepSlug = orgSlug ?? (orgId === null ? null : slugOf(orgId));
  session = {
    token: pair.accessToken,
    orgId,
    orgSlug: orgId === null ? null : keepSlug,
    expiresAt: Date.now() + pair.expiresIn * 1000 - 30_000,
    refreshToken: pair.refreshToken,
  };
  for (const fn of listeners) fn();
  return session;
}

async function post(path: string, body: unknown, token?: string): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  return fetch(`/api/v1${path}`, {
    method: 'POST',
    headers,
    body: JSON.stringify(body),
    credentials: 'same-origin',
  });
}

async function problem(res: Response): Promise<AuthError> {
  let message = `${res.status} ${res.statusText}`;
  try {
    const p = (await res.json()) as { detail?: string; title?: string };
    message = p.detail ?? p.title ?? message;
  } catch {
    // not JSON: the status line says enough
  }
  return new AuthError(message, res.status);
}

/** Runs `fn` holding the origin-wide refresh lock (or alone in this tab without Web Locks). */
let localChain: Promise<unknown> = Promise.resolve();
function exclusive<T>(fn: () => Promise<T>): Promise<T> {
  if (typeof navigator !== 'undefined' && 'locks' in navigator) {
    // The lock's promise settles with the callback's own result.
    return navigator.locks.request('gatehouse-refresh', fn) as unknown as Promise<T>;
  }
  const next = localChain.then(fn, fn);
  localChain = next.catch(() => undefined);
  return next;
}

/** Rotates the cookie's refresh token; the cookie is sent, never the body's token. */
async function refreshFromCookie(): Promise<Pair> {
  const res = await post('/auth/refresh', {});
  if (!res.ok) throw await problem(res);
  return (await res.json()) as Pair;
}

/** Hands a refresh token we were given in a body to the refresh route, which rotates it and
 *  sets the cookie to the new one (creating an org answers a pair without the cookie). */
async function settleCookie(pair: Pair): Promise<Pair> {
  const res = await post('/auth/refresh', { refreshToken: pair.refreshToken });
  return res.ok ? ((await res.json()) as Pair) : pair;
}

let inflight: Promise<Session> | null = null;

/** A fresh access token from the cookie; one at a time per tab, one at a time per origin. */
export function refresh(): Promise<Session> {
  inflight ??= exclusive(async () => adopt(await refreshFromCookie(), null)).finally(() => {
    inflight = null;
  });
  return inflight;
}

/** The current access token scoped to `org` (a slug), switching the session's scope if need be. */
export async function tokenFor(org: string | null): Promise<string> {
  let s = session;
  if (s === null || Date.now() > s.expiresAt) s = await refresh();
  if (org === null || s.orgSlug === org) return s.token;
  return exclusive(async () => {
    const current = session ?? (await refresh());
    if (current.orgSlug === org) return current.token;
    const res = await post('/auth/switch-org', { org }, current.token);
    if (!res.ok) throw await problem(res);
    // The answer sets the cookie to the new pair's refresh token.
    return adopt((await res.json()) as Pair, org).token;
  });
}

/** The token to retry with after a 401: a refresh, once. */
export async function afterUnauthorized(org: string | null): Promise<string> {
  session = null;
  return tokenFor(org);
}

export async function signIn(email: string, password: string, org?: string): Promise<void> {
  const res = await exclusive(() =>
    post('/auth/login', org ? { email, password, org } : { email, password }),
  );
  if (!res.ok) throw await problem(res);
  adopt((await res.json()) as Pair, org ?? null);
}

export async function signUp(email: string, password: string, name: string): Promise<void> {
  const res = await post('/auth/signup', { email, password, name });
  if (!res.ok) throw await problem(res);
  await signIn(email, password);
}

/** Takes a pair the API answered (a new org's), scoped to `org`. */
export async function adoptPair(pair: Pair, org: string): Promise<void> {
  const settled = await exclusive(() => settleCookie(pair));
  adopt(settled, org);
}

export async function signOut(): Promise<void> {
  await exclusive(async () => {
    let token = session?.refreshToken;
    try {
      token = (await refreshFromCookie()).refreshToken;
    } catch {
      // the cookie is already spent or gone: revoke with what this tab holds
    }
    if (token !== undefined) await post('/auth/logout', { refreshToken: token });
  });
  session = null;
  for (const fn of listeners) fn();
}
