import { parseArgs } from 'node:util';
import type { Config } from '../config.ts';
import { openStorage } from '../db/storage.ts';
import { createDemo } from '../demo.ts';
import { createLogger } from '../logger.ts';
import { appOn } from '../runtime.ts';

export const DEMO_USAGE = `Usage: gatehouse demo [--slug SLUG]

Creates a demo organization (slug "demo" unless --slug) whose issue #2 reproduces the QA
escalation the product was designed from: a 60-test run with 12 failures in two root
causes, a conditional-pass review, the escalation to the architect, activities, risks,
checkpoints and the GitHub update. Works on the database serve uses (DATABASE_URL, else the
embedded one in GATEHOUSE_DATA_DIR; stop a serve that holds the embedded one first) and
prints a one-time sign-in.`;

interface DemoIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/** `gatehouse demo`: returns the process exit code. */
export async function demo(config: Config, argv: string[], io: DemoIo): Promise<number> {
  let slug: string | undefined;
  try {
    ({
      values: { slug },
    } = parseArgs({ args: argv, options: { slug: { type: 'string' } } }));
  } catch (err) {
    io.stderr.write(`gatehouse demo: ${(err as Error).message}\n\n${DEMO_USAGE}\n`);
    return 2;
  }
  const logger = createLogger(config.logLevel);
  const storage = await openStorage(config, logger, { migrate: true });
  try {
    const { app } = await appOn({
      config,
      database: storage.database,
      box: storage.box,
      logger,
    });
    try {
      const login = await createDemo(app, slug === undefined ? {} : { slug });
      io.stdout.write(
        `Demo organization "${login.org}" created: project ${login.project}, issue #${login.issue}.\n` +
          `Sign in once with:\n  email:    ${login.email}\n  password: ${login.password}\n` +
          `(shown only now)\n` +
          `Its report: gatehouse report --org ${login.org} --project ${login.project} --issue ${login.issue}\n`,
      );
      return 0;
    } catch (err) {
      // A taken slug or email is the usual reason: say it in the API's words.
      io.stderr.write(`gatehouse demo: ${(err as Error).message}\n`);
      return 1;
    } finally {
      await app.close();
    }
  } finally {
    await storage.close();
  }
}
