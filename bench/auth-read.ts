import fs from 'node:fs/promises';
import Fastify from 'fastify';
import pg from 'pg';
import pino from 'pino';
import { loadConfig } from '../src/config.ts';
import { openRuntime } from '../src/runtime.ts';
import { autocannon, machine, round, tempDir } from './lib.ts';

/**
 * GET /api/v1/orgs/:org with a JWT (verify, live session + membership check under RLS,
 * read) against a bare Fastify route returning the same JSON: same machine, same run.
 */
export async function authRead(): Promise<Record<string, unknown>> {
  const dataDir = await tempDir('gatehouse-bench-');
  const config = loadConfig({
    ...process.env,
    GATEHOUSE_DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    PORT: '0',
    DATABASE_POOL_MAX: '10',
  });
  const logger = pino({ level: 'warn' });
  const runtime = await openRuntime(config, logger);
  const { app, storage } = runtime;
  const bare = Fastify({ logger: false });
  let piped: pg.Pool | undefined;
  try {
    const password = 'benchmark password 123';
    const email = `bench-${Date.now()}@example.test`;
    await app.inject({
      method: 'POST',
      url: '/api/v1/auth/signup',
      payload: { email, password, name: 'Bench' },
    });
    let login = (
      await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email, password } })
    ).json<{ accessToken: string }>();
    await app.inject({
      method: 'POST',
      url: '/api/v1/orgs',
      headers: { authorization: `Bearer ${login.accessToken}` },
      payload: { name: 'Bench Org', slug: 'bench' },
    });
    login = (
      await app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { email, password, org: 'bench' },
      })
    ).json<{ accessToken: string }>();
    const headers = { authorization: `Bearer ${login.accessToken}` };
    const sample = await app.inject({ method: 'GET', url: '/api/v1/orgs/bench', headers });
    if (sample.statusCode !== 200)
      throw new Error(`setup failed: ${sample.statusCode} ${sample.body}`);
    const body = sample.json<unknown>();

    bare.get('/api/v1/orgs/:org', () => body);
    // Reference points: what one database round trip, and one transaction, cost here.
    const pool = storage.database.pool;
    bare.get(
      '/one-query/:org',
      async () =>
        (await pool.query({ name: 'ref1', text: 'SELECT $1::text AS slug', values: ['bench'] }))
          .rows[0],
    );
    bare.get('/transaction/:org', async () => {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const { rows } = await client.query({
          name: 'ref1',
          text: 'SELECT $1::text AS slug',
          values: ['bench'],
        });
        await client.query('COMMIT');
        return rows[0];
      } finally {
        client.release();
      }
    });
    // Gatehouse's own four statements without Fastify plugins or Kysely: over raw pg as it
    // runs them (four round trips), and pipelined so that all four share one round trip.
    const claims = JSON.parse(
      Buffer.from(login.accessToken.split('.')[1]!, 'base64url').toString(),
    ) as { sub: string; sid: string };
    piped = new pg.Pool({
      connectionString: pool.options.connectionString,
      max: 10,
      pipeline: true,
    });
    const statements = (client: pg.PoolClient) => {
      const enter = client.query({
        name: 'ref-enter',
        text: 'SELECT * FROM app_enter_as_user($1, $2, $3)',
        values: [claims.sub, claims.sid, 'bench'],
      });
      const read = () =>
        client.query({
          name: 'ref-read',
          text: 'SELECT * FROM orgs WHERE slug = $1 AND deleted_at IS NULL',
          values: ['bench'],
        });
      return { enter, read };
    };
    bare.get('/four-round-trips/:org', async () => {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const { enter, read } = statements(client);
        await enter;
        const { rows } = await read();
        await client.query('COMMIT');
        return rows[0];
      } finally {
        client.release();
      }
    });
    bare.get('/one-round-trip/:org', async () => {
      const client = await piped!.connect();
      try {
        const begin = client.query('BEGIN');
        const { enter, read } = statements(client);
        const result = read();
        await Promise.all([begin, enter, result, client.query('COMMIT')]);
        return (await result).rows[0];
      } finally {
        client.release();
      }
    });
    const appUrl = await app.listen({ port: 0, host: '127.0.0.1' });
    const bareUrl = await bare.listen({ port: 0, host: '127.0.0.1' });

    const load = { connections: 20, seconds: Number(process.env['BENCH_SECONDS'] ?? 10) };
    await autocannon(`${appUrl}/api/v1/orgs/bench`, { headers, connections: 10, seconds: 2 }); // warm-up
    const baseline = await autocannon(`${bareUrl}/api/v1/orgs/bench`, load);
    const gatehouse = await autocannon(`${appUrl}/api/v1/orgs/bench`, { ...load, headers });
    const oneQuery = await autocannon(`${bareUrl}/one-query/bench`, load);
    const transaction = await autocannon(`${bareUrl}/transaction/bench`, load);
    const fourTrips = await autocannon(`${bareUrl}/four-round-trips/bench`, load);
    const oneTrip = await autocannon(`${bareUrl}/one-round-trip/bench`, load);
    const ratio = gatehouse.requestsPerSecond / baseline.requestsPerSecond;
    const of = (r: { requestsPerSecond: number }) =>
      round(r.requestsPerSecond / baseline.requestsPerSecond, 3);
    return {
      bench: 'auth-read',
      machine: machine(),
      load: `${load.connections} connections, ${load.seconds}s each, autocannon in its own process`,
      bare: baseline,
      gatehouse,
      ratio: round(ratio, 3),
      reference: {
        'bare route + one prepared SELECT': { ...oneQuery, ratio: of(oneQuery) },
        'bare route + BEGIN, SELECT, COMMIT': { ...transaction, ratio: of(transaction) },
        "Gatehouse's statements (BEGIN, app_enter_as_user, read, COMMIT) over raw pg, four round trips":
          { ...fourTrips, ratio: of(fourTrips) },
        'the same four statements pipelined in one round trip': { ...oneTrip, ratio: of(oneTrip) },
      },
      target: '>= 0.35',
      met: ratio >= 0.35 && gatehouse.non2xx === 0 && gatehouse.errors === 0,
    };
  } finally {
    await bare.close();
    await piped?.end();
    await runtime.close();
    await fs.rm(dataDir, { recursive: true, force: true });
  }
}
