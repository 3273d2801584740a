import { collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Database } from '../db/connection.ts';
import { JOB_SCHEMA } from '../jobs/queue.ts';
import type { App } from './types.ts';

/** Prometheus metrics on a registry of this app's own: request durations and pool usage. */
export function createMetrics(app: App, database: Database): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by method, route and status',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [registry],
  });
  const pool = database.pool;
  new Gauge({
    name: 'db_pool_connections',
    help: 'Database pool connections by state',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      this.set({ state: 'total' }, pool.totalCount);
      this.set({ state: 'idle' }, pool.idleCount);
      this.set({ state: 'waiting' }, pool.waitingCount);
    },
  });
  // Background jobs by queue and state, read at scrape time: `failed` are dead jobs (their
  // retries are used up), kept for inspection until pg-boss's retention removes them.
  new Gauge({
    name: 'gatehouse_jobs',
    help: 'Background jobs by queue and state (failed: dead, retries used up)',
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      try {
        const { rows } = await pool.query<{ name: string; state: string; n: number }>(
          `SELECT name, state::text AS state, count(*)::int AS n FROM ${JOB_SCHEMA}.job
           WHERE state IN ('created', 'retry', 'active', 'failed') GROUP BY 1, 2`,
        );
        for (const r of rows) this.set({ queue: r.name, state: r.state }, r.n);
      } catch {
        // The database is unreachable: the pool gauge and /readyz say so.
      }
    },
  });
  app.addHook('onResponse', async (request, reply) => {
    duration.observe(
      {
        method: request.method,
        route: request.is404 ? 'unmatched' : (request.routeOptions.url ?? 'unmatched'),
        status_code: String(reply.statusCode),
      },
      reply.elapsedTime / 1000,
    );
  });
  app.decorate('metricsRegistry', registry);
  return registry;
}

declare module 'fastify' {
  interface FastifyInstance {
    metricsRegistry: Registry;
  }
}
