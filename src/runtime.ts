import type { Logger } from 'pino';
import type { Config } from './config.ts';
import type { Database } from './db/connection.ts';
import { openStorage, type Storage } from './db/storage.ts';
import { buildApp } from './http/app.ts';
import type { App } from './http/types.ts';
import { systemClock, type Clock } from './lib/clock.ts';
import type { SecretBox } from './lib/secret-box.ts';
import { createKeyStore, type KeyStore } from './modules/auth/signing-keys.ts';

/** The app on an open database: signing keys loaded, every module's routes registered. */
export async function appOn(deps: {
  config: Config;
  database: Database;
  box: SecretBox;
  logger: Logger;
  clock?: Clock;
}): Promise<{ app: App; keys: KeyStore }> {
  const keys = createKeyStore({
    db: deps.database.db,
    box: deps.box,
    tokenTtlSeconds: deps.config.auth.accessTokenTtlSeconds,
  });
  await keys.reload();
  const app = await buildApp({
    config: deps.config,
    database: deps.database,
    logger: deps.logger,
    keys,
    clock: deps.clock ?? systemClock,
  });
  return { app, keys };
}

export interface Runtime {
  app: App;
  keys: KeyStore;
  storage: Storage;
  close(): Promise<void>;
}

/** Storage (migrated; the embedded server when there is no DATABASE_URL) and the app on it. */
export async function openRuntime(config: Config, logger: Logger): Promise<Runtime> {
  const storage = await openStorage(config, logger, { migrate: true });
  try {
    const { app, keys } = await appOn({
      config,
      database: storage.database,
      box: storage.box,
      logger,
    });
    return {
      app,
      keys,
      storage,
      async close() {
        try {
          await app.close();
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
