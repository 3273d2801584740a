import type { Logger } from 'pino';
import type { Config } from './config.ts';
import type { Database } from './db/connection.ts';
import { openStorage, type Storage } from './db/storage.ts';
import { buildApp } from './http/app.ts';
import type { App } from './http/types.ts';
import { systemClock, type Clock } from './lib/clock.ts';
import type { SecretBox } from './lib/secret-box.ts';
import { startWorker, type Worker } from './jobs/worker.ts';
import { createKeyStore, type KeyStore } from './modules/auth/signing-keys.ts';

/** The app on an open database: signing keys loaded, every module's routes registered. */
export async function appOn(deps: {
  config: Config;
  database: Database;
  box: SecretBox;
  logger: Logger;
  clock?: Clock;
}): Promise<{ app: App; keys: KeyStore }> {
  const clock = deps.clock ?? systemClock;
  const keys = createKeyStore({
    db: deps.database.db,
    box: deps.box,
    tokenTtlSeconds: deps.config.auth.accessTokenTtlSeconds,
    clock,
  });
  await keys.reload();
  const app = await buildApp({
    config: deps.config,
    database: deps.database,
    logger: deps.logger,
    keys,
    clock,
    box: deps.box,
  });
  return { app, keys };
}

export interface Runtime {
  app: App;
  keys: KeyStore;
  storage: Storage;
  /** The in-process job worker; null with GATEHOUSE_WORKER=0. */
  worker: Worker | null;
  close(): Promise<void>;
}

/**
 * Storage (migrated; the embedded server when there is no DATABASE_URL), the app on it, and
 * the job worker unless GATEHOUSE_WORKER=0. Closing lets running jobs finish first.
 */
export async function openRuntime(config: Config, logger: Logger): Promise<Runtime> {
  const storage = await openStorage(config, logger, { migrate: true });
  let worker: Worker | null = null;
  try {
    const { app, keys } = await appOn({
      config,
      database: storage.database,
      box: storage.box,
      logger,
    });
    if (config.jobs.worker) {
      worker = await startWorker({
        db: storage.database.db,
        pool: storage.database.pool,
        config,
        clock: systemClock,
        box: storage.box,
        logger: logger.child({ component: 'worker' }),
        registry: app.metricsRegistry,
      });
    }
    return {
      app,
      keys,
      storage,
      worker,
      async close() {
        try {
          await worker?.stop();
          await app.close();
        } finally {
          await storage.close();
        }
      },
    };
  } catch (err) {
    await worker?.stop(0);
    await storage.close();
    throw err;
  }
}

/** `gatehouse worker`: storage and job workers only, no HTTP. */
export async function openWorkerRuntime(
  config: Config,
  logger: Logger,
): Promise<{ worker: Worker; close(): Promise<void> }> {
  const storage = await openStorage(config, logger, { migrate: true });
  try {
    const worker = await startWorker({
      db: storage.database.db,
      pool: storage.database.pool,
      config,
      clock: systemClock,
      box: storage.box,
      logger: logger.child({ component: 'worker' }),
    });
    return {
      worker,
      async close() {
        try {
          await worker.stop();
        } finally {
          await storage.close();
        }
      },
    };
  } catch (err) {
    await storage.close();
    throw err;
  }
}
