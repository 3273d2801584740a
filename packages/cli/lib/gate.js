// @ts-check
import {
  getJson,
  issueTarget,
  parseOptions,
  orgOfToken as tokenOrg,
  projectPath,
  runCommand,
} from './api.js';

export const GATE_USAGE = `Usage: gatehouse gate --project KEY --issue N [--org SLUG] [--require GATE]...

Prints every quality gate of the issue with its state and reasons. Exit 0 when the
required gates (default: all) passed, 1 when any is blocked or pending, 2 on errors.
A project with no quality gates configured exits 0 (nothing to wait for), unless
--require names a gate: that is an error.
GATEHOUSE_URL (the Gatehouse address) and GATEHOUSE_TOKEN come from the environment.`;

/**
 * A test whose failures do not count against the gates, and why.
 * @typedef {{ testId: string, test: string, why: string, reason?: string | null, until?: string | null }} Excused
 */

/**
 * @typedef {object} GateReport
 * @property {number} issue
 * @property {string} overall
 * @property {{ key: string, name: string, state: string, reasons: string[], requires: string[] }[]} gates
 * @property {{ key: string, text: string, state: string }[]} criteria
 * @property {{ runId: string, uploads: number, shards: number | null } | null} [openRun]
 *   a run for the issue that is still waiting for shards: not counted in these gates yet
 * @property {Excused[]} [excused] tests left out of the judgement (quarantined, known)
 */

/** @type {Record<string, string>} */
const MARK = { passed: '✓', blocked: '✗', pending: '…' };
/** @type {Record<string, string>} */
const BOX = { met: '[x]', unmet: '[ ]', pending: '[ ]' };

/**
 * @param {GateReport} report
 * @returns {string[]}
 */
export function renderGates(report) {
  // Without gates nothing was judged: say so rather than print an empty, green-looking list.
  const lines = [
    report.gates.length === 0
      ? `Issue #${report.issue}: no quality gates configured (overall ${report.overall})`
      : `Issue #${report.issue}: overall ${report.overall.toUpperCase()}`,
  ];
  const open = report.openRun;
  if (open !== undefined && open !== null) {
    const count =
      open.shards === null
        ? `${open.uploads} upload(s) so far`
        : `${open.uploads} of ${open.shards} shards uploaded`;
    lines.push(`  (run ${open.runId} is open, ${count}: these gates do not count it yet)`);
  }
  for (const g of report.gates) {
    lines.push(`  ${MARK[g.state] ?? '?'} ${g.name} (${g.key}): ${g.state.toUpperCase()}`);
    for (const r of g.reasons) lines.push(`      - ${r}`);
  }
  const excused = report.excused ?? [];
  if (excused.length > 0) {
    // A green gate with failures left out of it should say which, so nobody mistakes it.
    lines.push(`Excused (failures not counted against the gates): ${excused.length}`);
    for (const e of excused) {
      const why = [e.why, e.reason, e.until ? `until ${e.until}` : null].filter(Boolean).join(', ');
      lines.push(`  - ${e.test} (${why})`);
    }
  }
  if (report.criteria.length > 0) {
    lines.push('Success criteria:');
    for (const c of report.criteria)
      lines.push(`  ${BOX[c.state] ?? '[ ]'} ${c.text} (${c.state})`);
  }
  return lines;
}

/**
 * 0 when every required gate passed (also when there are no gates and none is required);
 * 1 when one is blocked or pending; an unknown gate is a usage error.
 * @param {GateReport} report
 * @param {string[]} required
 * @returns {{ code: 0 | 1 | 2, message?: string }}
 */
export function gateExitCode(report, required) {
  const keys = new Set(report.gates.map((g) => g.key));
  const unknown = required.filter((r) => !keys.has(r));
  if (unknown.length > 0 && keys.size === 0)
    return {
      code: 2,
      message: `no gate named ${unknown.join(', ')}: this project has no quality gates configured`,
    };
  if (unknown.length > 0)
    return {
      code: 2,
      message: `no gate named ${unknown.join(', ')} (gates: ${[...keys].join(', ')})`,
    };
  const wanted =
    required.length === 0 ? report.gates : report.gates.filter((g) => required.includes(g.key));
  const failing = wanted.filter((g) => g.state !== 'passed');
  if (failing.length === 0) return { code: 0 };
  return {
    code: 1,
    message: `not passed: ${failing.map((g) => `${g.key} (${g.state})`).join(', ')}`,
  };
}

/**
 * @typedef {{ stdout: NodeJS.WritableStream, stderr: NodeJS.WritableStream, env: import('./api.js').Env }} GateIo
 */

/**
 * `gatehouse gate`: returns the process exit code.
 * @param {string[]} argv
 * @param {GateIo} io
 * @param {(base: string, auth: import('./api.js').Auth) => Promise<string>} [orgOfToken]
 * @returns {Promise<number>}
 */
export async function gate(argv, io, orgOfToken = tokenOrg) {
  return runCommand('gate', GATE_USAGE, io.stderr, async () => {
    const { base, token, project, issue, org, require } = options(argv, io.env);
    const auth = { authorization: `Bearer ${token}` };
    const slug = org ?? (await orgOfToken(base, auth));
    /** @type {GateReport} */
    const body = await getJson(base, `${projectPath(slug, project)}/issues/${issue}/gates`, auth);
    return report(body, require, io);
  });
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
        issue: { type: 'string' },
        org: { type: 'string' },
        require: { type: 'string', multiple: true },
      },
    },
    {
      '--issue': 'the issue number (e.g. --issue 2)',
      '--require': 'a gate key (e.g. --require reliability)',
    },
  );
  return { ...issueTarget(values, env), require: values.require ?? [] };
}

/**
 * Prints a report and turns it into an exit code (shared with `upload --gate`).
 * @param {GateReport} body
 * @param {string[]} required
 * @param {Pick<GateIo, 'stdout' | 'stderr'>} io
 * @returns {number}
 */
export function report(body, required, io) {
  for (const line of renderGates(body)) io.stdout.write(`${line}\n`);
  const verdict = gateExitCode(body, required);
  if (verdict.message !== undefined) io.stderr.write(`gatehouse: ${verdict.message}\n`);
  // A step that passes while the issue is blocked should say so, not look all green.
  if (verdict.code === 0 && required.length > 0) {
    const overall = body.overall === 'passed' ? '' : `; overall: ${body.overall} (not required)`;
    io.stdout.write(`required gates passed: ${required.join(', ')}${overall}\n`);
  }
  return verdict.code;
}
