import { CompiledQuery, type Transaction } from 'kysely';
import PgBoss from 'pg-boss';
import type pg from 'pg';
import type { Config } from '../config.ts';
import { APP_ROLE } from '../db/app-role.ts';
import type { DB } from '../db/types.ts';

/** pg-boss keeps its tables in a schema of their own, created and migrated by pg-boss. */
export const JOB_SCHEMA = 'pgboss';

/** Every queue Gatehouse uses. A job name is its queue name. */
export const QUEUES = {
  /** Periodic: compares due work (quiet runs, escalation clocks, checkpoints, overdue
   *  activities) with the clock and enqueues the job for each item due. */
  sweep: 'sweep',
  /** Closes one run that went quiet. */
  runClose: 'run-close',
  /** An escalation's response clock ran out: breach it, or level it up the chain. */
  escalationClock: 'escalation-clock',
  /** A checkpoint is due: record it, notify, schedule the next one. */
  checkpointDue: 'checkpoint-due',
  /** Something time-based changed an issue's facts (an activity went overdue): judge again. */
  issueRejudge: 'issue-rejudge',
  /** One event to every webhook of the org that subscribes to it. */
  webhookFanout: 'webhook-fanout',
  /** One delivery of one event to one webhook. */
  webhookDeliver: 'webhook-deliver',
  /** Create or update the issue's status comment on GitHub. */
  githubSync: 'github-sync',
  /** Set the commit status of a completed run on GitHub. */
  githubStatus: 'github-status',
  /** A project's test quarantine expired: judge its issues again. */
  quarantineExpiry: 'quarantine-expiry',
  /** Daily: quarantine tests flaky over history for `quarantine.afterDays` (where `auto`). */
  quarantineAuto: 'quarantine-auto',
  /** Daily: remove result details and per-result history past each project's retention. */
  retention: 'retention',
} as const;
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

/**
 * Queue policies other than standard: one sweep at a time; at most one waiting comment sync
 * per issue (its singletonKey), since a sync always sends the latest state.
 */
const POLICIES: Partial<Record<QueueName, 'singleton' | 'short'>> = {
  [QUEUES.sweep]: 'singleton',
  [QUEUES.githubSync]: 'short',
  [QUEUES.quarantineAuto]: 'singleton',
  [QUEUES.retention]: 'singleton',
};

/** What every queue is created with: retries with exponential backoff, a bounded expiry. */
export function queueOptions(jobs: Config['jobs']) {
  return {
    retryLimit: jobs.retryLimit,
    retryDelay: jobs.retryDelaySeconds,
    retryBackoff: true,
    expireInSeconds: jobs.expireSeconds,
    // Finished jobs are kept a week for inspection, then pg-boss deletes them.
    retentionMinutes: 7 * 24 * 60,
  };
}

/** pg-boss over one of our pg Pools (pg-boss then opens no connections of its own). */
export function poolAdapter(pool: pg.Pool): PgBoss.Db {
  return { executeSql: (text, values) => pool.query(text, values) };
}

/** pg-boss's statements inside our transaction: a job enqueued here commits or rolls back with it. */
function transactionAdapter(trx: Transaction<DB>): PgBoss.Db {
  return {
    executeSql: async (text, values) => {
      const result = await trx.executeQuery(CompiledQuery.raw(text, values as unknown[]));
      return { rows: result.rows };
    },
  };
}

export function createBoss(pool: pg.Pool, jobs: Config['jobs'], opts: { supervise: boolean }) {
  return new PgBoss({
    db: poolAdapter(pool),
    schema: JOB_SCHEMA,
    migrate: false,
    supervise: opts.supervise,
    schedule: opts.supervise,
    maintenanceIntervalSeconds: jobs.maintenanceSeconds,
  });
}

/**
 * Creates or migrates pg-boss's schema (pg-boss holds an advisory lock while it does), makes
 * every queue, and grants the app role exactly what enqueueing needs: to read the queue
 * list and insert a job (reading back only its id). Run as the owner, with migrations.
 */
export async function installJobQueue(pool: pg.Pool, jobs: Config['jobs']): Promise<void> {
  const boss = new PgBoss({
    db: poolAdapter(pool),
    schema: JOB_SCHEMA,
    migrate: true,
    supervise: false,
    schedule: false,
  });
  boss.on('error', () => undefined);
  await boss.start();
  try {
    for (const name of Object.values(QUEUES)) {
      const options = {
        name,
        ...queueOptions(jobs),
        policy: POLICIES[name] ?? ('standard' as const),
      };
      if ((await boss.getQueue(name)) === null) await boss.createQueue(name, options);
      else await boss.updateQueue(name, options);
    }
  } finally {
    await boss.stop({ graceful: false, close: false });
  }
  await pool.query(
    `GRANT USAGE ON SCHEMA ${JOB_SCHEMA} TO ${APP_ROLE};
     GRANT SELECT ON ${JOB_SCHEMA}.queue TO ${APP_ROLE};
     GRANT INSERT, SELECT (id) ON ${JOB_SCHEMA}.job TO ${APP_ROLE};`,
  );
}

export interface EnqueueOptions {
  singletonKey?: string;
  startAfterSeconds?: number;
}

export type Enqueue = (
  trx: Transaction<DB>,
  name: QueueName,
  data: object,
  options?: EnqueueOptions,
) => Promise<string>;

// pg-boss's own insert statement, built by an instance that never connects: every send goes
// through the caller's transaction (the `db` option), as the app role.
const statements = new PgBoss({
  db: { executeSql: () => Promise.reject(new Error('enqueue only inside a transaction')) },
  schema: JOB_SCHEMA,
});

/**
 * Enqueues a job inside `trx`: it exists only if the transaction commits. The queue's own
 * retry, backoff and expiry settings apply. With a singletonKey, a job already queued
 * under that key makes this a no-op (answered '').
 */
export const enqueueJob: Enqueue = async (trx, name, data, options = {}) => {
  const id = await statements.send(name, data, {
    db: transactionAdapter(trx),
    ...(options.singletonKey === undefined ? {} : { singletonKey: options.singletonKey }),
    ...(options.startAfterSeconds === undefined ? {} : { startAfter: options.startAfterSeconds }),
  });
  if (id !== null) return id;
  if (options.singletonKey !== undefined) return '';
  throw new Error(`job queue "${name}" does not exist; run "gatehouse migrate"`);
};
