// @ts-check
import { URLSearchParams } from 'node:url';
import {
  CliError,
  connection,
  getJson,
  parseOptions,
  orgOfToken as tokenOrg,
  projectPath,
  runCommand,
  UsageError,
} from './api.js';

export const TRIAGE_USAGE = `Usage: gatehouse triage --project KEY (--run ID | --issue N) [--org SLUG] [--json]

Prints a run's failures by category (root cause) and, within each, by cluster (failures
sharing one normalized message), then its flaky tests and regressions. --issue N takes
the issue's newest complete run. With --json, the answer as the API gives it.
GATEHOUSE_URL (the Gatehouse address) and GATEHOUSE_TOKEN come from the environment.
Exit 0 once printed, 2 on errors.`;

/**
 * @typedef {{ testId: string, classname: string, name: string }} TestRef
 * @typedef {object} Triage
 * @property {string} runId
 * @property {number} failures
 * @property {{ category: string | null, label: string | null, blocking: boolean, count: number,
 *   clusters: { signature: string, count: number, samples: { id: string, classname: string, name: string }[],
 *   firstSeenRunId: string | null }[] }[]} categories
 * @property {(TestRef & { reason: string })[]} flaky
 * @property {{ baselineRunId: string | null, newFailures: TestRef[], stillFailing: TestRef[] }} regressions
 */

/** How many tests a cluster or list names before "and N more". */
const SHOWN = 3;

/** @param {{ classname: string, name: string }} t */
const testName = (t) => (t.classname === '' ? t.name : `${t.classname}.${t.name}`);

/**
 * @param {{ classname: string, name: string }[]} tests
 * @param {number} total
 */
function someOf(tests, total) {
  const shown = tests.slice(0, SHOWN).map(testName).join(', ');
  return total > SHOWN ? `${shown} and ${total - SHOWN} more` : shown;
}

/**
 * @param {Triage} t
 * @returns {string[]}
 */
export function renderTriage(t) {
  const lines = [
    `Run ${t.runId}: ${t.failures === 0 ? 'no failures' : `${t.failures} failure(s)`}`,
  ];
  for (const c of t.categories) {
    const title =
      c.category === null
        ? 'uncategorized'
        : `${c.category}${c.label !== null && c.label !== c.category ? ` (${c.label})` : ''}`;
    lines.push(`  ${title}${c.blocking ? ', blocking' : ''}: ${c.count}`);
    for (const cl of c.clusters) {
      lines.push(`    ${cl.count} × ${cl.signature}`);
      if (cl.samples.length > 0) lines.push(`        ${someOf(cl.samples, cl.count)}`);
    }
  }
  if (t.flaky.length > 0) {
    lines.push(`Flaky: ${t.flaky.length}`);
    for (const f of t.flaky) lines.push(`  - ${testName(f)} (${f.reason})`);
  }
  const r = t.regressions;
  if (r.baselineRunId !== null) {
    lines.push(
      `Against run ${r.baselineRunId}: ${r.newFailures.length} new failure(s), ${r.stillFailing.length} still failing`,
    );
    if (r.newFailures.length > 0)
      lines.push(`  new: ${someOf(r.newFailures, r.newFailures.length)}`);
  }
  return lines;
}

/**
 * @typedef {{ stdout: NodeJS.WritableStream, stderr: NodeJS.WritableStream, env: import('./api.js').Env }} TriageIo
 */

/**
 * `gatehouse triage`: returns the process exit code.
 * @param {string[]} argv
 * @param {TriageIo} io
 * @param {(base: string, auth: import('./api.js').Auth) => Promise<string>} [orgOfToken]
 * @returns {Promise<number>}
 */
export async function triage(argv, io, orgOfToken = tokenOrg) {
  return runCommand('triage', TRIAGE_USAGE, io.stderr, async () => {
    const opts = options(argv, io.env);
    const auth = { authorization: `Bearer ${opts.token}` };
    const project = projectPath(opts.org ?? (await orgOfToken(opts.base, auth)), opts.project);
    const runId = opts.run ?? (await newestCompleteRun(opts.base, project, opts.issue ?? '', auth));
    /** @type {Triage} */
    const body = await getJson(
      opts.base,
      `${project}/runs/${encodeURIComponent(runId)}/triage`,
      auth,
    );
    if (opts.json) io.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
    else for (const line of renderTriage(body)) io.stdout.write(`${line}\n`);
    return 0;
  });
}

/**
 * The issue's newest run that is complete (an open one is not judged yet).
 * @param {string} base
 * @param {string} project
 * @param {string} issue
 * @param {import('./api.js').Auth} auth
 * @returns {Promise<string>}
 */
async function newestCompleteRun(base, project, issue, auth) {
  let cursor = null;
  // Runs come newest first; a few pages reach past any open shards.
  for (let page = 0; page < 10; page++) {
    const query = new URLSearchParams({ issue, limit: '50' });
    if (cursor !== null) query.set('cursor', cursor);
    /** @type {{ items: { id: string, status?: string }[], nextCursor: string | null }} */
    const runs = await getJson(base, `${project}/runs?${query.toString()}`, auth);
    const complete = runs.items.find((r) => r.status !== 'open');
    if (complete !== undefined) return complete.id;
    if (runs.nextCursor === null || runs.items.length === 0) break;
    cursor = runs.nextCursor;
  }
  throw new CliError(`issue #${issue} has no complete run yet: upload one with --issue ${issue}`);
}

/**
 * @param {string[]} argv
 * @param {import('./api.js').Env} env
 */
function options(argv, env) {
  const { values } = parseOptions(
    {
      args: argv,
      options: {
        project: { type: 'string' },
        run: { type: 'string' },
        issue: { type: 'string' },
        org: { type: 'string' },
        json: { type: 'boolean' },
      },
    },
    {
      '--issue': 'the issue number (e.g. --issue 2)',
      '--run': 'a run id',
      '--project': 'the project key (e.g. --project portal)',
    },
  );
  if (values.project === undefined) throw new UsageError('--project is required');
  if ((values.run === undefined) === (values.issue === undefined))
    throw new UsageError('name the run: --run ID, or --issue N for its newest complete run');
  if (values.issue !== undefined && !/^[1-9]\d{0,8}$/.test(values.issue))
    throw new UsageError('--issue must be the issue number');
  return {
    ...connection(env),
    project: values.project,
    run: values.run,
    issue: values.issue,
    org: values.org ?? env['GATEHOUSE_ORG'],
    json: values.json === true,
  };
}
