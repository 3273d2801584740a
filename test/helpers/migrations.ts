import { Migrator, type Kysely } from 'kysely';
import type { DB } from '../../src/db/types.ts';
import { expect } from 'vitest';
import { migrations } from '../../src/db/migrate.ts';

/** Takes one migration back out (its own down) and forgets it ran. */
export async function migrateOut(db: Kysely<DB>, name: string): Promise<void> {
  await migrations[name]!.down!(db);
  await db
    .deleteFrom('kysely_migration' as never)
    .where('name' as never, '=', name as never)
    .execute();
}

/** Runs the migrations that have not run (out of order), expecting exactly `name` to run. */
export async function migrateBackIn(db: Kysely<DB>, name: string): Promise<void> {
  const migrator = new Migrator({
    db: db,
    provider: { getMigrations: () => Promise.resolve(migrations) },
    allowUnorderedMigrations: true,
  });
  const { error, results } = await migrator.migrateToLatest();
  expect(error).toBeUndefined();
  expect(results?.map((r) => [r.migrationName, r.status])).toEqual([[name, 'Success']]);
}
