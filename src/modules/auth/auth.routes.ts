import { fastifyCookie } from '@fastify/cookie';
import type { Module } from '../../http/module.ts';
import { problems } from '../../http/schema.ts';
import { callerOf } from '../../http/types.ts';
import { Unauthorized } from '../../errors.ts';
import { LoginBody, MeOut, SignupBody, SwitchOrgBody, TokenPair, UserOut } from './auth.schema.ts';
import { dummyHash } from '../../lib/password.ts';
import { createAuthService } from './auth.service.ts';
import {
  checkOrigin,
  clearRefreshCookie,
  CookieOrBodyRefresh,
  emptyBodyAsObject,
  presentedRefreshToken,
  setRefreshCookie,
  type CookieSettings,
} from './refresh-cookie.ts';

export const authRoutes: Module = (app, { database, clock, tokens, config }) => {
  const auth = createAuthService({ db: database.db, clock, tokens, auth: config.auth });
  const open = { auth: false };
  const tags = ['auth'];
  const cookie: CookieSettings = {
    publicUrl: config.publicUrl,
    maxAgeSeconds: config.auth.sessionIdleSeconds,
  };
  const noToken = 'Send {"refreshToken"} in the body, or sign in again';
  // The hash a sign-in for an unknown email is verified against is made while the server
  // starts, not by the first such sign-in: that one would pay for two scrypts (make, then
  // verify) and take twice as long as a wrong password, telling the two apart.
  app.addHook('onReady', async () => {
    await dummyHash();
  });
  // Loads the cookie codec (serialize/parse below); no hook: only these routes read the cookie.
  void app.register(fastifyCookie, { hook: false });

  app.post(
    '/api/v1/auth/signup',
    {
      config: open,
      schema: {
        summary: 'Sign up',
        tags,
        body: SignupBody,
        response: { 201: UserOut, ...problems(409) },
      },
    },
    async (req, reply) => reply.code(201).send(await auth.signup(req.body)),
  );
  app.post(
    '/api/v1/auth/login',
    {
      config: open,
      schema: {
        summary:
          'Sign in: an access and a refresh token, scoped to an organization if one is named',
        tags,
        body: LoginBody,
        response: { 200: TokenPair, ...problems(401, 403, 429) },
      },
    },
    async (req, reply) => {
      checkOrigin(req, cookie, false);
      const pair = await auth.login(req.body);
      setRefreshCookie(req, reply, cookie, pair.refreshToken);
      return pair;
    },
  );
  app.post(
    '/api/v1/auth/refresh',
    {
      config: open,
      preValidation: emptyBodyAsObject,
      schema: {
        summary: 'Trade a refresh token for a new token pair',
        tags,
        description:
          'The refresh token from the body, or (the dashboard) from the httpOnly cookie set by sign-in; the answer sets the cookie to the new one.',
        body: CookieOrBodyRefresh,
        response: { 200: TokenPair, ...problems(401, 403) },
      },
    },
    async (req, reply) => {
      const presented = presentedRefreshToken(req, cookie, req.body);
      if (presented === undefined) throw new Unauthorized(noToken);
      const pair = await auth.refresh(presented);
      setRefreshCookie(req, reply, cookie, pair.refreshToken);
      return pair;
    },
  );
  app.post(
    '/api/v1/auth/logout',
    {
      config: open,
      preValidation: emptyBodyAsObject,
      schema: {
        summary: 'Sign out: revoke the session of a refresh token',
        tags,
        body: CookieOrBodyRefresh,
        response: { 204: {}, ...problems(403) },
      },
    },
    async (req, reply) => {
      const presented = presentedRefreshToken(req, cookie, req.body);
      if (presented !== undefined) await auth.logout(presented);
      clearRefreshCookie(req, reply, cookie);
      return reply.code(204).send();
    },
  );
  app.post(
    '/api/v1/auth/switch-org',
    {
      schema: {
        summary: 'Switch organizations: a token pair scoped to another organization you belong to',
        tags,
        body: SwitchOrgBody,
        response: { 200: TokenPair },
      },
    },
    async (req, reply) => {
      checkOrigin(req, cookie, false);
      const pair = await auth.switchOrg(callerOf(req), req.body.org);
      setRefreshCookie(req, reply, cookie, pair.refreshToken);
      return pair;
    },
  );
  app.get(
    '/api/v1/me',
    {
      schema: {
        summary: 'The signed-in user and their memberships',
        tags,
        response: { 200: MeOut },
      },
    },
    (req) => auth.me(callerOf(req)),
  );
};
