import type { Writable } from 'node:stream';
import pg from 'pg';
import type { Logger } from 'pino';
import { TooManyRequests } from '../../errors.ts';
import { EVENTS_CHANNEL, type NotifiedEvent } from './event-bus.ts';

export interface HubLimits {
  /** Open streams one org may hold in this process. */
  perOrg: number;
  /** Open streams one user (or API token) may hold in this process, across orgs. */
  perUser: number;
  /** A comment line this often keeps proxies from closing an idle stream. */
  heartbeatMs: number;
}

interface Stream {
  orgId: string;
  userKey: string;
  out: Writable;
}

/** A slow reader with this much unsent is dropped rather than buffered without end. */
const MAX_BUFFERED_BYTES = 1024 * 1024;
const RECONNECT_MAX_MS = 30_000;

/** One server-sent event frame: `id`, `event` and single-line JSON `data`. */
export function sseFrame(event: NotifiedEvent): string {
  const body = {
    id: event.eventId,
    type: event.type,
    timestamp: event.occurredAt,
    data: event.data,
    ...(event.truncated === true ? { truncated: true } : {}),
  };
  return `id: ${event.eventId}\nevent: ${event.type}\ndata: ${JSON.stringify(body)}\n\n`;
}

/**
 * This process's live event streams and the one PostgreSQL connection that feeds them.
 * The connection is its own client, not one of the pool's (LISTEN holds it for good), and
 * it comes back after a loss with growing pauses; streams then get a `resync` event, as
 * events committed while it was away were missed. Each notification goes to the streams of
 * the org it names and to no other.
 */
export function createEventHub(deps: {
  clientConfig: pg.ClientConfig;
  logger: Logger;
  limits: HubLimits;
}) {
  const { logger, limits } = deps;
  const byOrg = new Map<string, Set<Stream>>();
  const perUser = new Map<string, number>();
  let client: pg.Client | null = null;
  let stopping = false;
  let connectedOnce = false;
  let retryMs = 500;
  let retryTimer: NodeJS.Timeout | null = null;
  let heartbeat: NodeJS.Timeout | null = null;

  function write(stream: Stream, text: string): void {
    if (stream.out.writableEnded || stream.out.destroyed) return;
    if (stream.out.writableLength > MAX_BUFFERED_BYTES) {
      stream.out.end();
      return;
    }
    stream.out.write(text);
  }

  function broadcast(text: string): void {
    for (const streams of byOrg.values()) for (const s of streams) write(s, text);
  }

  function deliver(payload: string | undefined): void {
    if (payload === undefined) return;
    let event: NotifiedEvent;
    try {
      event = JSON.parse(payload) as NotifiedEvent;
    } catch {
      logger.warn('unreadable event notification ignored');
      return;
    }
    const streams = byOrg.get(event.orgId);
    if (streams === undefined || streams.size === 0) return;
    const frame = sseFrame(event);
    for (const s of streams) write(s, frame);
  }

  function scheduleReconnect(): void {
    if (stopping || retryTimer !== null) return;
    const wait = retryMs;
    retryMs = Math.min(retryMs * 2, RECONNECT_MAX_MS);
    retryTimer = setTimeout(() => {
      retryTimer = null;
      void connect();
    }, wait);
    retryTimer.unref();
  }

  async function connect(): Promise<void> {
    const c = new pg.Client({
      ...deps.clientConfig,
      application_name: 'gatehouse-events',
      keepAlive: true,
    });
    let lost = false;
    const onLost = (err?: Error) => {
      if (lost) return;
      lost = true;
      if (client === c) client = null;
      if (stopping) return;
      logger.warn({ error: err?.message }, 'live events connection lost; reconnecting');
      void c.end().catch(() => undefined);
      scheduleReconnect();
    };
    c.on('error', onLost);
    c.on('end', () => onLost());
    c.on('notification', (msg) => {
      if (msg.channel === EVENTS_CHANNEL) deliver(msg.payload);
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${EVENTS_CHANNEL}`);
    } catch (err) {
      onLost(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    if (stopping) {
      await c.end().catch(() => undefined);
      return;
    }
    client = c;
    retryMs = 500;
    if (connectedOnce) broadcast('event: resync\ndata: {}\n\n');
    connectedOnce = true;
  }

  return {
    /** Starts listening; a database that is down now is retried in the background. */
    async start(): Promise<void> {
      stopping = false;
      heartbeat = setInterval(() => broadcast(': heartbeat\n\n'), limits.heartbeatMs);
      heartbeat.unref();
      await connect();
    },

    /** Ends every stream and the listening connection. */
    async stop(): Promise<void> {
      stopping = true;
      if (heartbeat !== null) clearInterval(heartbeat);
      if (retryTimer !== null) clearTimeout(retryTimer);
      retryTimer = null;
      for (const streams of byOrg.values()) for (const s of streams) s.out.end();
      byOrg.clear();
      perUser.clear();
      const c = client;
      client = null;
      if (c !== null) await c.end().catch(() => undefined);
    },

    /**
     * Adds a stream for one org's events; throws 429 past the per-org or per-user bound.
     * Returns the function that removes it (call it when the client goes away).
     */
    subscribe(orgId: string, userKey: string, out: Writable): () => void {
      const streams = byOrg.get(orgId) ?? new Set<Stream>();
      const mine = perUser.get(userKey) ?? 0;
      if (streams.size >= limits.perOrg)
        throw new TooManyRequests('This organization has too many open event streams', 30);
      if (mine >= limits.perUser)
        throw new TooManyRequests(
          `You have ${mine} open event streams; close one (another tab) first`,
          30,
        );
      const stream: Stream = { orgId, userKey, out };
      streams.add(stream);
      byOrg.set(orgId, streams);
      perUser.set(userKey, mine + 1);
      let removed = false;
      return () => {
        if (removed) return;
        removed = true;
        streams.delete(stream);
        if (streams.size === 0 && byOrg.get(orgId) === streams) byOrg.delete(orgId);
        const left = (perUser.get(userKey) ?? 1) - 1;
        if (left <= 0) perUser.delete(userKey);
        else perUser.set(userKey, left);
        if (!out.writableEnded) out.end();
      };
    },

    /** Open streams in this process (for tests and metrics). */
    openStreams(): number {
      let n = 0;
      for (const s of byOrg.values()) n += s.size;
      return n;
    },

    /** True while the listening connection is up. */
    listening(): boolean {
      return client !== null;
    },
  };
}

export type EventHub = ReturnType<typeof createEventHub>;
