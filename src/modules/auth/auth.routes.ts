import type { Module } from '../../http/module.ts';
import { problems } from '../../http/schema.ts';
import { callerOf } from '../../http/types.ts';
import {
  LoginBody,
  MeOut,
  RefreshBody,
  SignupBody,
  SwitchOrgBody,
  TokenPair,
  UserOut,
} from './auth.schema.ts';
import { createAuthService } from './auth.service.ts';

export const authRoutes: Module = (app, { database, clock, tokens, config }) => {
  const auth = createAuthService({ db: database.db, clock, tokens, auth: config.auth });
  const open = { auth: false };
  const tags = ['auth'];

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
        response: { 200: TokenPair, ...problems(429) },
      },
    },
    (req) => auth.login(req.body),
  );
  app.post(
    '/api/v1/auth/refresh',
    {
      config: open,
      schema: {
        summary: 'Trade a refresh token for a new token pair',
        tags,
        body: RefreshBody,
        response: { 200: TokenPair },
      },
    },
    (req) => auth.refresh(req.body.refreshToken),
  );
  app.post(
    '/api/v1/auth/logout',
    {
      config: open,
      schema: {
        summary: 'Sign out: revoke the session of a refresh token',
        tags,
        body: RefreshBody,
        response: { 204: {} },
      },
    },
    async (req, reply) => {
      await auth.logout(req.body.refreshToken);
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
    (req) => auth.switchOrg(callerOf(req), req.body.org),
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
