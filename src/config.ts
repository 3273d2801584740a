import os from 'node:os';
import path from 'node:path';

export interface Config {
  readonly port: number;
  readonly host: string;
  readonly databaseUrl: string | undefined;
  readonly dataDir: string;
  readonly publicUrl: string;
  /** Key material for secrets at rest; undefined only with the embedded database (generated then). */
  readonly secret: string | undefined;
  readonly logLevel: string;
  readonly demo: boolean;
  /** When set, `/metrics` needs `Authorization: Bearer <this>`; unset, it is open. */
  readonly metricsToken: string | undefined;
  readonly db: {
    readonly poolMax: number;
    readonly statementTimeoutMs: number;
    readonly connectionTimeoutMs: number;
  };
  readonly auth: {
    readonly issuer: string;
    readonly audience: string;
    readonly accessTokenTtlSeconds: number;
    readonly sessionIdleSeconds: number;
    readonly sessionAbsoluteSeconds: number;
    readonly loginMaxFailures: number;
    readonly loginWindowSeconds: number;
    /** A spent refresh token presented again within this many seconds of its rotation gets
     *  a fresh pair on the same session (two tabs refreshing at once); 0 turns that off. */
    readonly refreshReuseGraceSeconds: number;
    /** Password hashes (scrypt, 128 MiB each) computed at once, and how many more may wait. */
    readonly hashConcurrency: number;
    readonly hashQueue: number;
  };
  readonly bodyLimitBytes: number;
  readonly runs: {
    /** An open (sharded) run with no new upload for this long is closed by the sweep. */
    readonly quietSeconds: number;
  };
  readonly jobs: {
    /** Run background workers in this process (`serve`); `gatehouse worker` always does. */
    readonly worker: boolean;
    /** A job still active this long after it started (its worker died) is failed and retried. */
    readonly expireSeconds: number;
    /** How often expired jobs are looked for; with expireSeconds, bounds a crashed job's return. */
    readonly maintenanceSeconds: number;
    readonly retryLimit: number;
    /** First retry delay; each further retry waits twice as long (exponential backoff). */
    readonly retryDelaySeconds: number;
    /** How often a worker asks for new jobs. */
    readonly pollSeconds: number;
  };
  readonly outbound: {
    /** Let webhooks and GitHub `apiUrl` reach loopback and private addresses (local setups, tests). */
    readonly allowPrivate: boolean;
  };
  /** The dashboard's server side (issue 13). */
  readonly web: {
    /** The built single-page app (Vite's output); a short page links /docs until it exists. */
    readonly distDir: string;
    /** Fastify's trustProxy: believe X-Forwarded-Proto/-For from this proxy (cookies get
     *  `Secure` when the original request was https). false, true (any) or addresses. */
    readonly trustProxy: boolean | string;
  };
  readonly events: {
    /** Open live event streams per org, and per user, in one process. */
    readonly maxStreamsPerOrg: number;
    readonly maxStreamsPerUser: number;
    readonly heartbeatSeconds: number;
    /** How long a one-time stream ticket stays valid. */
    readonly ticketSeconds: number;
  };
  readonly uploads: {
    readonly maxBytes: number;
    readonly textCap: number;
    readonly maxDepth: number;
    readonly maxAttributeLength: number;
    readonly maxNameLength: number;
    /** Uploads worked on at once (each holds a pooled connection): below the pool size, so
     *  reads always find a connection. */
    readonly concurrency: number;
    /** Uploads that may wait for a slot (holding nothing); past it, 429 with Retry-After. */
    readonly queue: number;
  };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n- ${problems.join('\n- ')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/** Parses the environment once; reports every problem at once. */
export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = [];

  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${name} must be an integer from ${min} to ${max} (got "${raw}")`);
      return fallback;
    }
    return n;
  };

  const port = int('PORT', 3000, 0, 65535);
  const host = env['HOST'] || '127.0.0.1';
  const databaseUrl = env['DATABASE_URL'] || undefined;
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    problems.push('DATABASE_URL must be a postgres:// or postgresql:// URL');
  }
  const dataDir = path.resolve(env['GATEHOUSE_DATA_DIR'] || './.gatehouse');
  const secret = env['GATEHOUSE_SECRET'] || undefined;
  if (databaseUrl !== undefined && secret === undefined) {
    problems.push('GATEHOUSE_SECRET is required when DATABASE_URL is set (at least 32 characters)');
  }
  if (secret !== undefined && secret.length < 32) {
    problems.push('GATEHOUSE_SECRET must be at least 32 characters');
  }
  const publicUrlRaw = env['GATEHOUSE_PUBLIC_URL'] || `http://${host}:${port}`;
  let publicUrl = publicUrlRaw.replace(/\/+$/, '');
  try {
    new URL(publicUrl);
  } catch {
    problems.push(`GATEHOUSE_PUBLIC_URL must be an absolute URL (got "${publicUrlRaw}")`);
    publicUrl = 'http://127.0.0.1:3000';
  }
  const logLevel = env['LOG_LEVEL'] || 'info';
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) {
    problems.push(`LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent`);
  }
  const demo = env['GATEHOUSE_DEMO'] !== '0';
  const allowPrivate = env['GATEHOUSE_OUTBOUND_ALLOW_PRIVATE'] ?? '';
  if (!['', '0', '1'].includes(allowPrivate)) {
    problems.push(`GATEHOUSE_OUTBOUND_ALLOW_PRIVATE must be 0 or 1 (got "${allowPrivate}")`);
  }

  // scrypt runs on libuv's thread pool (4 threads): leave a thread for files and DNS.
  const hashConcurrency = int(
    'GATEHOUSE_PASSWORD_HASH_CONCURRENCY',
    Math.max(1, Math.min(os.availableParallelism(), 3)),
    1,
    64,
  );

  const poolMax = int('DATABASE_POOL_MAX', 10, 1, 1000);
  // An upload holds a connection for its whole transaction and keeps a core busy parsing
  // (and PostgreSQL another storing it): by default one fewer than the cores, so reads keep
  // a core (`npm run bench load` on 2 cores: read p99 190 ms during 100 uploads with 2 at
  // once, 81 ms with 1), and never more than half the pool.
  const uploadConcurrency = int(
    'GATEHOUSE_UPLOAD_CONCURRENCY',
    Math.max(1, Math.min(os.availableParallelism() - 1, Math.floor(poolMax / 2))),
    1,
    1000,
  );
  if (poolMax > 1 && uploadConcurrency >= poolMax) {
    problems.push(
      `GATEHOUSE_UPLOAD_CONCURRENCY must be less than DATABASE_POOL_MAX (${poolMax}), so reads keep a connection (got ${uploadConcurrency})`,
    );
  }

  const config: Config = {
    port,
    host,
    databaseUrl,
    dataDir,
    publicUrl,
    secret,
    logLevel,
    demo,
    metricsToken: env['GATEHOUSE_METRICS_TOKEN'] || undefined,
    db: {
      poolMax,
      statementTimeoutMs: int('DATABASE_STATEMENT_TIMEOUT_MS', 30_000, 100, 3_600_000),
      connectionTimeoutMs: int('DATABASE_CONNECTION_TIMEOUT_MS', 5_000, 100, 600_000),
    },
    auth: {
      issuer: publicUrl,
      audience: 'gatehouse',
      accessTokenTtlSeconds: 600,
      sessionIdleSeconds: int('SESSION_IDLE_SECONDS', 7 * 24 * 3600, 60, 365 * 24 * 3600),
      sessionAbsoluteSeconds: int('SESSION_ABSOLUTE_SECONDS', 30 * 24 * 3600, 60, 3650 * 24 * 3600),
      loginMaxFailures: int('LOGIN_MAX_FAILURES', 10, 1, 1000),
      loginWindowSeconds: int('LOGIN_WINDOW_SECONDS', 900, 1, 86400),
      refreshReuseGraceSeconds: int('GATEHOUSE_REFRESH_REUSE_GRACE_SECONDS', 5, 0, 300),
      hashConcurrency,
      hashQueue: int('GATEHOUSE_PASSWORD_HASH_QUEUE', hashConcurrency * 8, 0, 10_000),
    },
    bodyLimitBytes: int('BODY_LIMIT_BYTES', 1024 * 1024, 1024, 1024 * 1024 * 1024),
    runs: {
      quietSeconds: int('GATEHOUSE_RUN_QUIET_SECONDS', 600, 1, 7 * 24 * 3600),
    },
    jobs: {
      worker: env['GATEHOUSE_WORKER'] !== '0',
      expireSeconds: int('GATEHOUSE_JOB_EXPIRE_SECONDS', 120, 1, 23 * 3600),
      maintenanceSeconds: int('GATEHOUSE_JOB_MAINTENANCE_SECONDS', 30, 1, 3600),
      retryLimit: int('GATEHOUSE_JOB_RETRY_LIMIT', 5, 0, 100),
      retryDelaySeconds: int('GATEHOUSE_JOB_RETRY_DELAY_SECONDS', 5, 1, 3600),
      pollSeconds: int('GATEHOUSE_JOB_POLL_SECONDS', 2, 1, 600),
    },
    outbound: {
      allowPrivate: allowPrivate === '1',
    },
    web: {
      distDir: path.resolve(
        env['GATEHOUSE_WEB_DIST'] || path.join(import.meta.dirname, '..', 'web', 'dist'),
      ),
      trustProxy: parseTrustProxy(env['GATEHOUSE_TRUST_PROXY'], problems),
    },
    events: {
      maxStreamsPerOrg: int('GATEHOUSE_EVENTS_MAX_PER_ORG', 200, 1, 100_000),
      maxStreamsPerUser: int('GATEHOUSE_EVENTS_MAX_PER_USER', 10, 1, 1000),
      heartbeatSeconds: int('GATEHOUSE_EVENTS_HEARTBEAT_SECONDS', 20, 1, 3600),
      ticketSeconds: int('GATEHOUSE_EVENTS_TICKET_SECONDS', 60, 5, 3600),
    },
    uploads: {
      maxBytes: int('GATEHOUSE_MAX_UPLOAD_BYTES', 256 * 1024 * 1024, 1024, 16 * 1024 * 1024 * 1024),
      textCap: int('GATEHOUSE_RESULT_TEXT_CAP', 64 * 1024, 256, 16 * 1024 * 1024),
      maxDepth: int('GATEHOUSE_XML_MAX_DEPTH', 64, 4, 10_000),
      maxAttributeLength: int('GATEHOUSE_XML_MAX_ATTRIBUTE', 64 * 1024, 256, 64 * 1024 * 1024),
      maxNameLength: int('GATEHOUSE_XML_MAX_NAME', 1024, 16, 1024 * 1024),
      concurrency: uploadConcurrency,
      queue: int('GATEHOUSE_UPLOAD_QUEUE', uploadConcurrency * 16, 0, 100_000),
    },
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(config);
}

/** GATEHOUSE_TRUST_PROXY: unset or 0 (trust nobody), 1/true (any proxy), or its addresses/CIDRs. */
function parseTrustProxy(raw: string | undefined, problems: string[]): boolean | string {
  if (raw === undefined || raw === '' || raw === '0' || raw === 'false') return false;
  if (raw === '1' || raw === 'true') return true;
  if (/^[0-9a-fA-F.:/, ]+$/.test(raw)) return raw;
  problems.push(
    `GATEHOUSE_TRUST_PROXY must be 0, 1 or comma-separated proxy addresses (got "${raw}")`,
  );
  return false;
}
