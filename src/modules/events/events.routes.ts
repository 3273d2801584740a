import type { Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { accessTokenExpiry, callerFromHeader } from '../../http/authenticate.ts';
import type { Module } from '../../http/module.ts';
import { callerOf } from '../../http/types.ts';
import { OrgParams } from '../orgs/orgs.schema.ts';
import { createEventHub, type EventHub } from './event-hub.ts';
import { StreamQuery, TicketOut } from './events.schema.ts';
import { createEventService } from './events.service.ts';

/**
 * Live events: the outbound webhooks' events, as server-sent events, to whoever may read the
 * org. Every process listens on PostgreSQL (LISTEN/NOTIFY), so an event committed by any
 * process reaches the streams open on all of them.
 */
export const eventRoutes: Module = (app, { database, clock, tokens, config, logger }) => {
  const events = createEventService({
    db: database.db,
    clock,
    ticketSeconds: config.events.ticketSeconds,
  });
  const hub = createEventHub({
    clientConfig: database.pool.options,
    logger: logger.child({ component: 'events' }),
    limits: {
      perOrg: config.events.maxStreamsPerOrg,
      perUser: config.events.maxStreamsPerUser,
      heartbeatMs: config.events.heartbeatSeconds * 1000,
    },
  });
  app.decorate('eventHub', hub);
  app.addHook('onReady', () => hub.start());
  // Open streams would hold the server's close for good: end them and drop their
  // connections first (a stream's connection is never reused anyway).
  const sockets = new Set<Socket>();
  app.addHook('preClose', async () => {
    await hub.stop();
    for (const socket of sockets) socket.destroy();
    sockets.clear();
  });
  const tags = ['events'];

  app.post(
    '/api/v1/orgs/:org/events/ticket',
    {
      schema: {
        summary:
          'A one-time ticket to open the event stream where no header can be sent (EventSource)',
        tags,
        params: OrgParams,
        response: { 201: TicketOut },
      },
    },
    async (req, reply) => reply.code(201).send(await events.ticket(callerOf(req), req.params.org)),
  );

  app.get(
    '/api/v1/orgs/:org/events',
    {
      // Authenticated here: by the Authorization header, or by a one-time ticket in the query.
      config: { auth: false },
      schema: {
        tags,
        summary: 'Live events of the org (text/event-stream)',
        description:
          'Server-sent events: `event: <type>` (run.completed, gate.changed, escalation.created, ' +
          'escalation.breached, activity.changed, checkpoint.due), `id: <event id>`, `data: ' +
          '{"id","type","timestamp","data"}` — the outbound webhook payload plus its id. First ' +
          '`event: ready`; `event: resync` when events may have been missed (refetch); comment ' +
          'heartbeats. The stream ends when the access token it was opened with would expire.',
        params: OrgParams,
        querystring: StreamQuery,
        security: [{ bearer: [] }],
      },
    },
    async (req, reply) => {
      const { ticket } = req.query;
      const ticketed = ticket !== undefined;
      const caller = ticketed
        ? await events.redeem(ticket, req.id)
        : await callerFromHeader(req.headers.authorization, req.id, tokens);
      const { orgId, userKey } = await events.authorize(caller, req.params.org);
      // Membership is checked when a stream opens, so a stream never outlives the access
      // token it was opened with (a ticket or a CI token: one access token's lifetime).
      const ttlMs = config.auth.accessTokenTtlSeconds * 1000;
      const expiry = ticketed ? null : await accessTokenExpiry(req.headers.authorization, tokens);
      const lifetimeMs = expiry === null ? ttlMs : Math.max(1000, expiry - clock.now().getTime());
      const out = new PassThrough();
      const unsubscribe = hub.subscribe(orgId, userKey, out);
      const lifetime = setTimeout(unsubscribe, Math.min(lifetimeMs, ttlMs));
      lifetime.unref();
      const done = () => {
        clearTimeout(lifetime);
        unsubscribe();
      };
      const socket = req.raw.socket;
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      reply.raw.on('close', done);
      out.on('close', done);
      out.write(`retry: 3000\nevent: ready\ndata: ${JSON.stringify({ org: req.params.org })}\n\n`);
      return (
        reply
          .header('content-type', 'text/event-stream; charset=utf-8')
          .header('cache-control', 'no-cache')
          .header('x-accel-buffering', 'no')
          // A stream's connection is never reused: when it ends (sign-out, shutdown) it closes,
          // rather than idling as keep-alive and holding the server's close.
          .header('connection', 'close')
          .send(out)
      );
    },
  );
};

declare module 'fastify' {
  interface FastifyInstance {
    /** This process's live event streams. */
    eventHub: EventHub;
  }
}
