import { Migrator, type Kysely, type Migration } from 'kysely';
import * as foundation from './migrations/0001_foundation.ts';
import * as runs from './migrations/0002_runs.ts';
import * as quality from './migrations/0003_quality.ts';
import * as runLifecycle from './migrations/0004_run_lifecycle.ts';
import * as coordination from './migrations/0005_coordination.ts';
import * as githubLookup from './migrations/0010_github_lookup.ts';
import * as compactResults from './migrations/0011_compact_results.ts';
import * as authConcurrency from './migrations/0012_auth_concurrency.ts';
import * as badges from './migrations/0013_badges.ts';
import * as history from './migrations/0014_history.ts';
import * as testsKeyOrder from './migrations/0015_tests_key_order.ts';
import * as testRegistrations from './migrations/0016_test_registrations.ts';
import * as runDayTotals from './migrations/0017_run_day_totals.ts';
import * as testsKeyHash from './migrations/0018_tests_key_hash.ts';
import * as tenantDoor from './migrations/0019_tenant_door.ts';

export const migrations: Record<string, Migration> = {
  '0001_foundation': foundation,
  '0002_runs': runs,
  '0003_quality': quality,
  '0004_run_lifecycle': runLifecycle,
  '0005_coordination': coordination,
  '0010_github_lookup': githubLookup,
  '0011_compact_results': compactResults,
  '0012_auth_concurrency': authConcurrency,
  '0013_badges': badges,
  '0014_history': history,
  '0015_tests_key_order': testsKeyOrder,
  '0016_test_registrations': testRegistrations,
  '0017_run_day_totals': runDayTotals,
  '0018_tests_key_hash': testsKeyHash,
  '0019_tenant_door': tenantDoor,
};

/**
 * Runs pending migrations as the owner role. Kysely's Postgres adapter takes an
 * advisory lock around the run, so two processes starting at once are safe.
 */
export async function migrateToLatest(db: Kysely<unknown>): Promise<string[]> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: () => Promise.resolve(migrations) },
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error !== undefined)
    throw error instanceof Error ? error : new Error(`migration failed: ${JSON.stringify(error)}`);
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
