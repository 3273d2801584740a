// @ts-check
import { randomUUID } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { setTimeout as sleepFor } from 'node:timers/promises';
import { URLSearchParams } from 'node:url';
import {
  CliError,
  connection,
  getJson,
  parseOptions,
  orgOfToken,
  projectPath,
  runCommand,
  UsageError,
} from './api.js';
import { ciDefaults } from './ci-env.js';
import { report } from './gate.js';
import { glob } from './glob.js';
import { sendFiles } from './send.js';

/**
 * @typedef {import('./api.js').Auth} Auth
 * @typedef {import('./gate.js').GateReport} GateReport
 * @typedef {import('./multipart.js').LocalFile} LocalFile
 */

export const UPLOAD_USAGE = `Usage: gatehouse upload --project KEY [--org SLUG] [--issue N] [--commit SHA] [--branch B]
                        [--build ID] [--attempt N] [--shards N]
                        [--gate [--require GATE]... [--wait SECONDS]] FILES/GLOBS...

Uploads JUnit XML files as one run, in one request. GATEHOUSE_URL (the Gatehouse address)
and GATEHOUSE_TOKEN (an API token) come from the environment; commit, branch, build and
attempt default to what GitHub Actions, GitLab CI or Jenkins set. Exit 0 on success, 2 on
usage or upload errors.

--shards N   the run is split over N uploads (parallel jobs with the same build id, each
             passing --shards N); it stays open, and is judged, when the N-th arrives.
--gate       (with --issue) then prints the issue's gates and exits 1 when a required one
             (default: all) is blocked or pending. On a run still open it first waits
             for the run to complete.
--wait S     how long --gate waits for an open run, in seconds (default 600); when it
             runs out the step fails with exit 2.`;

/**
 * @typedef {object} Io
 * @property {import('./api.js').Out} stdout
 * @property {import('./api.js').Out} stderr
 * @property {import('./api.js').Env} env
 * @property {(ms: number) => Promise<void>} [sleep]
 */

/**
 * @typedef {object} RunSummary
 * @property {string} id
 * @property {{ tests: number, passed: number, failed: number, errored: number, skipped: number, flaky: number }} totals
 * @property {number | null} passRate
 * @property {string} url
 * @property {number} files
 * @property {'open' | 'complete'} [status] older servers have no lifecycle: their runs are complete when answered
 * @property {number} [uploadsReceived] uploads received so far (the run detail's `uploads` is its list of files)
 * @property {unknown} [uploads]
 * @property {number | null} [shards]
 * @property {string | null} [completedAt]
 * @property {GateReport} [gates]
 */

const WHOLE = /^[1-9]\d{0,8}$/;

/**
 * @param {RunSummary} run
 * @returns {string[]}
 */
export function summaryLines(run) {
  const t = run.totals;
  const rate = run.passRate === null ? 'n/a' : `${(run.passRate * 100).toFixed(1)}%`;
  return [
    `Run ${run.id}: ${t.tests} tests, ${t.passed} passed, ${t.failed} failed, ${t.errored} errors, ${t.skipped} skipped, ${t.flaky} flaky`,
    `Pass rate: ${rate} (passed / (tests - skipped)) over ${run.files} file(s)`,
    `Details: ${run.url}`,
  ];
}

/**
 * "2 of 3 shards uploaded", from what the server said.
 * @param {RunSummary} run
 */
function shardCount(run) {
  const received = run.uploadsReceived ?? run.uploads;
  const uploads = typeof received === 'number' ? String(received) : 'some';
  return typeof run.shards === 'number'
    ? `${uploads} of ${run.shards} shards uploaded`
    : `${uploads} upload(s) so far`;
}

/** @param {number} ms */
const realSleep = (ms) => sleepFor(ms);

/**
 * `gatehouse upload`: returns the process exit code.
 * @param {string[]} argv
 * @param {Io} io
 * @returns {Promise<number>}
 */
export async function upload(argv, io) {
  return runCommand('upload', UPLOAD_USAGE, io.stderr, async () => {
    const opts = options(argv, io.env);
    const files = await localFiles(opts.patterns);
    const auth = { authorization: `Bearer ${opts.token}` };
    const org = opts.org ?? (await orgOfToken(opts.base, auth));
    const path = `${projectPath(org, opts.project)}/runs`;
    const sleep = io.sleep ?? realSleep;
    /** @type {RunSummary} */
    const run = await sendFiles(
      opts.base,
      `${opts.base}/api/v1${path}?${opts.query.toString()}`,
      files,
      randomUUID(),
      auth,
      { stderr: io.stderr, sleep },
    );
    for (const line of summaryLines(run)) io.stdout.write(`${line}\n`);
    if (run.status === 'open') {
      const last = typeof run.shards === 'number' ? 'the last arrives' : 'it completes';
      io.stdout.write(`run ${run.id} is open: ${shardCount(run)}; it is judged when ${last}\n`);
    }
    if (opts.gate === null || opts.issue === undefined) return 0;

    let judged = run;
    if (run.status === 'open') {
      const waited = await waitForRun(opts.base, `${path}/${run.id}`, auth, run, opts.wait, {
        stderr: io.stderr,
        sleep,
      });
      if (waited.status === 'open')
        throw new CliError(
          `run ${run.id} is still open after waiting ${opts.wait}s (${shardCount(waited)}), so its gates are not judged yet; ` +
            `wait longer with --wait, or close the run with POST /api/v1${path}/${run.id}/complete`,
        );
      judged = waited;
      io.stdout.write(`run ${run.id} is complete: ${shardCount(judged)}\n`);
      for (const line of summaryLines(judged)) io.stdout.write(`${line}\n`);
    }
    // The upload's own answer carries the gates it judged; after a wait, ask for them.
    /** @type {GateReport} */
    const gates =
      judged.gates ??
      (await getJson(
        opts.base,
        `${projectPath(org, opts.project)}/issues/${opts.issue}/gates`,
        auth,
      ));
    return report(gates, opts.gate, io);
  });
}

/**
 * @param {string[]} argv
 * @param {import('./api.js').Env} env
 */
function options(argv, env) {
  const { values, positionals } = parseOptions(
    {
      args: argv,
      allowPositionals: true,
      options: {
        project: { type: 'string' },
        org: { type: 'string' },
        issue: { type: 'string' },
        commit: { type: 'string' },
        branch: { type: 'string' },
        build: { type: 'string' },
        attempt: { type: 'string' },
        shards: { type: 'string' },
        gate: { type: 'boolean' },
        require: { type: 'string', multiple: true },
        wait: { type: 'string' },
      },
    },
    {
      '--issue': 'the issue number (e.g. --issue 2)',
      '--shards': 'the number of shards (e.g. --shards 3)',
      '--wait': 'a number of seconds (e.g. --wait 600)',
      '--require': 'a gate key (e.g. --require reliability)',
    },
  );
  if (values.project === undefined) throw new UsageError('--project is required');
  const { base, token } = connection(env);
  if (positionals.length === 0)
    throw new UsageError('name the JUnit XML files (or globs) to upload');
  if (values.gate === true && values.issue === undefined)
    throw new UsageError('--gate needs --issue: gates belong to an issue');
  if (values.require !== undefined && values.gate !== true)
    throw new UsageError('--require goes with --gate');
  if (values.wait !== undefined && values.gate !== true)
    throw new UsageError('--wait goes with --gate: it is how long to wait for the gates');
  for (const [name, value] of /** @type {const} */ ([
    ['issue', values.issue],
    ['attempt', values.attempt],
  ])) {
    if (value !== undefined && !WHOLE.test(value))
      throw new UsageError(`--${name} must be a positive whole number`);
  }
  if (values.shards !== undefined && !(WHOLE.test(values.shards) && Number(values.shards) <= 1000))
    throw new UsageError('--shards must be a whole number from 1 to 1000');
  if (values.wait !== undefined && !/^\d{1,6}$/.test(values.wait))
    throw new UsageError('--wait must be a whole number of seconds');

  const ci = ciDefaults(env);
  const build = values.build ?? ci.build;
  // Shards find their run by build id: without one each upload would be a run of its own.
  if (values.shards !== undefined && build === undefined)
    throw new UsageError('--shards needs a build id that every shard shares: pass --build');
  const query = new URLSearchParams();
  /** @type {(k: string, v: string | number | undefined) => void} */
  const set = (k, v) => {
    if (v !== undefined) query.set(k, String(v));
  };
  set('commit', values.commit ?? ci.commit);
  set('branch', values.branch ?? ci.branch);
  set('build', build);
  set('attempt', values.attempt ?? ci.attempt);
  set('issue', values.issue);
  set('shards', values.shards);
  return {
    base,
    token,
    project: values.project,
    org: values.org ?? env['GATEHOUSE_ORG'],
    issue: values.issue,
    query,
    patterns: positionals,
    gate: values.gate === true ? (values.require ?? []) : null,
    wait: Number(values.wait ?? 600),
  };
}

/**
 * @param {string[]} patterns
 * @returns {Promise<LocalFile[]>}
 */
async function localFiles(patterns) {
  const paths = (await glob(patterns)).sort();
  if (paths.length === 0) throw new UsageError(`no file matches ${patterns.join(' ')}`);
  return Promise.all(
    paths.map(async (path) => ({ path, name: basename(path), size: (await stat(path)).size })),
  );
}

/**
 * Polls an open run until it completes or `seconds` pass (counting both the time slept
 * and the clock, so an injected sleep ends the wait too). Network errors and 5xx while
 * polling are waited out; the run as last seen is returned either way.
 * @param {string} base
 * @param {string} path
 * @param {Auth} auth
 * @param {RunSummary} run
 * @param {number} seconds
 * @param {{ stderr: NodeJS.WritableStream, sleep: (ms: number) => Promise<void> }} io
 * @returns {Promise<RunSummary>}
 */
async function waitForRun(base, path, auth, run, seconds, io) {
  const limit = seconds * 1000;
  const start = Date.now();
  let slept = 0;
  let seen = run;
  if (limit > 0) io.stderr.write(`Waiting up to ${seconds}s for run ${run.id} to complete\n`);
  for (let i = 0; ; i++) {
    const left = limit - Math.max(slept, Date.now() - start);
    if (left <= 0) return seen;
    const ms = Math.min(1000 * 2 ** Math.min(i, 3), 5000, left);
    await io.sleep(ms);
    slept += ms;
    try {
      seen = await getJson(base, path, auth);
    } catch (err) {
      if (!(err instanceof CliError && err.transient)) throw err;
      io.stderr.write(`${err.message}; still waiting\n`);
      continue;
    }
    if (seen.status !== 'open') return seen;
  }
}
