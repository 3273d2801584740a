import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local HTTP server speaking the few GitHub REST endpoints Gatehouse calls: issue comments
 * (list, create, get, update, delete) and commit statuses. It records every request, keeps
 * comments and statuses in memory, enforces GitHub's 65,536-character comment limit, and
 * answers faults on demand (a secondary rate limit with Retry-After, a 5xx).
 */
export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown> | null;
  /** Milliseconds since the epoch, when it arrived. */
  at: number;
  /** What was answered. */
  status: number;
}

export interface FakeComment {
  id: number;
  repo: string;
  issue: number;
  body: string;
}

export interface FakeStatus {
  id: number;
  repo: string;
  sha: string;
  state: string;
  context: string;
  description: string;
  target_url: string;
}

export interface Fault {
  status: number;
  /** Seconds, sent as Retry-After. */
  retryAfter?: number;
  message?: string;
}

/** GitHub's words for its secondary rate limit (Octokit recognizes it by them). */
export const SECONDARY_RATE_LIMIT =
  'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.';

export interface FakeGithub {
  /** The API's base URL, as a link's `apiUrl`. */
  url: string;
  requests: RecordedRequest[];
  comments: Map<number, FakeComment>;
  statuses: FakeStatus[];
  /** The next requests matching `method` and `path` get these answers, one each, in order. */
  failNext(method: string, path: RegExp, ...faults: Fault[]): void;
  /** A comment written by someone else (or one whose id Gatehouse lost). */
  addComment(repo: string, issue: number, body: string): FakeComment;
  commentsOn(repo: string, issue: number): FakeComment[];
  /** Requests to one repository's endpoints. */
  requestsFor(repo: string): RecordedRequest[];
  close(): Promise<void>;
}

/** Tokens the fake refuses with 401, as GitHub does a revoked one. */
export const BAD_TOKEN = 'bad-token';

const str = (v: unknown): string => (typeof v === 'string' ? v : '');

export async function startFakeGithub(): Promise<FakeGithub> {
  const requests: RecordedRequest[] = [];
  const comments = new Map<number, FakeComment>();
  const statuses: FakeStatus[] = [];
  const faults: { method: string; path: RegExp; fault: Fault }[] = [];
  let nextId = 3_177_958_335; // the seed's "Comment #3177958335 added"
  let base = '';

  const addComment = (repo: string, issue: number, body: string): FakeComment => {
    const c = { id: nextId++, repo, issue, body };
    comments.set(c.id, c);
    return c;
  };
  const view = (c: FakeComment) => ({
    id: c.id,
    body: c.body,
    html_url: `https://github.test/${c.repo}/issues/${c.issue}#issuecomment-${c.id}`,
    url: `${base}/repos/${c.repo}/issues/comments/${c.id}`,
  });

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      const method = req.method ?? 'GET';
      const text = Buffer.concat(chunks).toString('utf8');
      const body = text === '' ? null : (JSON.parse(text) as Record<string, unknown>);
      const record: RecordedRequest = {
        method,
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body,
        at: Date.now(),
        status: 0,
      };
      requests.push(record);
      const send = (status: number, data?: unknown, headers: Record<string, string> = {}) => {
        record.status = status;
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(data === undefined ? undefined : JSON.stringify(data));
      };

      const f = faults.findIndex((x) => x.method === method && x.path.test(url.pathname));
      if (f >= 0) {
        const { fault } = faults.splice(f, 1)[0]!;
        return send(
          fault.status,
          { message: fault.message ?? 'Server Error' },
          fault.retryAfter === undefined ? {} : { 'retry-after': String(fault.retryAfter) },
        );
      }
      const auth = req.headers.authorization ?? '';
      if (!/^(token|bearer) \S+$/i.test(auth) || auth.endsWith(` ${BAD_TOKEN}`))
        return send(401, { message: 'Bad credentials' });

      let m: RegExpExecArray | null;
      if ((m = /^\/repos\/([^/]+\/[^/]+)\/issues\/(\d+)\/comments$/.exec(url.pathname))) {
        const [repo, issue] = [m[1]!, Number(m[2])];
        if (method === 'GET') {
          const perPage = Number(url.searchParams.get('per_page') ?? 30);
          const page = Number(url.searchParams.get('page') ?? 1);
          const all = [...comments.values()].filter((c) => c.repo === repo && c.issue === issue);
          const slice = all.slice((page - 1) * perPage, page * perPage);
          const headers: Record<string, string> = {};
          if (page * perPage < all.length) {
            const next = new URL(`${base}${url.pathname}`);
            next.searchParams.set('per_page', String(perPage));
            next.searchParams.set('page', String(page + 1));
            headers['link'] = `<${next.toString()}>; rel="next"`;
          }
          return send(200, slice.map(view), headers);
        }
        if (method === 'POST') {
          const text = str(body?.['body']);
          if (text.length > 65_536)
            return send(422, { message: 'Body is too long (maximum is 65536 characters)' });
          return send(201, view(addComment(repo, issue, text)));
        }
      }
      if ((m = /^\/repos\/([^/]+\/[^/]+)\/issues\/comments\/(\d+)$/.exec(url.pathname))) {
        const c = comments.get(Number(m[2]));
        if (c === undefined || c.repo !== m[1]) return send(404, { message: 'Not Found' });
        if (method === 'GET') return send(200, view(c));
        if (method === 'PATCH') {
          const text = str(body?.['body']);
          if (text.length > 65_536)
            return send(422, { message: 'Body is too long (maximum is 65536 characters)' });
          c.body = text;
          return send(200, view(c));
        }
        if (method === 'DELETE') {
          comments.delete(c.id);
          return send(204);
        }
      }
      if ((m = /^\/repos\/([^/]+\/[^/]+)\/statuses\/([0-9a-f]{4,40})$/.exec(url.pathname))) {
        if (method === 'POST') {
          const s: FakeStatus = {
            id: nextId++,
            repo: m[1]!,
            sha: m[2]!,
            state: str(body?.['state']),
            context: str(body?.['context']),
            description: str(body?.['description']),
            target_url: str(body?.['target_url']),
          };
          statuses.push(s);
          return send(201, s);
        }
      }
      return send(404, { message: 'Not Found' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: base,
    requests,
    comments,
    statuses,
    failNext(method, path, ...list) {
      for (const fault of list) faults.push({ method, path, fault });
    },
    addComment,
    commentsOn: (repo, issue) =>
      [...comments.values()].filter((c) => c.repo === repo && c.issue === issue),
    requestsFor: (repo) => requests.filter((r) => r.path.startsWith(`/repos/${repo}/`)),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
