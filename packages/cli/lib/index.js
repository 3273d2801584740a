// @ts-check
/**
 * The Gatehouse CI client: `upload`, `gate` and `triage`, each `(argv, io) => exit code`.
 * The server's own `gatehouse` command runs these same functions.
 */
export {
  CliError,
  connection,
  describe,
  gatehouseUrl,
  getJson,
  issueTarget,
  networkFailure,
  optionProblem,
  parseOptions,
  orgOfToken,
  projectPath,
  readJson,
  refusal,
  runCommand,
  unreachable,
  UsageError,
} from './api.js';
export { ciDefaults } from './ci-env.js';
export { gate, gateExitCode, GATE_USAGE, renderGates, report } from './gate.js';
export { expandBraces, glob, segmentRegExp } from './glob.js';
export { gzipMultipart } from './multipart.js';
export { sendFiles } from './send.js';
export { renderTriage, triage, TRIAGE_USAGE } from './triage.js';
export { summaryLines, upload, UPLOAD_USAGE } from './upload.js';
export { COMMANDS, run, USAGE } from './main.js';

/**
 * @typedef {import('./api.js').Auth} Auth
 * @typedef {import('./api.js').Problem} Problem
 * @typedef {import('./gate.js').GateReport} GateReport
 * @typedef {import('./gate.js').Excused} Excused
 * @typedef {import('./triage.js').Triage} Triage
 * @typedef {import('./ci-env.js').CiDefaults} CiDefaults
 * @typedef {import('./multipart.js').LocalFile} LocalFile
 */
