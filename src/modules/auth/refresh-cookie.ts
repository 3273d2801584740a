import { fastifyCookie } from '@fastify/cookie';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { Forbidden } from '../../errors.ts';
import { Opaque } from '../../http/schema.ts';

/**
 * The dashboard keeps its refresh token in this cookie: httpOnly (scripts never see it),
 * SameSite=Strict (never sent from another site), Secure over https, and sent only to the
 * auth routes (its path), which are the only ones that read it. The access token stays in
 * the page's memory and travels in the Authorization header as for any API client.
 */
export const REFRESH_COOKIE = 'gatehouse_refresh';
export const REFRESH_COOKIE_PATH = '/api/v1/auth';

/** Refresh and sign-out: the token in the body (API clients) or, without one, the cookie. */
export const CookieOrBodyRefresh = Type.Object(
  { refreshToken: Type.Optional(Opaque) },
  { additionalProperties: false },
);

export interface CookieSettings {
  /** GATEHOUSE_PUBLIC_URL: its origin is the dashboard's. */
  publicUrl: string;
  /** How long the browser keeps the cookie (the session's idle limit; the server decides). */
  maxAgeSeconds: number;
}

function secure(request: FastifyRequest, settings: CookieSettings): boolean {
  // request.protocol follows X-Forwarded-Proto only when trustProxy says to believe it.
  return request.protocol === 'https' || settings.publicUrl.startsWith('https:');
}

function cookie(
  request: FastifyRequest,
  settings: CookieSettings,
  value: string,
  maxAge: number,
): string {
  return fastifyCookie.serialize(REFRESH_COOKIE, value, {
    httpOnly: true,
    sameSite: 'strict',
    secure: secure(request, settings),
    path: REFRESH_COOKIE_PATH,
    maxAge,
  });
}

export function setRefreshCookie(
  request: FastifyRequest,
  reply: FastifyReply,
  settings: CookieSettings,
  refreshToken: string,
): void {
  void reply.header('set-cookie', cookie(request, settings, refreshToken, settings.maxAgeSeconds));
}

export function clearRefreshCookie(
  request: FastifyRequest,
  reply: FastifyReply,
  settings: CookieSettings,
): void {
  void reply.header('set-cookie', cookie(request, settings, '', 0));
}

function cookieValue(request: FastifyRequest): string | undefined {
  const header = request.headers.cookie;
  if (header === undefined) return undefined;
  const value = fastifyCookie.parse(header)[REFRESH_COOKIE];
  return value === undefined || value === '' || value.length > 200 ? undefined : value;
}

function allowedOrigin(request: FastifyRequest, settings: CookieSettings, origin: string): boolean {
  return (
    origin === new URL(settings.publicUrl).origin ||
    origin === `${request.protocol}://${request.host}`
  );
}

/**
 * CSRF defence for the auth routes, on top of SameSite=Strict: a browser's request from
 * another origin is refused, and a request that authenticates with the cookie must carry an
 * Origin (every browser sends one on a POST) equal to the server's own: GATEHOUSE_PUBLIC_URL
 * or the origin the request was addressed to. API clients send no Origin and use the body.
 */
export function checkOrigin(
  request: FastifyRequest,
  settings: CookieSettings,
  usesCookie: boolean,
) {
  const origin = request.headers.origin;
  if (origin === undefined) {
    if (usesCookie)
      throw new Forbidden('A request signed in by cookie must come from the dashboard (no Origin)');
    return;
  }
  if (!allowedOrigin(request, settings, origin))
    throw new Forbidden(
      `Requests from ${origin} are not accepted; use the dashboard at its own address`,
    );
}

/**
 * The refresh token a refresh or sign-out presents: the body's when given (no cookie read),
 * else the cookie's, after the Origin check. undefined when there is neither.
 */
export function presentedRefreshToken(
  request: FastifyRequest,
  settings: CookieSettings,
  body: { refreshToken?: string | undefined } | undefined,
): string | undefined {
  if (body?.refreshToken !== undefined) {
    checkOrigin(request, settings, false);
    return body.refreshToken;
  }
  const fromCookie = cookieValue(request);
  checkOrigin(request, settings, fromCookie !== undefined);
  return fromCookie;
}

/** A POST with no body at all (a browser refreshing by cookie) is validated as `{}`. */
export function emptyBodyAsObject(request: FastifyRequest, _reply: FastifyReply, done: () => void) {
  request.body ??= {};
  done();
}
