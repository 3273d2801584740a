import type { Config } from './config.ts';
import { createDemoIfEmpty } from './demo.ts';
import { createLogger } from './logger.ts';
import { openRuntime, openWorkerRuntime } from './runtime.ts';

/** `gatehouse serve`: storage, migrations, the HTTP server, and a clean stop on SIGINT/SIGTERM. */
export async function serve(config: Config): Promise<void> {
  const logger = createLogger(config.logLevel);
  const runtime = await openRuntime(config, logger);
  const { app, storage } = runtime;

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    // While closing, a library's own unawaited promise (a job queue query racing the pool's
    // end) must not turn a clean stop into a crash: log it and finish the stop.
    process.on('unhandledRejection', (err) =>
      logger.warn({ err }, 'ignored while stopping: a rejected promise nobody awaited'),
    );
    try {
      await runtime.close();
    } catch (err) {
      logger.error({ err }, 'stopping failed');
      process.exit(1);
    }
    logger.info('stopped');
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));

  if (storage.embedded && config.demo) {
    const demo = await createDemoIfEmpty(app, storage.database.db);
    if (demo !== null) {
      process.stdout.write(
        `\nDemo organization "${demo.org}" created. Sign in once with:\n  email:    ${demo.email}\n  password: ${demo.password}\n` +
          `(shown only now; GATEHOUSE_DEMO=0 turns this off)\n\n`,
      );
    }
  }
  const address = await app.listen({ port: config.port, host: config.host });
  logger.info(
    {
      address,
      docs: `${address}/docs`,
      embedded: storage.embedded,
      worker: runtime.worker !== null,
    },
    'Gatehouse is serving',
  );
}

/**
 * `gatehouse worker`: job workers without HTTP. SIGTERM lets running jobs finish (30 s),
 * then hands the rest back to the queue for another worker.
 */
export async function runWorker(config: Config): Promise<void> {
  const logger = createLogger(config.logLevel);
  const runtime = await openWorkerRuntime(config, logger);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping the worker');
    process.on('unhandledRejection', (err) =>
      logger.warn({ err }, 'ignored while stopping: a rejected promise nobody awaited'),
    );
    await runtime.close();
    logger.info('worker stopped');
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
  logger.info('Gatehouse worker is running');
}
