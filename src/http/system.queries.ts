import { sql } from 'kysely';
import type { Executor } from '../db/executor.ts';

/** One round trip to the database: the readiness check. */
export async function ping(db: Executor): Promise<void> {
  await sql`SELECT 1`.execute(db);
}
