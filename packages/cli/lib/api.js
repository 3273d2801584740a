// @ts-check
import { URL } from 'node:url';
import { parseArgs } from 'node:util';
/** How the client commands reach Gatehouse and how they say what went wrong. */

/** Bad arguments or configuration: the command prints its usage and exits 2. */
export class UsageError extends Error {}

/** Anything else that stops a command: printed as is, exit 2. */
export class CliError extends Error {
  /**
   * @param {string} message
   * @param {boolean} [transient] a network error, 5xx or 429: trying again later may work
   */
  constructor(message, transient = false) {
    super(message);
    /** @readonly */
    this.transient = transient;
  }
}

/**
 * @typedef {{ title?: string, detail?: string, errors?: { path: string, message: string }[] }} Problem
 * @typedef {Record<string, string>} Auth
 * @typedef {Record<string, string | undefined>} Env
 * @typedef {NodeJS.WritableStream & { isTTY?: boolean }} Out
 */

/**
 * Runs a client command: a usage mistake prints the message and the usage, a failure the
 * message alone; both exit 2. Anything else is a bug and propagates.
 * @param {string} name
 * @param {string} usage
 * @param {NodeJS.WritableStream} stderr
 * @param {() => Promise<number>} run
 * @returns {Promise<number>}
 */
export async function runCommand(name, usage, stderr, run) {
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

/**
 * The base address from GATEHOUSE_URL. People paste the API root as often as the site's,
 * so a trailing `/api/v1` is dropped: every path the CLI builds starts with it.
 * @param {string | undefined} raw
 * @returns {string}
 */
export function gatehouseUrl(raw) {
  const value = raw?.trim() ?? '';
  if (value === '') throw new UsageError('set GATEHOUSE_URL to the Gatehouse address');
  let url;
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

/**
 * What a client command about one issue needs, from its options and the environment.
 * @param {{ project?: string | undefined, issue?: string | undefined, org?: string | undefined }} values
 * @param {Env} env
 */
export function issueTarget(values, env) {
  if (values.project === undefined) throw new UsageError('--project is required');
  if (values.issue === undefined || !/^[1-9]\d{0,8}$/.test(values.issue))
    throw new UsageError('--issue must be the issue number');
  return {
    ...connection(env),
    project: values.project,
    issue: values.issue,
    org: values.org ?? env['GATEHOUSE_ORG'],
  };
}

/**
 * GATEHOUSE_URL and GATEHOUSE_TOKEN, checked.
 * @param {Env} env
 */
export function connection(env) {
  const base = gatehouseUrl(env['GATEHOUSE_URL']);
  const token = env['GATEHOUSE_TOKEN'];
  if (token === undefined || token === '')
    throw new UsageError('set GATEHOUSE_TOKEN to an API token (gth_...)');
  return { base, token };
}

/**
 * parseArgs' own words for an option without its value are about dashes; these are about
 * the option.
 * @param {Error} err
 * @param {Record<string, string>} [hints]
 * @returns {string}
 */
export function optionProblem(err, hints = {}) {
  const missing = /^Option '(--[\w-]+)(?: <value>)?' argument (?:missing|is ambiguous)/.exec(
    err.message,
  );
  const option = missing?.[1];
  if (option === undefined) return err.message;
  return `${option} needs ${hints[option] ?? 'a value'}`;
}

/**
 * parseArgs for a command, its refusals as UsageErrors about the option (optionProblem).
 * @template {import('node:util').ParseArgsConfig} T
 * @param {T} config
 * @param {Record<string, string>} [hints] what each option's value is, for the messages
 * @returns {ReturnType<typeof parseArgs<T>>}
 */
export function parseOptions(config, hints) {
  try {
    return parseArgs(config);
  } catch (err) {
    throw new UsageError(optionProblem(/** @type {Error} */ (err), hints));
  }
}

/**
 * @param {Problem} problem
 * @param {number} status
 */
export function describe(problem, status) {
  const lines = [`${status} ${problem.title ?? ''}: ${problem.detail ?? 'no detail'}`.trim()];
  for (const e of problem.errors ?? []) lines.push(`  ${e.path}: ${e.message}`);
  return lines.join('\n');
}

/** @type {Record<string, string>} */
const PLAIN = {
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

/**
 * Node's fetch says "fetch failed"; the reason is in its cause (or the cause's errors).
 * @param {unknown} err
 * @returns {string}
 */
export function networkFailure(err) {
  /** @typedef {{ code?: string, message?: string, errors?: Cause[] }} Cause */
  const cause = /** @type {{ cause?: Cause }} */ (err).cause;
  const inner = cause?.code === undefined ? (cause?.errors?.[0] ?? cause) : cause;
  const code = inner?.code;
  if (code !== undefined) return `${PLAIN[code] ?? inner?.message ?? code} (${code})`;
  return inner?.message ?? /** @type {Error} */ (err).message;
}

/**
 * @param {string} base
 * @param {unknown} err
 */
export function unreachable(base, err) {
  return new CliError(
    `cannot reach Gatehouse at ${base}: ${networkFailure(err)}; check GATEHOUSE_URL`,
    true,
  );
}

/** @param {Response} res */
const isProblem = (res) =>
  (res.headers.get('content-type') ?? '').toLowerCase().startsWith('application/problem+json');

/**
 * @param {Response} res
 * @returns {Promise<Problem>}
 */
async function readProblem(res) {
  const text = await res.text();
  try {
    /** @type {unknown} */
    const parsed = JSON.parse(text);
    return /** @type {Problem} */ (parsed);
  } catch {
    return { detail: text.slice(0, 500) };
  }
}

/**
 * @param {string} base
 * @param {string} what
 * @param {Response} res
 */
function notGatehouse(base, what, res) {
  const type = (res.headers.get('content-type') ?? 'no content type').split(';')[0];
  return new CliError(
    `${what} got ${res.status} ${type}, not an answer from Gatehouse: is GATEHOUSE_URL (${base}) the Gatehouse address?`,
  );
}

/**
 * An answer that is not a success, as an error a person can act on: Gatehouse answers
 * every error as problem+json, so anything else is some other server at GATEHOUSE_URL;
 * only Gatehouse's own 401 means the token was refused.
 * @param {string} base
 * @param {string} what
 * @param {Response} res
 * @param {string} [subject]
 * @returns {Promise<CliError>}
 */
export async function refusal(base, what, res, subject) {
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

/**
 * A JSON answer from Gatehouse, or a CliError that says plainly why not.
 * @template T
 * @param {string} base
 * @param {string} what
 * @param {Response} res
 * @returns {Promise<T>}
 */
export async function readJson(base, what, res) {
  if (!res.ok) throw await refusal(base, what, res);
  const type = res.headers.get('content-type') ?? '';
  if (!type.toLowerCase().startsWith('application/json')) {
    await res.body?.cancel();
    throw notGatehouse(base, what, res);
  }
  return /** @type {T} */ (await res.json());
}

/**
 * GET a Gatehouse path (after /api/v1) as JSON.
 * @template T
 * @param {string} base
 * @param {string} path
 * @param {Auth} auth
 * @returns {Promise<T>}
 */
export async function getJson(base, path, auth) {
  const what = `GET /api/v1${path.split('?')[0] ?? ''}`;
  const res = await globalThis
    .fetch(`${base}/api/v1${path}`, { headers: auth })
    .catch((/** @type {unknown} */ err) => {
      throw unreachable(base, err);
    });
  return readJson(base, what, res);
}

/**
 * The organization a token belongs to.
 * @param {string} base
 * @param {Auth} auth
 * @returns {Promise<string>}
 */
export async function orgOfToken(base, auth) {
  /** @type {{ org?: { slug?: unknown } }} */
  const body = await getJson(base, '/token', auth);
  const slug = body.org?.slug;
  if (typeof slug !== 'string')
    throw new CliError(
      `GET /api/v1/token named no organization, not an answer from Gatehouse: is GATEHOUSE_URL (${base}) the Gatehouse address?`,
    );
  return slug;
}

/**
 * `/orgs/:org/projects/:project`, encoded.
 * @param {string} org
 * @param {string} project
 */
export function projectPath(org, project) {
  return `/orgs/${encodeURIComponent(org)}/projects/${encodeURIComponent(project)}`;
}
