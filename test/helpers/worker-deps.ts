import pino from 'pino';
import type { WorkerDeps } from '../../src/jobs/worker.ts';
import type { TestApp } from './app.ts';

/** What a worker (or jobHandlers) running on the test app needs; its logger silent unless given. */
export function workerDeps(
  t: TestApp,
  logger: pino.Logger = pino({ level: 'silent' }),
): WorkerDeps {
  return {
    db: t.database.db,
    pool: t.database.pool,
    config: t.config,
    clock: t.clock,
    box: t.box,
    logger,
  };
}
