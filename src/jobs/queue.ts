import { CompiledQuery, type Transaction } from 'kysely';
import PgBoss from 'pg-boss';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import { APP_ROLE } from '../db/app-role.ts';
import type { DB } from '../db/types.ts';

/** pg-boss keeps its tables in a schema of their own, created and migrated by pg-boss. */
export const JOB_SCHEMA = 'pgboss';

/** Every queue Gatehouse uses. A job name is its queue name. */
export const QUEUES = {
  /** Periodic: compares due work (quiet runs, and next escalation clocks) with the clock. */
  sweep: 'sweep',
  /** Closes one run that went quiet; enqueued by the sweep in the transaction that claims it. */
  runClose: 'run-close',
} as const;
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

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
        policy: name === QUEUES.sweep ? ('singleton' as const) : ('standard' as const),
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

export interface Enqueue {
  /** Enqueues a job inside `trx`: it exists only if the transaction commits. */
  (
    trx: Transaction<DB>,
    name: QueueName,
    data: object,
    options?: { singletonKey?: string; startAfterSeconds?: number },
  ): Promise<string>;
}

/** The enqueue door: pg-boss's own insert, run as the app role inside the caller's transaction. */
export function createEnqueue(boss: PgBoss, logger: Logger): Enqueue {
  return async (trx, name, data, options = {}) => {
    const id = await boss.send(name, data, {
      db: transactionAdapter(trx),
      ...(options.singletonKey === undefined ? {} : { singletonKey: options.singletonKey }),
      ...(options.startAfterSeconds === undefined ? {} : { startAfter: options.startAfterSeconds }),
    });
    if (id === null) {
      // A singleton already queued is not an error; anything else means the queue is missing.
      if (options.singletonKey !== undefined) return '';
      logger.error({ queue: name }, 'job was not enqueued: the queue does not exist');
      throw new Error(`job queue "${name}" does not exist; run "gatehouse migrate"`);
    }
    return id;
  };
}
