/** How the CLI commands reach Gatehouse and how they say what went wrong. */

/** Bad arguments or configuration: the command prints its usage and exits 2. */
export class UsageError extends Error {}

/**
 * Runs a client command: a usage mistake prints the message and the usage, a failure the
 * message alone; both exit 2. Anything else is a bug and propagates.
 */
export async function runCommand(
  name: string,
  usage: string,
  stderr: NodeJS.WritableStream,
  run: () => Promise<number>,
): Promise<number> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof UsageError) {
      stderr.write(`gatehouse ${name}: ${err.message}\n\n${usage}\n`);
      return 2;
    }
    if (err instanceof CliError) {
      stderr.write(`gatehouse ${name}: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}

/** Anything else that stops a command: printed as is, exit 2. */
export class CliError extends Error {
  constructor(
    message: string,
    /** A network error, 5xx or 429: trying again later may work. */
    readonly transient = false,
  ) {
    super(message);
  }
}

export interface Problem {
  title?: string;
  detail?: string;
  errors?: { path: string; message: string }[];
}

export type Auth = Record<string, string>;

/**
 * The base address from GATEHOUSE_URL. People paste the API root as often as the site's,
 * so a trailing `/api/v1` is dropped: every path the CLI builds starts with it.
 */
export function gatehouseUrl(raw: string | undefined): string {
  const value = raw?.trim() ?? '';
  if (value === '') throw new UsageError('set GATEHOUSE_URL to the Gatehouse address');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`GATEHOUSE_URL is not an address: "${value}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UsageError(`GATEHOUSE_URL must start with http:// or https:// (got "${value}")`);
  return value
    .replace(/[?#].*$/, '')
    .replace(/\/+$/, '')
    .replace(/\/api\/v1$/i, '');
}

/** parseArgs' own words for an option without its value are about dashes; these are about the option. */
/** What a client command about one issue needs, from its options and the environment. */
export function issueTarget(
  values: { project?: string | undefined; issue?: string | undefined; org?: string | undefined },
  env: Record<string, string | undefined>,
) {
  if (values.project === undefined) throw new UsageError('--project is required');
  if (values.issue === undefined || !/^[1-9]\d{0,8}$/.test(values.issue))
    throw new UsageError('--issue must be the issue number');
  const base = gatehouseUrl(env['GATEHOUSE_URL']);
  const token = env['GATEHOUSE_TOKEN'];
  if (token === undefined || token === '') throw new UsageError('set GATEHOUSE_TOKEN');
  return {
    base,
    token,
    project: values.project,
    issue: values.issue,
    org: values.org ?? env['GATEHOUSE_ORG'],
  };
}

export function optionProblem(err: Error, hints: Record<string, string> = {}): string {
  const missing = /^Option '(--[\w-]+)(?: <value>)?' argument (?:missing|is ambiguous)/.exec(
    err.message,
  );
  if (missing === null) return err.message;
  const option = missing[1]!;
  return `${option} needs ${hints[option] ?? 'a value'}`;
}

export function describe(problem: Problem, status: number): string {
  const lines = [`${status} ${problem.title ?? ''}: ${problem.detail ?? 'no detail'}`.trim()];
  for (const e of problem.errors ?? []) lines.push(`  ${e.path}: ${e.message}`);
  return lines.join('\n');
}

const PLAIN: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'no such host',
  EAI_AGAIN: 'the host name could not be resolved',
  ECONNRESET: 'the connection was reset',
  ETIMEDOUT: 'timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  UND_ERR_CONNECT_TIMEOUT: 'timed out connecting',
  UND_ERR_SOCKET: 'the connection was closed',
};

/** Node's fetch says "fetch failed"; the reason is in its cause (or the cause's errors). */
export function networkFailure(err: unknown): string {
  type Cause = { code?: string; message?: string; errors?: Cause[] };
  const cause = (err as { cause?: Cause }).cause;
  const inner = cause?.code === undefined ? (cause?.errors?.[0] ?? cause) : cause;
  const code = inner?.code;
  if (code !== undefined) return `${PLAIN[code] ?? inner?.message ?? code} (${code})`;
  return inner?.message ?? (err as Error).message;
}

export function unreachable(base: string, err: unknown): CliError {
  return new CliError(
    `cannot reach Gatehouse at ${base}: ${networkFailure(err)}; check GATEHOUSE_URL`,
    true,
  );
}

const isProblem = (res: Response) =>
  (res.headers.get('content-type') ?? '').toLowerCase().startsWith('application/problem+json');

async function readProblem(res: Response): Promise<Problem> {
  const text = await res.text();
  try {
    return JSON.parse(text) as Problem;
  } catch {
    return { detail: text.slice(0, 500) };
  }
}

function notGatehouse(base: string, what: string, res: Response): CliError {
  const type = (res.headers.get('content-type') ?? 'no content type').split(';')[0]!;
  return new CliError(
    `${what} got ${res.status} ${type}, not an answer from Gatehouse: is GATEHOUSE_URL (${base}) the Gatehouse address?`,
  );
}

/**
 * An answer that is not a success, as an error a person can act on: Gatehouse answers
 * every error as problem+json, so anything else is some other server at GATEHOUSE_URL;
 * only Gatehouse's own 401 means the token was refused.
 */
export async function refusal(
  base: string,
  what: string,
  res: Response,
  subject?: string,
): Promise<CliError> {
  if (!isProblem(res)) {
    if (res.status >= 500 || res.status === 429)
      return new CliError(`${what} got ${res.status} ${res.statusText}`.trim(), true);
    await res.body?.cancel();
    return notGatehouse(base, what, res);
  }
  const text = describe(await readProblem(res), res.status);
  if (res.status === 401) return new CliError(`the token was refused: ${text}`);
  const transient = res.status >= 500 || res.status === 429;
  return new CliError(subject === undefined ? text : `${subject} was refused: ${text}`, transient);
}

/** A JSON answer from Gatehouse, or a CliError that says plainly why not. */
export async function readJson<T>(base: string, what: string, res: Response): Promise<T> {
  if (!res.ok) throw await refusal(base, what, res);
  const type = res.headers.get('content-type') ?? '';
  if (!type.toLowerCase().startsWith('application/json')) {
    await res.body?.cancel();
    throw notGatehouse(base, what, res);
  }
  return (await res.json()) as T;
}

/** GET a Gatehouse path (after /api/v1) as JSON. */
export async function getJson<T>(base: string, path: string, auth: Auth): Promise<T> {
  const what = `GET /api/v1${path.split('?')[0]!}`;
  const res = await fetch(`${base}/api/v1${path}`, { headers: auth }).catch((err: unknown) => {
    throw unreachable(base, err);
  });
  return readJson<T>(base, what, res);
}

/** The organization a token belongs to. */
export async function orgOfToken(base: string, auth: Auth): Promise<string> {
  const body = await getJson<{ org?: { slug?: unknown } }>(base, '/token', auth);
  const slug = body.org?.slug;
  if (typeof slug !== 'string')
    throw new CliError(
      `GET /api/v1/token named no organization, not an answer from Gatehouse: is GATEHOUSE_URL (${base}) the Gatehouse address?`,
    );
  return slug;
}

/** `/orgs/:org/projects/:project`, encoded. */
export function projectPath(org: string, project: string): string {
  return `/orgs/${encodeURIComponent(org)}/projects/${encodeURIComponent(project)}`;
}
