import {
  CliError,
  getJson,
  issueTarget,
  parseOptions,
  orgOfToken as tokenOrg,
  projectPath,
  refusal,
  unreachable,
  runCommand,
  type Auth,
} from './api.ts';

export const REPORT_USAGE = `Usage: gatehouse report --project KEY --issue N [--org SLUG] [--json]

Prints the issue's escalation coordination tracking report as Markdown (with --json, the
model it is rendered from). GATEHOUSE_URL (the Gatehouse address) and GATEHOUSE_TOKEN come
from the environment; the org defaults to GATEHOUSE_ORG, else the token's own.`;

export interface ReportIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: Record<string, string | undefined>;
}

/** GET the Markdown report; anything but Markdown back is not Gatehouse answering. */
async function getMarkdown(base: string, path: string, auth: Auth): Promise<string> {
  const what = `GET /api/v1${path}`;
  const res = await fetch(`${base}/api/v1${path}`, {
    headers: { ...auth, accept: 'text/markdown' },
  }).catch((err: unknown) => {
    throw unreachable(base, err);
  });
  if (!res.ok) throw await refusal(base, what, res);
  const type = (res.headers.get('content-type') ?? '').toLowerCase();
  if (!type.startsWith('text/markdown')) {
    await res.body?.cancel();
    throw new CliError(
      `${what} got ${type || 'no content type'}, not a report from Gatehouse: is GATEHOUSE_URL (${base}) the Gatehouse address?`,
    );
  }
  return res.text();
}

/** `gatehouse report`: prints the report; returns the process exit code. */
export async function report(
  argv: string[],
  io: ReportIo,
  orgOfToken: (base: string, auth: Auth) => Promise<string> = tokenOrg,
): Promise<number> {
  return runCommand('report', REPORT_USAGE, io.stderr, async () => {
    const { base, token, project, issue, org, json } = options(argv, io.env);
    const auth = { authorization: `Bearer ${token}` };
    const slug = org ?? (await orgOfToken(base, auth));
    const path = `${projectPath(slug, project)}/issues/${issue}`;
    if (json) {
      const model = await getJson<unknown>(base, `${path}/report.json`, auth);
      io.stdout.write(`${JSON.stringify(model, null, 2)}\n`);
    } else {
      const markdown = await getMarkdown(base, `${path}/report.md`, auth);
      io.stdout.write(markdown.endsWith('\n') ? markdown : `${markdown}\n`);
    }
    return 0;
  });
}

function options(argv: string[], env: ReportIo['env']) {
  const { values } = parseOptions(
    {
      args: argv,
      options: {
        project: { type: 'string' },
        issue: { type: 'string' },
        org: { type: 'string' },
        json: { type: 'boolean' },
      },
    },
    {
      '--issue': 'the issue number (e.g. --issue 2)',
      '--project': 'the project key (e.g. --project portal)',
    },
  );
  return { ...issueTarget(values, env), json: values.json === true };
}
