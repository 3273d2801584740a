import pino, { type Logger } from 'pino';
import { loadConfig, type Config } from '../../src/config.ts';
import { connect, type Database } from '../../src/db/connection.ts';
import { prepareDatabase } from '../../src/db/storage.ts';
import type { App } from '../../src/http/types.ts';
import { createSecretBox, type SecretBox } from '../../src/lib/secret-box.ts';
import { manualClock, type ManualClock } from '../../src/lib/clock.ts';
import type { KeyStore } from '../../src/modules/auth/signing-keys.ts';
import { appOn } from '../../src/runtime.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';

export const TEST_SECRET = 'test-secret-test-secret-test-secret-0123456789';

export interface TestApp {
  app: App;
  database: Database;
  config: Config;
  keys: KeyStore;
  box: SecretBox;
  /** The app's clock: stands still until a test moves it. */
  clock: ManualClock;
  testDb: TestDatabase;
  close(): Promise<void>;
}

/** The real app on a fresh, migrated database of its own. */
export async function startTestApp(
  env: Record<string, string> = {},
  opts: { databaseUrl?: (realUrl: string) => Promise<string>; logger?: Logger } = {},
): Promise<TestApp> {
  const testDb = await createTestDatabase();
  const config = loadConfig({
    DATABASE_URL: opts.databaseUrl ? await opts.databaseUrl(testDb.url) : testDb.url,
    GATEHOUSE_SECRET: TEST_SECRET,
    GATEHOUSE_PUBLIC_URL: 'http://gatehouse.test',
    LOG_LEVEL: 'silent',
    ...env,
  });
  const logger = opts.logger ?? pino({ level: 'silent' });
  // Migrations run on the database itself even when the app reaches it through a proxy.
  const owner = connect(testDb.url, config.db, logger);
  const box = createSecretBox(TEST_SECRET);
  await prepareDatabase(owner, box, logger, config.jobs);
  await owner.close();
  const database = connect(config.databaseUrl!, config.db, logger);
  const clock = manualClock();
  const { app, keys } = await appOn({ config, database, box, logger, clock });
  await app.ready();
  return {
    app,
    database,
    config,
    keys,
    box,
    clock,
    testDb,
    async close() {
      await app.close();
      await database.close();
      await testDb.drop();
    },
  };
}
