import type { Kysely } from 'kysely';
import type PgBoss from 'pg-boss';
import type pg from 'pg';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import type { Config } from '../config.ts';
import type { DB } from '../db/types.ts';
import { NotFound } from '../errors.ts';
import type { Clock } from '../lib/clock.ts';
import type { SecretBox } from '../lib/secret-box.ts';
import type { OutboundEvent } from '../modules/webhooks/events.ts';
import { createBoss, queueOptions, QUEUES } from './queue.ts';
import type { DueJob } from './due-work.queries.ts';
import { closeQuietRun } from './run-close.ts';
import { syncIssueComment } from './github-sync.ts';
import { setCommitStatus } from './github-status.ts';
import type { GithubStatusJob, GithubSyncJob } from '../modules/github/github.hooks.ts';
import { fanOutEvent, type DeliverJob } from './webhook-fanout.ts';
import { deliverWebhook } from './webhook-deliver.ts';
import { rejudgeIssue } from './issue-rejudge.ts';
import { fireDueCheckpoint } from './checkpoint-due.ts';
import { tickEscalationClock } from './escalation-clock.ts';
import { sweep } from './sweep.ts';
import { enforceRetention } from './retention.ts';
import { autoQuarantine, expireQuarantines } from './quarantine-auto.ts';

export type JobHandler = (job: PgBoss.JobWithMetadata<object>) => Promise<unknown>;

export interface WorkerDeps {
  db: Kysely<DB>;
  pool: pg.Pool;
  config: Pick<Config, 'jobs' | 'runs' | 'outbound' | 'publicUrl'>;
  clock: Clock;
  /** Decrypts secrets at rest (webhook secrets, GitHub tokens) for outbound calls. */
  box: SecretBox;
  logger: Logger;
  /** Where the dead-job counter is registered (the app's /metrics registry when in-process). */
  registry?: Registry;
}

/** Gatehouse's own jobs, by queue. */
export function jobHandlers(deps: WorkerDeps): Record<string, JobHandler> {
  return {
    [QUEUES.webhookFanout]: (job) =>
      fanOutEvent(deps, { id: job.id, data: job.data as OutboundEvent }),
    [QUEUES.webhookDeliver]: async (job) => ({
      outcome: await deliverWebhook(deps, { ...job, data: job.data as DeliverJob }),
    }),
    [QUEUES.githubSync]: (job) =>
      syncIssueComment(deps, { id: job.id, data: job.data as GithubSyncJob }),
    [QUEUES.githubStatus]: (job) =>
      setCommitStatus(deps, { id: job.id, data: job.data as GithubStatusJob }),
    [QUEUES.sweep]: async () => {
      const taken = await sweep(deps);
      if (taken.length > 0) deps.logger.info({ items: taken.length }, 'sweep enqueued due work');
      return { taken: taken.length };
    },
    [QUEUES.runClose]: async (job) => {
      try {
        return {
          outcome: await closeQuietRun(deps, { id: job.id, data: job.data as DueJob }),
        };
      } catch (err) {
        // The org is gone (deleted): nothing to close, and retrying will not bring it back.
        if (err instanceof NotFound) return { outcome: 'org-gone' };
        throw err;
      }
    },
    [QUEUES.issueRejudge]: async (job) => {
      try {
        return { outcome: await rejudgeIssue(deps, { id: job.id, data: job.data as DueJob }) };
      } catch (err) {
        if (err instanceof NotFound) return { outcome: 'org-gone' };
        throw err;
      }
    },
    [QUEUES.escalationClock]: async (job) => {
      try {
        return {
          outcome: await tickEscalationClock(deps, { id: job.id, data: job.data as DueJob }),
        };
      } catch (err) {
        if (err instanceof NotFound) return { outcome: 'org-gone' };
        throw err;
      }
    },
    [QUEUES.quarantineExpiry]: async (job) => {
      try {
        return {
          outcome: await expireQuarantines(deps, { id: job.id, data: job.data as DueJob }),
        };
      } catch (err) {
        if (err instanceof NotFound) return { outcome: 'org-gone' };
        throw err;
      }
    },
    [QUEUES.quarantineAuto]: (job) => autoQuarantine(deps, { id: job.id }),
    [QUEUES.retention]: (job) => enforceRetention(deps, { id: job.id }),
    [QUEUES.checkpointDue]: async (job) => {
      try {
        return {
          outcome: await fireDueCheckpoint(deps, { id: job.id, data: job.data as DueJob }),
        };
      } catch (err) {
        if (err instanceof NotFound) return { outcome: 'org-gone' };
        throw err;
      }
    },
  };
}

export interface Worker {
  readonly boss: PgBoss;
  /** Lets running jobs finish (up to `timeoutMs`), then hands unfinished ones back for retry. */
  stop(timeoutMs?: number): Promise<void>;
}

/**
 * Starts workers for every queue in `handlers` (default: Gatehouse's own) and the sweep's
 * schedule (every minute). Any number of processes may run workers on one database: each
 * job is fetched by one of them (SKIP LOCKED), and a job whose worker died comes back after
 * `jobs.expireSeconds`, found within `jobs.maintenanceSeconds`.
 */
export async function startWorker(
  deps: WorkerDeps,
  handlers?: Record<string, JobHandler>,
): Promise<Worker> {
  const { config, logger } = deps;
  const boss = createBoss(deps.pool, config.jobs, { supervise: true });
  boss.on('error', (err) => logger.error({ err }, 'job queue error'));
  await boss.start();
  const dead = new Counter({
    name: 'gatehouse_jobs_dead_total',
    help: 'Jobs that failed on their last allowed attempt and will not be retried, by queue',
    labelNames: ['queue'] as const,
    registers: deps.registry === undefined ? [] : [deps.registry],
  });
  const all = handlers ?? jobHandlers(deps);
  try {
    for (const [queue, handle] of Object.entries(all)) {
      if ((await boss.getQueue(queue)) === null)
        await boss.createQueue(queue, { name: queue, ...queueOptions(config.jobs) });
      // pg-boss waits a whole polling interval after every fetch, jobs found or not: one
      // job per queue every `pollSeconds` (658 webhook fan-outs of `npm run bench history`'s
      // build-up were still queued 23 minutes after it). After a job, the worker is notified
      // so it fetches the next one at once; it waits for the interval only once the queue is
      // empty.
      const worker: { id?: string } = {};
      worker.id = await boss.work<object>(
        queue,
        { includeMetadata: true, batchSize: 1, pollingIntervalSeconds: config.jobs.pollSeconds },
        async ([job]) => {
          if (job === undefined) return undefined;
          if (worker.id !== undefined) boss.notifyWorker(worker.id);
          try {
            return await handle(job);
          } catch (err) {
            const final = job.retryCount >= job.retryLimit;
            if (final) dead.inc({ queue });
            logger[final ? 'error' : 'warn'](
              { err, queue, job: job.id, attempt: job.retryCount + 1, of: job.retryLimit + 1 },
              final ? 'job failed for good (dead)' : 'job failed; it will be retried',
            );
            throw err;
          }
        },
      );
    }
    if (QUEUES.sweep in all) await boss.schedule(QUEUES.sweep, '* * * * *');
    // Daily, at quiet hours (UTC): automatic quarantine, then retention.
    if (QUEUES.quarantineAuto in all) await boss.schedule(QUEUES.quarantineAuto, '10 3 * * *');
    if (QUEUES.retention in all) await boss.schedule(QUEUES.retention, '40 3 * * *');
  } catch (err) {
    await boss.stop({ graceful: false, close: false });
    throw err;
  }
  return {
    boss,
    stop: (timeoutMs = 30_000) =>
      boss.stop({ graceful: true, timeout: timeoutMs, close: false, wait: true }),
  };
}
