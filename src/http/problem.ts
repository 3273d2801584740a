import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { uuidv7 } from 'uuidv7';
import { isDatabaseUnavailable } from '../db/connection.ts';
import { AppError, Conflict, Unavailable } from '../errors.ts';
import { lingerOnClose } from './linger.ts';

export const Problem = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    instance: Type.String(),
    code: Type.String(),
    requestId: Type.String(),
    errors: Type.Optional(Type.Array(Type.Object({ path: Type.String(), message: Type.String() }))),
  },
  { additionalProperties: true, $id: 'Problem' },
);

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  408: 'Request Timeout',
  409: 'Conflict',
  413: 'Content Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

interface AjvError {
  instancePath: string;
  schemaPath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
  /** The value that failed; present because the validators are built with `verbose`. */
  data?: unknown;
}

interface FieldError {
  path: string;
  message: string;
}

const TYPE_WORDS: Record<string, string> = {
  array: 'a list',
  object: 'an object',
  string: 'a string',
  number: 'a number',
  integer: 'an integer',
  boolean: 'true or false',
  null: 'null',
};

const shown = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));
const given = (v: unknown) => (v === undefined ? '' : `${JSON.stringify(v)} `);
const orList = (items: string[]) =>
  items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} or ${items.at(-1)}`;

function single(e: AjvError, base: string): FieldError {
  if (e.keyword === 'additionalProperties')
    return {
      path: `${base}/${String(e.params['additionalProperty'])}`,
      message: 'is not a known field',
    };
  if (e.keyword === 'required')
    return { path: `${base}/${String(e.params['missingProperty'])}`, message: 'is required' };
  if (e.keyword === 'enum') {
    const allowed = (e.params['allowedValues'] as unknown[] | undefined) ?? [];
    return {
      path: base,
      message: `${given(e.data)}is not one of ${allowed.map(shown).join(', ')}`,
    };
  }
  if (e.keyword === 'const')
    return { path: base, message: `${given(e.data)}is not ${shown(e.params['allowedValue'])}` };
  return { path: base, message: e.message ?? 'is invalid' };
}

/**
 * One message for a failed union (`anyOf`/`oneOf`, as TypeBox writes unions of literals)
 * instead of one per alternative: the value given and the values or kinds allowed. When
 * the value has the shape of some alternatives (an object whose discriminator matched),
 * only what is wrong inside those is reported.
 */
function union(group: AjvError, members: AjvError[], part: string): FieldError[] {
  const path = `${part}${group.instancePath}`;
  const prefix = `${group.schemaPath}/`;
  const branches = new Map<string, AjvError[]>();
  for (const m of members) {
    const branch = m.schemaPath.slice(prefix.length).split('/')[0] ?? '';
    branches.set(branch, [...(branches.get(branch) ?? []), m]);
  }
  const list = [...branches.values()];
  const SHALLOW = ['type', 'const', 'enum', 'anyOf', 'oneOf'];
  const isShallow = (errs: AjvError[]) =>
    errs.every((e) => e.instancePath === group.instancePath && SHALLOW.includes(e.keyword));
  const consts = (errs: AjvError[]) =>
    errs.flatMap((e) =>
      e.keyword === 'const'
        ? [e.params['allowedValue']]
        : e.keyword === 'enum'
          ? ((e.params['allowedValues'] as unknown[] | undefined) ?? [])
          : [],
    );
  if (list.every(isShallow)) {
    if (list.every((errs) => consts(errs).length > 0)) {
      const allowed = [...new Set(list.flatMap(consts).map(shown))];
      return [{ path, message: `${given(group.data)}is not one of ${allowed.join(', ')}` }];
    }
    const kinds = list.flatMap((errs) =>
      errs.flatMap((e) =>
        e.keyword === 'type'
          ? [TYPE_WORDS[String(e.params['type'])] ?? String(e.params['type'])]
          : e.keyword === 'const'
            ? [JSON.stringify(e.params['allowedValue'])]
            : [],
      ),
    );
    const suffix = group.data === undefined ? '' : `, not ${JSON.stringify(group.data)}`;
    return [{ path, message: `must be ${orList([...new Set(kinds)])}${suffix}` }];
  }
  // The value has the shape of the deeper alternatives: report inside those only, and of
  // those, the ones whose fixed fields (a `kind`) matched, when there are any.
  const deep = list.filter((errs) => !isShallow(errs));
  const deeperConst = (errs: AjvError[]) =>
    errs.some((e) => e.instancePath !== group.instancePath && e.keyword === 'const');
  const matched = deep.filter((errs) => !deeperConst(errs));
  if (matched.length > 0) return mapErrors(matched.flat(), part);
  // No alternative's fixed field matched (a misspelled `kind`): that field is the mistake.
  const at = deep[0]?.find((e) => e.keyword === 'const')?.instancePath;
  const fixed = deep.map((errs) =>
    errs.find((e) => e.keyword === 'const' && e.instancePath === at),
  );
  if (at !== undefined && fixed.every((e) => e !== undefined)) {
    const allowed = [...new Set(fixed.map((e) => shown(e.params['allowedValue'])))];
    return [
      {
        path: `${part}${at}`,
        message: `${given(fixed[0]?.data)}is not one of ${allowed.join(', ')}`,
      },
    ];
  }
  return mapErrors(deep.flat(), part);
}

function mapErrors(errors: AjvError[], part: string): FieldError[] {
  const groups = errors
    .filter((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf')
    .sort((a, b) => a.schemaPath.length - b.schemaPath.length);
  const used = new Set<AjvError>();
  const out: FieldError[] = [];
  const grouped = new Map<AjvError, FieldError[]>();
  for (const g of groups) {
    if (used.has(g)) continue;
    // The same union may fail for several items of a list: keep each item's errors apart.
    const members = errors.filter(
      (e) =>
        e !== g &&
        e.schemaPath.startsWith(`${g.schemaPath}/`) &&
        (e.instancePath === g.instancePath || e.instancePath.startsWith(`${g.instancePath}/`)),
    );
    for (const m of members) used.add(m);
    used.add(g);
    grouped.set(g, union(g, members, part));
  }
  for (const e of errors) {
    const result = grouped.get(e);
    if (result !== undefined) out.push(...result);
    else if (!used.has(e)) out.push(single(e, `${part}${e.instancePath}`));
  }
  const seen = new Set<string>();
  return out.filter((e) => {
    const key = `${e.path}\u0000${e.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function validationProblem(error: FastifyError): AppError {
  const part = error.validationContext ?? 'body';
  const errors = mapErrors(error.validation ?? [], part);
  const detail = errors.map((e) => `${e.path} ${e.message}`).join('; ') || error.message;
  return new AppError(400, 'bad_input', detail, { errors });
}

/** Maps any error to RFC 9457 problem+json; unknown errors become a 500 with only the request id. */
export function toAppError(error: FastifyError | Error): AppError {
  if (error instanceof AppError) return error;
  const fe = error as FastifyError & { code?: string };
  if (fe.validation !== undefined) return validationProblem(fe);
  // pg-pool's words for "every connection stayed busy for connectionTimeoutMillis": the
  // database is up, this process is overloaded (a connection that cannot be opened says
  // "Connection terminated due to connection timeout" instead).
  if (error.message === 'timeout exceeded when trying to connect')
    return new AppError(
      503,
      'busy',
      'The server is busy: every database connection stayed in use; try again shortly',
      {},
      { 'retry-after': '2' },
    );
  if (isDatabaseUnavailable(error)) return new Unavailable();
  if (fe.code === '23505') return new Conflict('That already exists');
  if (fe.code === '57014')
    return new AppError(
      503,
      'timeout',
      'The request took too long; try again',
      {},
      { 'retry-after': '5' },
    );
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    const code = (fe.code ?? 'bad_request').replace(/^FST_ERR_/, '').toLowerCase();
    return new AppError(fe.statusCode, code, fe.message);
  }
  return new AppError(
    500,
    'internal',
    'Something went wrong on our side; quote the request id when reporting it',
  );
}

function problemBody(error: AppError, instance: string, requestId: string) {
  return {
    type: `https://gatehouse.dev/problems/${error.code}`,
    title: TITLES[error.status] ?? 'Error',
    status: error.status,
    detail: error.message,
    instance,
    code: error.code,
    requestId,
    ...error.extra,
  };
}

export function sendProblem(
  request: FastifyRequest,
  reply: FastifyReply,
  error: AppError,
): FastifyReply {
  for (const [name, value] of Object.entries(error.headers)) void reply.header(name, value);
  // Refused before its body was read (an upload stopped at its first bad bytes): close the
  // connection, or the rest of that body would be read as the next request on it and the
  // client would wait for an answer that never comes; until it closes, the rest of the body
  // is read and dropped (on the response's socket when the request has let go of its own).
  if (!request.raw.complete) {
    void reply.header('connection', 'close');
    lingerOnClose(request.raw, request.raw.socket ?? reply.raw.socket);
  }
  return reply
    .code(error.status)
    .type('application/problem+json')
    .send(problemBody(error, request.url.split('?')[0] ?? request.url, request.id));
}

/** Longest path segment a route takes (Fastify's maxParamLength). */
export const MAX_PATH_SEGMENT = 200;

function uriTooLong(): AppError {
  return new AppError(
    414,
    'uri_too_long',
    `A path segment is longer than ${MAX_PATH_SEGMENT} characters`,
  );
}

/** A 414 when a segment of the URL's path is longer than any route takes, else null. */
export function segmentTooLong(url: string): AppError | null {
  const path = url.split('?')[0] ?? url;
  return path.split('/').some((segment) => segment.length > MAX_PATH_SEGMENT) ? uriTooLong() : null;
}

/**
 * Errors Fastify's router meets before a route runs (Fastify's `frameworkErrors`): a path
 * parameter over MAX_PATH_SEGMENT characters is a 414, a path with broken percent-encoding
 * a 400, both problem+json like every other error.
 */
export function answerFrameworkError(
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
): void {
  const problem =
    error.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? uriTooLong()
      : error.code === 'FST_ERR_BAD_URL'
        ? new AppError(400, 'bad_url', 'The path is not valid URL encoding')
        : toAppError(error);
  void sendProblem(request, reply, problem);
}

/**
 * Errors Node's HTTP parser meets before there is a request (headers over the size limit,
 * a malformed request line, a timeout): the same problem+json as every other error, written
 * on the socket, which is then closed. Fastify's `clientErrorHandler`.
 */
export function answerClientError(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const problem =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? new AppError(
          431,
          'headers_too_large',
          'The request headers are larger than the server accepts (16 KB in all)',
        )
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? new AppError(408, 'request_timeout', 'The request did not arrive in time')
        : new AppError(400, 'bad_request', 'The request is not valid HTTP');
  if (socket.writable) {
    const body = JSON.stringify(problemBody(problem, '', uuidv7()));
    socket.write(
      `HTTP/1.1 ${problem.status} ${TITLES[problem.status] ?? 'Error'}\r\n` +
        `Content-Type: application/problem+json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}
