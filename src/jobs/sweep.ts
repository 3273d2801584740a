import type { Kysely } from 'kysely';
import { withSystem } from '../db/system.ts';
import type { DB } from '../db/types.ts';
import type { Clock } from '../lib/clock.ts';
import { claimDue, DUE_QUEUES, type DueItem, type DueJob } from './due-work.queries.ts';
import { enqueueJob } from './queue.ts';

const BATCH = 500;

/**
 * The periodic sweep: takes every item of time-based work due by `clock.now()` and enqueues
 * the job that handles it, in the transaction that takes it (a crash in between loses
 * nothing: both roll back). Tests call it with a moved clock.
 */
export async function sweep(deps: { db: Kysely<DB>; clock: Clock }): Promise<DueItem[]> {
  const { db, clock } = deps;
  const taken: DueItem[] = [];
  for (;;) {
    const items = await withSystem(db, async (trx) => {
      const due = await claimDue(trx, clock.now(), BATCH);
      for (const item of due) {
        const job: DueJob = { ...item, dueAt: item.dueAt.toISOString() };
        await enqueueJob(trx, DUE_QUEUES[item.kind], job);
      }
      return due;
    });
    taken.push(...items);
    if (items.length < BATCH) return taken;
  }
}
