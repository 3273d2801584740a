import { parseArgs } from 'node:util';

export const GATE_USAGE = `Usage: gatehouse gate --project KEY --issue N [--org SLUG] [--require GATE]...

Prints every quality gate of the issue with its state and reasons. Exit 0 when the
required gates (default: all) passed, 1 when any is blocked or pending, 2 on errors.
GATEHOUSE_URL and GATEHOUSE_TOKEN come from the environment.`;

export interface GateReport {
  issue: number;
  overall: string;
  gates: { key: string; name: string; state: string; reasons: string[]; requires: string[] }[];
  criteria: { key: string; text: string; state: string }[];
}

const MARK: Record<string, string> = { passed: '✓', blocked: '✗', pending: '…' };
const BOX: Record<string, string> = { met: '[x]', unmet: '[ ]', pending: '[ ]' };

export function renderGates(report: GateReport): string[] {
  const lines = [`Issue #${report.issue}: overall ${report.overall.toUpperCase()}`];
  for (const g of report.gates) {
    lines.push(`  ${MARK[g.state] ?? '?'} ${g.name} (${g.key}): ${g.state.toUpperCase()}`);
    for (const r of g.reasons) lines.push(`      - ${r}`);
  }
  if (report.criteria.length > 0) {
    lines.push('Success criteria:');
    for (const c of report.criteria)
      lines.push(`  ${BOX[c.state] ?? '[ ]'} ${c.text} (${c.state})`);
  }
  return lines;
}

/** 0 when every required gate passed; 1 when one is blocked or pending; an unknown gate is a usage error. */
export function gateExitCode(
  report: GateReport,
  required: string[],
): { code: 0 | 1 | 2; message?: string } {
  const keys = new Set(report.gates.map((g) => g.key));
  const unknown = required.filter((r) => !keys.has(r));
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

export interface GateIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: Record<string, string | undefined>;
}

export async function gate(
  argv: string[],
  io: GateIo,
  orgOfToken: (base: string, auth: Record<string, string>) => Promise<string>,
): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        project: { type: 'string' },
        issue: { type: 'string' },
        org: { type: 'string' },
        require: { type: 'string', multiple: true },
      },
    }));
  } catch (err) {
    io.stderr.write(`gatehouse gate: ${(err as Error).message}\n\n${GATE_USAGE}\n`);
    return 2;
  }
  const base = io.env['GATEHOUSE_URL']?.replace(/\/+$/, '');
  const token = io.env['GATEHOUSE_TOKEN'];
  const problem =
    values.project === undefined
      ? '--project is required'
      : values.issue === undefined || !/^[1-9]\d{0,8}$/.test(values.issue)
        ? '--issue must be the issue number'
        : base === undefined || base === ''
          ? 'set GATEHOUSE_URL'
          : token === undefined || token === ''
            ? 'set GATEHOUSE_TOKEN'
            : null;
  if (problem !== null) {
    io.stderr.write(`gatehouse gate: ${problem}\n\n${GATE_USAGE}\n`);
    return 2;
  }
  const auth = { authorization: `Bearer ${token!}` };
  try {
    const org = values.org ?? io.env['GATEHOUSE_ORG'] ?? (await orgOfToken(base!, auth));
    const res = await fetch(
      `${base!}/api/v1/orgs/${encodeURIComponent(org)}/projects/${encodeURIComponent(values.project!)}/issues/${values.issue!}/gates`,
      { headers: auth },
    );
    const body = (await res.json()) as GateReport & { status?: number; detail?: string };
    if (!res.ok) {
      io.stderr.write(`gatehouse gate: ${res.status} ${body.detail ?? ''}\n`);
      return 2;
    }
    return report(body, values.require ?? [], io);
  } catch (err) {
    io.stderr.write(`gatehouse gate: ${(err as Error).message}\n`);
    return 2;
  }
}

/** Prints a report and turns it into an exit code (shared with `upload --gate`). */
export function report(
  body: GateReport,
  required: string[],
  io: Pick<GateIo, 'stdout' | 'stderr'>,
): number {
  for (const line of renderGates(body)) io.stdout.write(`${line}\n`);
  const verdict = gateExitCode(body, required);
  if (verdict.message !== undefined) io.stderr.write(`gatehouse: ${verdict.message}\n`);
  return verdict.code;
}
