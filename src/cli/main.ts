import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config.ts';
import { StartupError } from '../startup-error.ts';
import { createLogger } from '../logger.ts';
import { COMMANDS, orgOfToken } from '@gatehouse/cli';
import { report, REPORT_USAGE } from './report.ts';
import { sizeHeap } from './heap-sizing.ts';

const USAGE = `Usage: gatehouse <command>

Commands:
  serve         serve the API and dashboard (embedded PostgreSQL unless DATABASE_URL is set),
                with a background job worker unless GATEHOUSE_WORKER=0
  worker        run background job workers only (any number of processes share the jobs)
  migrate       apply pending database migrations
  demo          create the demo organization (issue #2 of the seed report) and print a sign-in
  keys rotate   add a new current signing key; the old one verifies until its tokens expire
  upload        upload JUnit XML results from CI (see "gatehouse upload --help")
  gate          print an issue's quality gates; exit 1 unless they passed ("gatehouse gate --help")
  triage        print a run's failures by category and cluster ("gatehouse triage --help")
  report        print an issue's escalation tracking report as Markdown ("gatehouse report --help")

Configuration comes from the environment; see README.md.`;

export async function main(argv: string[]): Promise<number> {
  // CI commands take their own options; they never need the server's configuration.
  const io = { stdout: process.stdout, stderr: process.stderr, env: process.env };
  const help = argv.includes('--help') || argv.includes('-h');
  // upload, gate and triage are the CI client package's own code (packages/cli).
  const client =
    argv[0] === 'upload' || argv[0] === 'gate' || argv[0] === 'triage'
      ? COMMANDS[argv[0]]
      : undefined;
  if (client !== undefined) {
    if (help) process.stdout.write(`${client.usage}\n`);
    return help ? 0 : client.run(argv.slice(1), io);
  }
  if (argv[0] === 'report') {
    if (help) process.stdout.write(`${REPORT_USAGE}\n`);
    return help ? 0 : report(argv.slice(1), io, orgOfToken);
  }
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: false,
    options: { help: { type: 'boolean', short: 'h' } },
  });
  const [command, sub] = positionals;
  if (values['help'] === true || command === undefined || command === 'help') {
    process.stdout.write(USAGE + '\n');
    return command === undefined && values['help'] !== true ? 2 : 0;
  }
  const config = loadConfig(process.env);
  switch (command) {
    // Server code is loaded only by the commands that need it: CI commands start fast.
    case 'serve':
      sizeHeap();
      await (await import('../server.ts')).serve(config);
      return -1; // keeps running
    case 'worker':
      sizeHeap();
      await (await import('../server.ts')).runWorker(config);
      return -1; // keeps running
    case 'demo':
      return (await import('./demo.ts')).demo(config, argv.slice(1), io);
    case 'migrate': {
      const { openStorage } = await import('../db/storage.ts');
      const storage = await openStorage(config, createLogger(config.logLevel), { migrate: true });
      await storage.close();
      process.stdout.write('migrations are up to date\n');
      return 0;
    }
    case 'keys': {
      if (sub !== 'rotate') break;
      const { openStorage } = await import('../db/storage.ts');
      const { addSigningKey } = await import('../modules/auth/signing-keys.ts');
      const storage = await openStorage(config, createLogger(config.logLevel), { migrate: true });
      try {
        const kid = await addSigningKey(storage.database.db, storage.box);
        process.stdout.write(
          `new signing key ${kid} is current; earlier keys verify until their tokens expire\n`,
        );
      } finally {
        await storage.close();
      }
      return 0;
    }
  }
  process.stderr.write(`gatehouse: unknown command "${positionals.join(' ')}"\n\n${USAGE}\n`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err: unknown) => {
    // Problems the user can fix are one line; anything else keeps its stack for a bug report.
    if (err instanceof ConfigError || err instanceof StartupError)
      process.stderr.write(`gatehouse: ${err.message}\n`);
    else
      process.stderr.write(
        `gatehouse: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
      );
    process.exit(2);
  },
);
