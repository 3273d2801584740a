import {
  Kysely,
  PostgresDialect,
  type CompiledQuery,
  type PostgresPool,
  type PostgresPoolClient,
} from 'kysely';
import pg from 'pg';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import { pipelined, statementName } from './pipeline.ts';
import type { DB } from './types.ts';

export interface Database {
  readonly db: Kysely<DB>;
  readonly pool: pg.Pool;
  /**
   * Whether the server takes a connection and answers a query within `timeoutMs`, asked on a
   * connection of its own: a pool busy with requests cannot make the database look down.
   */
  ping(timeoutMs: number): Promise<void>;
  /** Every pooled connection is in use and requests are waiting for one. */
  saturated(): boolean;
  /** Connections a caller could take from the pool right now without waiting for one. */
  spareConnections(): number;
  close(): Promise<void>;
}

// A `date` is a calendar day, not an instant: read it as its YYYY-MM-DD text, never as a
// Date at the process's local midnight.
pg.types.setTypeParser(pg.types.builtins.DATE, (value) => value);

/** One pg Pool and one Kysely over it; every query in the process goes through here. */
export function connect(url: string, config: Config['db'], logger: Logger): Database {
  const pool = new pg.Pool({
    connectionString: url,
    max: config.poolMax,
    connectionTimeoutMillis: config.connectionTimeoutMs,
    statement_timeout: config.statementTimeoutMs,
    idleTimeoutMillis: 30_000,
    application_name: 'gatehouse',
  });
  let closing = false;
  // pg attaches the whole client to these errors; log what helps, never connection details.
  const lost = (what: string) => (err: Error & { code?: string }) => {
    if (closing) return; // a clean shutdown of the embedded server ends idle connections
    logger.warn({ error: err.message, code: err.code }, what);
  };
  // An idle client losing its server must not crash the process; the pool replaces it.
  pool.on('error', lost('idle database connection lost'));
  // A checked-out client between queries has no listener of its own; without this its
  // lost connection would be an uncaught exception. The pool drops such clients on release.
  pool.on('connect', (client) => {
    client.on('error', lost('database connection lost'));
  });
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool: preparingPool(pool) }) });
  pools.set(db, pool);
  // One connection beside the pool, for readiness checks only; made when first asked.
  let probe: pg.Pool | undefined;
  const probePool = (timeoutMs: number) => {
    if (probe === undefined) {
      probe = new pg.Pool({
        connectionString: url,
        max: 1,
        connectionTimeoutMillis: timeoutMs,
        idleTimeoutMillis: 60_000,
        statement_timeout: timeoutMs,
        application_name: 'gatehouse-probe',
      });
      probe.on('error', lost('idle readiness connection lost'));
    }
    return probe;
  };
  let closed = false;
  return {
    db,
    pool,
    async ping(timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        probePool(timeoutMs).query('SELECT 1'),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('readiness check timed out')), timeoutMs);
        }),
      ]).finally(() => clearTimeout(timer));
    },
    saturated: () => pool.waitingCount > 0,
    spareConnections: () => config.poolMax - pool.totalCount + pool.idleCount - pool.waitingCount,
    async close() {
      if (closed) return;
      closed = true;
      closing = true;
      await Promise.all([db.destroy(), probe?.end()]);
    },
  };
}

const UNAVAILABLE_CODES = new Set([
  '57P01',
  '57P02',
  '57P03',
  '53300',
  '08000',
  '08001',
  '08003',
  '08006',
]);
const UNAVAILABLE_ERRNOS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EHOSTUNREACH',
]);

/** True when the error means "the database is not reachable right now", not a bad query. */
export function isDatabaseUnavailable(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && (UNAVAILABLE_CODES.has(code) || UNAVAILABLE_ERRNOS.has(code))) {
    return true;
  }
  const message = (err as { message?: unknown }).message;
  return (
    typeof message === 'string' &&
    /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|connection is closed/i.test(
      message,
    )
  );
}

const pools = new WeakMap<Kysely<DB>, pg.Pool>();

/**
 * Runs `statements` in one round trip (src/db/pipeline.ts) on a connection of `db`'s pool,
 * prepared under the same names as Kysely's queries, and answers each one's rows. For the
 * few fixed statements of the pipelined reads (their number is not counted against
 * MAX_PREPARED_PER_CONNECTION).
 */
export async function runPipelined(
  db: Kysely<DB>,
  statements: readonly CompiledQuery[],
): Promise<Record<string, unknown>[][]> {
  const pool = pools.get(db);
  if (pool === undefined)
    throw new Error('runPipelined needs the Kysely instance made by connect()');
  const client = await pool.connect();
  let lost: Error | undefined;
  try {
    return await pipelined(client, statements);
  } catch (err) {
    // A connection that broke mid-pipeline is dropped; an error PostgreSQL answered is not.
    if (isDatabaseUnavailable(err)) lost = err as Error;
    throw err;
  } finally {
    client.release(lost);
  }
}

/** Distinct statements one connection keeps prepared; past it, statements are parsed each time. */
const MAX_PREPARED_PER_CONNECTION = 1000;
const PREPARABLE = /^\s*(select|insert|update|delete|with)\s/i;
const prepared = new WeakMap<pg.PoolClient, Set<string>>();

/**
 * Hands Kysely connections whose queries run as named prepared statements, keyed by the
 * SQL text. PostgreSQL then plans each statement shape once per connection instead of on
 * every request; with row-level security, planning costs more than executing.
 */
function preparingPool(pool: pg.Pool): PostgresPool {
  return {
    async connect(): Promise<PostgresPoolClient> {
      const client = await pool.connect();
      let names = prepared.get(client);
      if (names === undefined) {
        names = new Set();
        prepared.set(client, names);
      }
      const known = names;
      const query = (sqlOrCursor: unknown, parameters?: readonly unknown[]) => {
        if (typeof sqlOrCursor !== 'string') return client.query(sqlOrCursor as pg.Submittable);
        // Only parameterised DML is worth preparing; DDL and multi-statement scripts cannot be.
        if (parameters === undefined || parameters.length === 0 || !PREPARABLE.test(sqlOrCursor)) {
          return client.query(sqlOrCursor, parameters as unknown[]);
        }
        const name = statementName(sqlOrCursor);
        if (!known.has(name) && known.size >= MAX_PREPARED_PER_CONNECTION) {
          return client.query(sqlOrCursor, parameters as unknown[]);
        }
        known.add(name);
        return client.query({ name, text: sqlOrCursor, values: parameters as unknown[] });
      };
      return { query, release: () => client.release() } as unknown as PostgresPoolClient;
    },
    end: () => pool.end(),
  };
}
