import { sql, type Kysely } from 'kysely';
import type { DB } from '../../src/db/types.ts';

/**
 * Results stored (of one run, or all): each test's first occurrence is a status byte in
 * run_blocks, each repeat a duplicate row in result_details. Read as the owner (no RLS).
 */
export async function storedResults(db: Kysely<DB>, runId?: string): Promise<number> {
  const run = runId === undefined ? sql`true` : sql`run_id = ${runId}`;
  const { rows } = await sql<{ n: string }>`
    SELECT (SELECT count(*) FROM run_blocks, generate_series(0, 255) AS i
            WHERE ${run} AND get_byte(statuses, i) <> 0)
         + (SELECT count(*) FROM result_details WHERE ${run} AND duplicate) AS n`.execute(db);
  return Number(rows[0]!.n);
}
