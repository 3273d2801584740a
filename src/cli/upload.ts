import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { parseArgs } from 'node:util';
import { createGzip } from 'node:zlib';
import { glob } from 'tinyglobby';
import type { Counts } from '../domain/junit.ts';
import { ciDefaults } from './ci-env.ts';
import { report, type GateReport } from './gate.ts';

export const UPLOAD_USAGE = `Usage: gatehouse upload --project KEY [--org SLUG] [--issue N] [--commit SHA] [--branch B]
                        [--build ID] [--attempt N] [--gate [--require GATE]...] FILES/GLOBS...

Uploads JUnit XML files as one run. GATEHOUSE_URL and GATEHOUSE_TOKEN (an API token) come
from the environment; commit, branch, build and attempt default to what GitHub Actions,
GitLab CI or Jenkins set. Exit 0 on success, 2 on usage or upload errors. With --gate
(and --issue), it then prints the issue's gates and exits 1 when a required one
(default: all) is blocked or pending.`;

export interface Io {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: Record<string, string | undefined>;
  sleep?: (ms: number) => Promise<void>;
}

interface Problem {
  title?: string;
  detail?: string;
  errors?: { path: string; message: string }[];
}

interface RunSummary {
  id: string;
  totals: Counts;
  passRate: number | null;
  url: string;
  files: number;
  gates?: GateReport;
}

class UsageError extends Error {}
class UploadError extends Error {}

const ATTEMPTS = 4;

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function describe(problem: Problem, status: number): string {
  const lines = [`${status} ${problem.title ?? ''}: ${problem.detail ?? 'no detail'}`.trim()];
  for (const e of problem.errors ?? []) lines.push(`  ${e.path}: ${e.message}`);
  return lines.join('\n');
}

async function readProblem(res: Response): Promise<Problem> {
  const text = await res.text();
  try {
    return JSON.parse(text) as Problem;
  } catch {
    return { detail: text.slice(0, 500) };
  }
}

export function summaryLines(run: RunSummary): string[] {
  const t = run.totals;
  const rate = run.passRate === null ? 'n/a' : `${(run.passRate * 100).toFixed(1)}%`;
  return [
    `Run ${run.id}: ${t.tests} tests, ${t.passed} passed, ${t.failed} failed, ${t.errored} errors, ${t.skipped} skipped, ${t.flaky} flaky`,
    `Pass rate: ${rate} (passed / (tests - skipped)) over ${run.files} file(s)`,
    `Details: ${run.url}`,
  ];
}

/** `gatehouse upload`: returns the process exit code. */
export async function upload(argv: string[], io: Io): Promise<number> {
  try {
    const { run, gate } = await uploadFiles(argv, io);
    for (const line of summaryLines(run)) io.stdout.write(`${line}\n`);
    if (gate === null) return 0;
    if (run.gates === undefined)
      throw new UploadError('the server returned no gate states for this run');
    return report(run.gates, gate, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`gatehouse upload: ${err.message}\n\n${UPLOAD_USAGE}\n`);
      return 2;
    }
    if (err instanceof UploadError) {
      io.stderr.write(`gatehouse upload: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}

async function uploadFiles(
  argv: string[],
  io: Io,
): Promise<{ run: RunSummary; gate: string[] | null }> {
  let parsed;
  try {
    parsed = parseArgs({
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
        gate: { type: 'boolean' },
        require: { type: 'string', multiple: true },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  const base = io.env['GATEHOUSE_URL']?.replace(/\/+$/, '');
  const token = io.env['GATEHOUSE_TOKEN'];
  if (values.project === undefined) throw new UsageError('--project is required');
  if (base === undefined || base === '')
    throw new UsageError('set GATEHOUSE_URL to the Gatehouse address');
  if (token === undefined || token === '')
    throw new UsageError('set GATEHOUSE_TOKEN to an API token (gth_...)');
  if (positionals.length === 0)
    throw new UsageError('name the JUnit XML files (or globs) to upload');
  if (values.gate === true && values.issue === undefined) {
    throw new UsageError('--gate needs --issue: gates belong to an issue');
  }
  if (values.require !== undefined && values.gate !== true) {
    throw new UsageError('--require goes with --gate');
  }
  for (const [name, value] of [
    ['issue', values.issue],
    ['attempt', values.attempt],
  ] as const) {
    if (value !== undefined && !/^[1-9]\d{0,8}$/.test(value))
      throw new UsageError(`--${name} must be a positive whole number`);
  }
  const files = (await glob(positionals, { onlyFiles: true, expandDirectories: false })).sort();
  if (files.length === 0) throw new UsageError(`no file matches ${positionals.join(' ')}`);

  const ci = ciDefaults(io.env);
  const auth = { authorization: `Bearer ${token}` };
  const org = values.org ?? io.env['GATEHOUSE_ORG'] ?? (await orgOfToken(base, auth));
  const invocation = randomUUID();
  // Several files must land in one run: without a build id from the user or CI, make one.
  const build = values.build ?? ci.build ?? (files.length > 1 ? `cli-${invocation}` : undefined);
  const query = new URLSearchParams();
  const set = (k: string, v: string | number | undefined) =>
    v !== undefined && query.set(k, String(v));
  set('commit', values.commit ?? ci.commit);
  set('branch', values.branch ?? ci.branch);
  set('build', build);
  set('attempt', values.attempt ?? ci.attempt);
  set('issue', values.issue);
  const url = `${base}/api/v1/orgs/${encodeURIComponent(org)}/projects/${encodeURIComponent(values.project)}/runs`;

  let last: RunSummary | undefined;
  for (const [i, file] of files.entries()) {
    query.set('filename', basename(file));
    last = await sendFile(`${url}?${query.toString()}`, file, `${invocation}-${i}`, auth, io);
  }
  return { run: last!, gate: values.gate === true ? (values.require ?? []) : null };
}

export async function orgOfToken(base: string, auth: Record<string, string>): Promise<string> {
  const res = await fetch(`${base}/api/v1/token`, { headers: auth }).catch((err: Error) => {
    throw new UploadError(`cannot reach ${base}: ${err.message}`);
  });
  if (!res.ok)
    throw new UploadError(`the token was refused: ${describe(await readProblem(res), res.status)}`);
  return ((await res.json()) as { org: { slug: string } }).org.slug;
}

function progress(io: Io, name: string, size: number): Transform {
  let sent = 0;
  let lastShown = 0;
  const tty = io.stderr.isTTY === true && size > 1024 * 1024;
  if (!tty) io.stderr.write(`Uploading ${name} (${mb(size)})\n`);
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      sent += chunk.length;
      if (tty && (Date.now() - lastShown > 100 || sent === size)) {
        lastShown = Date.now();
        io.stderr.write(`\r${name}: ${Math.floor((100 * sent) / size)}% of ${mb(size)}`);
        if (sent === size) io.stderr.write('\n');
      }
      done(null, chunk);
    },
  });
}

/** One file, gzipped on the fly; retried with the same Idempotency-Key on network errors, 5xx and 429. */
async function sendFile(
  url: string,
  file: string,
  key: string,
  auth: Record<string, string>,
  io: Io,
): Promise<RunSummary> {
  const sleep = io.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms)));
  const { size } = await stat(file);
  const name = basename(file);
  for (let attempt = 1; ; attempt++) {
    const body = createReadStream(file)
      .pipe(progress(io, name, size))
      .pipe(createGzip());
    let retryAfterMs = 1000 * 2 ** (attempt - 1);
    let failure: string;
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: {
          ...auth,
          'content-type': 'application/xml',
          'content-encoding': 'gzip',
          'idempotency-key': key,
        },
        body: Readable.toWeb(body) as ReadableStream,
        duplex: 'half',
      });
      if (res.ok) return (await res.json()) as RunSummary;
      const problem = await readProblem(res);
      if (res.status < 500 && res.status !== 429)
        throw new UploadError(`${name} was refused: ${describe(problem, res.status)}`);
      const after = Number(res.headers.get('retry-after'));
      if (Number.isFinite(after) && after > 0) retryAfterMs = Math.min(after, 60) * 1000;
      failure = describe(problem, res.status);
    } catch (err) {
      if (err instanceof UploadError) throw err;
      failure = (err as Error).message;
    } finally {
      body.destroy();
    }
    if (attempt >= ATTEMPTS)
      throw new UploadError(`${name} could not be uploaded after ${ATTEMPTS} attempts: ${failure}`);
    io.stderr.write(
      `${name}: ${failure}; retrying in ${Math.round(retryAfterMs / 1000)}s (attempt ${attempt + 1} of ${ATTEMPTS})\n`,
    );
    await sleep(retryAfterMs);
  }
}
