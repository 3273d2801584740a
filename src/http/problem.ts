import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { isDatabaseUnavailable } from '../db/connection.ts';
import { AppError, Conflict, Unavailable } from '../errors.ts';

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
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

interface AjvError {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

function validationProblem(error: FastifyError): AppError {
  const part = error.validationContext ?? 'body';
  const errors = ((error.validation ?? []) as AjvError[]).map((e) => {
    const base = `${part}${e.instancePath}`;
    if (e.keyword === 'additionalProperties') {
      return {
        path: `${base}/${String(e.params['additionalProperty'])}`,
        message: 'is not a known field',
      };
    }
    if (e.keyword === 'required') {
      return { path: `${base}/${String(e.params['missingProperty'])}`, message: 'is required' };
    }
    return { path: base, message: e.message ?? 'is invalid' };
  });
  const detail = errors.map((e) => `${e.path} ${e.message}`).join('; ') || error.message;
  return new AppError(400, 'bad_input', detail, { errors });
}

/** Maps any error to RFC 9457 problem+json; unknown errors become a 500 with only the request id. */
export function toAppError(error: FastifyError | Error): AppError {
  if (error instanceof AppError) return error;
  const fe = error as FastifyError & { code?: string };
  if (fe.validation !== undefined) return validationProblem(fe);
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

export function sendProblem(
  request: FastifyRequest,
  reply: FastifyReply,
  error: AppError,
): FastifyReply {
  for (const [name, value] of Object.entries(error.headers)) void reply.header(name, value);
  return reply
    .code(error.status)
    .type('application/problem+json')
    .send({
      type: `https://gatehouse.dev/problems/${error.code}`,
      title: TITLES[error.status] ?? 'Error',
      status: error.status,
      detail: error.message,
      instance: request.url.split('?')[0] ?? request.url,
      code: error.code,
      requestId: request.id,
      ...error.extra,
    });
}
