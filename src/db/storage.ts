import path from 'node:path';
import type { Kysely } from 'kysely';
import pg from 'pg';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import { createSecretBox, type SecretBox } from '../lib/secret-box.ts';
import { checkAppRole } from './app-role.ts';
import { connect, type Database } from './connection.ts';
import { readOrCreateSecretFile, startEmbeddedPostgres } from './embedded.ts';
import { installJobQueue } from '../jobs/queue.ts';
import { migrateToLatest } from './migrate.ts';
import { addSigningKey, hasSigningKey } from './signing-key-store.ts';

export interface Storage {
  readonly database: Database;
  readonly box: SecretBox;
  readonly embedded: boolean;
  close(): Promise<void>;
}

async function ensureDatabase(adminUrl: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount === 0) await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end();
  }
}

/** Runs migrations, makes sure a signing key exists, and verifies the app role cannot bypass RLS. */
export async function prepareDatabase(
  database: Database,
  box: SecretBox,
  logger: Logger,
  jobs: Config['jobs'],
): Promise<void> {
  const db = database.db;
  const applied = await migrateToLatest(db as Kysely<unknown>);
  await installJobQueue(database.pool, jobs);
  if (applied.length > 0) logger.info({ migrations: applied }, 'applied migrations');
  if (!(await hasSigningKey(db)))
    logger.info({ kid: await addSigningKey(db, box) }, 'created the first signing key');
  const problems = await checkAppRole(db as Kysely<unknown>);
  if (problems.length > 0) {
    throw new Error(
      `refusing to serve: tenant isolation cannot be enforced:\n- ${problems.join('\n- ')}`,
    );
  }
}

/**
 * Opens storage: the server at DATABASE_URL, or the embedded PostgreSQL in the data directory
 * (which it starts, and stops again on close). Optionally migrates.
 */
export async function openStorage(
  config: Config,
  logger: Logger,
  opts: { migrate: boolean },
): Promise<Storage> {
  let url = config.databaseUrl;
  let stopEmbedded: (() => Promise<void>) | undefined;
  let secret = config.secret;
  if (url === undefined) {
    const server = await startEmbeddedPostgres(config.dataDir, logger);
    stopEmbedded = () => server.stop();
    try {
      await ensureDatabase(server.url, 'gatehouse');
      secret ??= await readOrCreateSecretFile(path.join(config.dataDir, 'secret'));
    } catch (err) {
      await server.stop();
      throw err;
    }
    url = server.url.replace(/\/postgres$/, '/gatehouse');
  }
  const database = connect(url, config.db, logger);
  const box = createSecretBox(secret!);
  const close = async () => {
    await database.close();
    await stopEmbedded?.();
  };
  try {
    if (opts.migrate) await prepareDatabase(database, box, logger, config.jobs);
  } catch (err) {
    await close();
    throw err;
  }
  return { database, box, embedded: stopEmbedded !== undefined, close };
}
