import type { Kysely } from 'kysely';
import { withOrgAsSystem, withSystem } from '../db/system.ts';
import type { DB } from '../db/types.ts';
import type { Clock } from '../lib/clock.ts';
import {
  deleteBlocksBatch,
  deleteDetailsBatch,
  markThinned,
  projectsOfOrg,
  runsToThin,
} from '../modules/tests/tests.queries.ts';

const DAY = 86_400_000;
/** Rows deleted per transaction: each batch commits on its own, holding row locks briefly. */
export const RETENTION_BATCH = 2000;

export interface RetentionOutcome {
  projects: number;
  detailsDeleted: number;
  blocksDeleted: number;
  runsThinned: number;
}

/** Live orgs: the one read across tenants here (orgs is not a tenant table). */
async function liveOrgs(db: Kysely<DB>): Promise<string[]> {
  const rows = await withSystem(db, (trx) =>
    trx.selectFrom('orgs').select('id').where('deleted_at', 'is', null).orderBy('id').execute(),
  );
  return rows.map((r) => r.id);
}

/**
 * One run's details (or blocks and details) removed in small transactions of their own,
 * then the run marked: uploads, which write other runs' rows, never wait on them. Safe to
 * run again after a crash: what is gone stays gone, and the mark comes last.
 */
async function thinRun(
  deps: { db: Kysely<DB> },
  orgId: string,
  runId: string,
  what: 'details' | 'results',
  now: Date,
  why: { reason: string; jobId?: string },
  out: RetentionOutcome,
): Promise<void> {
  const step = (fn: Parameters<typeof withOrgAsSystem<number>>[3]) =>
    withOrgAsSystem(deps.db, orgId, why, fn);
  for (;;) {
    const n = await step((trx) => deleteDetailsBatch(trx, orgId, runId, RETENTION_BATCH));
    out.detailsDeleted += n;
    if (n < RETENTION_BATCH) break;
  }
  if (what === 'results')
    for (;;) {
      const n = await step((trx) => deleteBlocksBatch(trx, orgId, runId, RETENTION_BATCH));
      out.blocksDeleted += n;
      if (n < RETENTION_BATCH) break;
    }
  await step(async (trx) => {
    await markThinned(trx, orgId, runId, what, now);
    return 0;
  });
  out.runsThinned++;
}

/**
 * The daily retention pass over every project: result details of runs completed more than
 * `details_days` ago are deleted, and per-result history (blocks) of runs completed more
 * than `results_days` ago. Run totals, trends and gate history stay. `clock.now()` is the
 * reference, so tests move the clock instead of waiting.
 */
export async function enforceRetention(
  deps: { db: Kysely<DB>; clock: Clock },
  job: { id?: string } = {},
): Promise<RetentionOutcome> {
  const now = deps.clock.now();
  const out: RetentionOutcome = {
    projects: 0,
    detailsDeleted: 0,
    blocksDeleted: 0,
    runsThinned: 0,
  };
  const why = {
    reason: 'retention: result details and history past the project retention',
    ...(job.id === undefined ? {} : { jobId: job.id }),
  };
  for (const orgId of await liveOrgs(deps.db)) {
    const projects = await withOrgAsSystem(deps.db, orgId, why, (trx) => projectsOfOrg(trx, orgId));
    for (const p of projects) {
      out.projects++;
      for (const what of ['results', 'details'] as const) {
        const days = what === 'results' ? p.results_days : p.details_days;
        const before = new Date(now.getTime() - days * DAY);
        for (;;) {
          const runs = await withOrgAsSystem(deps.db, orgId, why, (trx) =>
            runsToThin(trx, orgId, p.id, what, before, 100),
          );
          for (const runId of runs) await thinRun(deps, orgId, runId, what, now, why, out);
          if (runs.length < 100) break;
        }
      }
    }
  }
  return out;
}
