import createClient from 'openapi-fetch';
import { afterUnauthorized, tokenFor } from './auth.ts';
import type { paths } from './schema.d.ts';

const ORG_PATH = /^\/api\/v1\/orgs\/([^/?#]+)/;

function orgOf(url: string): string | null {
  const m = ORG_PATH.exec(new URL(url, location.origin).pathname);
  return m?.[1] === undefined ? null : decodeURIComponent(m[1]);
}

/** An API error carrying the problem+json detail, shown to the user as it is. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/**
 * fetch with the bearer token for the path's org; on a 401 it refreshes once and retries.
 * Every call to the API goes through here.
 */
export async function authedFetch(input: Request | string, init?: RequestInit): Promise<Response> {
  const request = typeof input === 'string' ? new Request(input, init) : input;
  const org = orgOf(request.url);
  const send = async (token: string) => {
    const r = request.clone();
    r.headers.set('authorization', `Bearer ${token}`);
    return fetch(r, { credentials: 'same-origin' });
  };
  const first = await send(await tokenFor(org));
  if (first.status !== 401) return first;
  return send(await afterUnauthorized(org));
}

export const api = createClient<paths>({ fetch: (r) => authedFetch(r) });

/** The JSON of a response, or an ApiError with the problem's detail. */
export async function json<T>(res: Response): Promise<T> {
  if (!res.ok) {
    let message = `${res.status} ${res.statusText}`;
    try {
      const p = (await res.json()) as { detail?: string; title?: string };
      message = p.detail ?? p.title ?? message;
    } catch {
      // not problem+json
    }
    throw new ApiError(message, res.status);
  }
  return (await res.json()) as T;
}

/** Unwraps an openapi-fetch answer: its data, or an ApiError. */
export function ok<T>(r: { data?: T; error?: unknown; response: Response }): T {
  if (r.data !== undefined && r.response.ok) return r.data;
  const p = r.error as { detail?: string; title?: string } | undefined;
  throw new ApiError(
    p?.detail ?? p?.title ?? `${r.response.status} ${r.response.statusText}`,
    r.response.status,
  );
}

/** For 204 answers, which carry no data. */
export function done(r: { error?: unknown; response: Response }): void {
  if (r.response.ok) return;
  const p = r.error as { detail?: string; title?: string } | undefined;
  throw new ApiError(p?.detail ?? p?.title ?? `${r.response.status}`, r.response.status);
}

/** Endpoints that may not exist yet on this server (the history routes): null on a 404. */
export async function optional<T>(path: string): Promise<T | null> {
  const res = await authedFetch(path);
  if (res.status === 404 || res.status === 405) return null;
  return json<T>(res);
}
