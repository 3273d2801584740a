/**
 * A worker process that takes one `test-crash` job and hangs in it until it is killed: the
 * job is left active in the queue as a worker that died mid-job leaves it. Prints
 * "started <job id>" once it has the job. Env: DATABASE_URL and the GATEHOUSE_JOB_* settings.
 */
import pino from 'pino';
import { loadConfig } from '../../src/config.ts';
import { connect } from '../../src/db/connection.ts';
import { startWorker } from '../../src/jobs/worker.ts';
import { systemClock } from '../../src/lib/clock.ts';
import { createSecretBox } from '../../src/lib/secret-box.ts';

const config = loadConfig(process.env);
const logger = pino({ level: 'silent' });
const database = connect(config.databaseUrl!, config.db, logger);
await startWorker(
  {
    db: database.db,
    pool: database.pool,
    config,
    clock: systemClock,
    box: createSecretBox(process.env['GATEHOUSE_SECRET']!),
    logger,
  },
  {
    'test-crash': (job) => {
      process.stdout.write(`started ${job.id}\n`);
      return new Promise(() => undefined);
    },
  },
);
process.stdout.write('ready\n');
