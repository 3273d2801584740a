import { createHash, timingSafeEqual } from 'node:crypto';
import { Type } from 'typebox';
import { Unauthorized, Unavailable } from '../errors.ts';
import type { Module } from './module.ts';

const Status = Type.Object({ status: Type.String() });
const Readiness = Type.Object({
  status: Type.Literal('ready'),
  /** Present when every pooled connection is in use and requests wait for one: still ready. */
  database: Type.Optional(Type.Literal('busy')),
});

/** Liveness, readiness, metrics, JWKS and the OpenAPI document: public (metrics optionally behind a token). */
export const systemRoutes: Module = (app, { database, keys, config }) => {
  const open = { auth: false };
  // Hashing first gives equal lengths, so the comparison takes the same time whatever is sent.
  const digest = (s: string) => createHash('sha256').update(s).digest();
  const metricsToken = config.metricsToken === undefined ? null : digest(config.metricsToken);

  app.get(
    '/healthz',
    {
      config: open,
      schema: {
        summary: 'Liveness: the process answers',
        tags: ['system'],
        response: { 200: Status },
      },
    },
    () => ({
      status: 'ok',
    }),
  );

  app.get(
    '/readyz',
    {
      config: open,
      schema: {
        tags: ['system'],
        summary:
          'Ready when the database answers (on a connection of its own); a saturated pool is "busy", still ready',
        response: { 200: Readiness },
      },
    },
    async () => {
      try {
        await database.ping(2000);
      } catch {
        throw new Unavailable('Not ready: the database is unreachable');
      }
      return database.saturated()
        ? { status: 'ready' as const, database: 'busy' as const }
        : { status: 'ready' as const };
    },
  );

  app.get(
    '/metrics',
    { config: open, schema: { summary: 'Prometheus metrics', tags: ['system'], hide: true } },
    async (request, reply) => {
      if (metricsToken !== null) {
        const given = /^Bearer (\S+)$/i.exec(request.headers.authorization ?? '')?.[1] ?? '';
        if (!timingSafeEqual(digest(given), metricsToken)) {
          throw new Unauthorized(
            '/metrics needs "Authorization: Bearer <GATEHOUSE_METRICS_TOKEN>"',
          );
        }
      }
      const registry = app.metricsRegistry;
      return reply.type(registry.contentType).send(await registry.metrics());
    },
  );

  app.get(
    '/.well-known/jwks.json',
    {
      config: open,
      schema: {
        summary: 'The public keys access tokens are signed with (JWKS)',
        tags: ['auth'],
        response: {
          200: Type.Object({ keys: Type.Array(Type.Record(Type.String(), Type.Unknown())) }),
        },
      },
    },
    async (_request, reply) => {
      await keys.current();
      void reply.header('cache-control', 'public, max-age=60');
      return keys.jwks();
    },
  );

  app.get(
    '/openapi.json',
    { config: open, schema: { summary: 'This API description (OpenAPI 3.1)', hide: true } },
    () => app.swagger(),
  );
};
