import pino, { type Logger } from 'pino';

/** JSON logs; credentials never reach them, whatever a caller passes. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        'headers.authorization',
        '*.password',
        '*.token',
        '*.accessToken',
        '*.refreshToken',
        'password',
        'token',
      ],
      censor: '[redacted]',
    },
  });
}

/** Query parameters that carry no secret; every other value is logged as `[REDACTED]`. */
const LOGGED_PARAMS = new Set([
  'limit',
  'cursor',
  'status',
  'branch',
  'commit',
  'build',
  'attempt',
  'issue',
  'shards',
  'filename',
  'action',
  'kind',
]);

/** A request URL for the log: the path as sent, query values other than known-safe ones hidden. */
export function redactUrl(url: string): string {
  const at = url.indexOf('?');
  if (at < 0) return url;
  const query = url
    .slice(at + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      if (eq < 0) return pair;
      let name: string;
      try {
        name = decodeURIComponent(pair.slice(0, eq).replace(/\+/g, ' '));
      } catch {
        name = '';
      }
      return LOGGED_PARAMS.has(name) ? pair : `${pair.slice(0, eq)}=[REDACTED]`;
    })
    .join('&');
  return `${url.slice(0, at)}?${query}`;
}

interface LoggedRequest {
  method: string;
  url: string;
  id?: unknown;
  host?: string;
  ip?: string;
  socket?: { remotePort?: number } | null;
}

/** Fastify's request serializer, with the query redacted (it logs `req.url` verbatim). */
export function serializeRequest(req: LoggedRequest): Record<string, unknown> {
  return {
    method: req.method,
    url: redactUrl(req.url),
    host: req.host,
    remoteAddress: req.ip,
    remotePort: req.socket?.remotePort,
  };
}
