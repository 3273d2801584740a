import type { Config } from './config.ts';
import { demoLoginOnStart } from './demo.ts';
import { createLogger } from './logger.ts';
import { openRuntime, openWorkerRuntime } from './runtime.ts';
import { StartupError } from './startup-error.ts';

/** What a failed listen means for the person starting Gatehouse. */
function listenProblem(err: unknown, config: Config): Error {
  const where = `${config.host}:${config.port}`;
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE')
    return new StartupError(
      `port ${config.port} is already in use on ${config.host} (another Gatehouse or another server); ` +
        `stop it, or set PORT to a free port`,
    );
  if (code === 'EACCES')
    return new StartupError(
      `not allowed to listen on ${where}; set PORT to 1024 or above (or run with the privilege to bind it)`,
    );
  if (code === 'EADDRNOTAVAIL')
    return new StartupError(`cannot listen on ${where}: HOST is not an address of this machine`);
  return err instanceof Error ? err : new Error(String(err));
}

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

  let address: string;
  try {
    // Listen before anything is printed: a port in use must not cost the one-time login.
    address = await app.listen({ port: config.port, host: config.host });
  } catch (err) {
    await runtime.close().catch((closeErr: unknown) => logger.warn({ err: closeErr }, 'closing'));
    throw listenProblem(err, config);
  }
  if (storage.embedded && config.demo) {
    const demo = await demoLoginOnStart(app, storage.database.db).catch(async (err: unknown) => {
      // Stop the embedded server too: the error ends the process.
      await runtime.close().catch(() => undefined);
      throw err;
    });
    if (demo !== null) {
      process.stdout.write(
        `\nDemo organization "${demo.org}" is ready. Sign in once with:\n  email:    ${demo.email}\n  password: ${demo.password}\n` +
          `(shown only now, and renewed at the next start until someone signs in with it; GATEHOUSE_DEMO=0 turns this off)\n\n`,
      );
    }
  }
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
