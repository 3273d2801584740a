// @ts-check
import { gate, GATE_USAGE } from './gate.js';
import { triage, TRIAGE_USAGE } from './triage.js';
import { upload, UPLOAD_USAGE } from './upload.js';

/**
 * @typedef {{ stdout: import('./api.js').Out, stderr: import('./api.js').Out, env: import('./api.js').Env }} Io
 */

/** The client commands, each with its usage, shared by `gatehouse` and `gatehouse-ci`. */
export const COMMANDS = {
  upload: { run: upload, usage: UPLOAD_USAGE },
  gate: { run: gate, usage: GATE_USAGE },
  triage: { run: triage, usage: TRIAGE_USAGE },
};

export const USAGE = `Usage: gatehouse-ci <command> [options]

Commands:
  upload   upload JUnit XML results as one run ("gatehouse-ci upload --help")
  gate     print an issue's quality gates; exit 1 unless they passed ("gatehouse-ci gate --help")
  triage   print a run's failures by category and cluster ("gatehouse-ci triage --help")

GATEHOUSE_URL (the Gatehouse address) and GATEHOUSE_TOKEN (an API token) come from the
environment.`;

/**
 * Runs one client command (`argv[0]`) and returns the exit code; `--help` prints its usage.
 * @param {string[]} argv
 * @param {Io} io
 * @returns {Promise<number>}
 */
export async function run(argv, io) {
  const [name, ...rest] = argv;
  const command =
    name === 'upload' || name === 'gate' || name === 'triage' ? COMMANDS[name] : undefined;
  const help = argv.includes('--help') || argv.includes('-h');
  if (command === undefined) {
    const known = name === undefined || name === 'help' || (help && name.startsWith('-'));
    (known ? io.stdout : io.stderr).write(
      `${known ? '' : `gatehouse-ci: unknown command "${name}"\n\n`}${USAGE}\n`,
    );
    return known && (help || name === 'help') ? 0 : 2;
  }
  if (help) {
    io.stdout.write(`${command.usage}\n`);
    return 0;
  }
  return command.run(rest, io);
}
