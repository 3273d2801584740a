import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Resolver } from './outbound-guard.ts';
import { postWebhook, signatureHeaders } from './webhooks.ts';

interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

let server: Server;
let port: number;
let received: Received[] = [];
/** What the receiver answers next: a status, or 'hang' to never answer. */
let answer: number | 'hang' = 200;

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      if (answer === 'hang') return;
      if (answer >= 300 && answer < 400) res.setHeader('location', '/elsewhere');
      res.writeHead(answer).end('a body nobody reads');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});
beforeEach(() => {
  received = [];
  answer = 200;
});

const SECRET = `whsec_${Buffer.from('a 32-byte test key for signing!!').toString('base64')}`;
const open = { allowPrivate: true };
const strict = { allowPrivate: false };
const to127: Resolver = (_h, _o, cb) => cb(null, [{ address: '127.0.0.1', family: 4 }]);

function post(body: string, extra: Partial<Parameters<typeof postWebhook>[0]> = {}) {
  const at = new Date();
  return postWebhook({
    url: `http://127.0.0.1:${port}/hook`,
    body,
    headers: signatureHeaders(SECRET, 'evt_1', at, body),
    policy: open,
    ...extra,
  });
}

describe('signing', () => {
  it('signs as Standard Webhooks does: the reference library verifies what the receiver got', async () => {
    const body = JSON.stringify({ type: 'gate.changed', timestamp: 'x', data: { n: 1 } });
    expect(await post(body)).toEqual({ outcome: 'delivered', responseStatus: 200, error: null });
    const [got] = received;
    expect(got).toMatchObject({ method: 'POST', url: '/hook', body });
    expect(got!.headers['content-type']).toBe('application/json');
    expect(got!.headers['webhook-id']).toBe('evt_1');
    expect(got!.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    const headers = got!.headers as Record<string, string>;
    expect(new Webhook(SECRET).verify(got!.body, headers)).toEqual(JSON.parse(body));
    // A changed body, or another secret, does not verify.
    expect(() => new Webhook(SECRET).verify(`${got!.body} `, headers)).toThrow(/signature/);
    const other = `whsec_${Buffer.from('another key, another signature!!').toString('base64')}`;
    expect(() => new Webhook(other).verify(got!.body, headers)).toThrow(/signature/);
  });

  it('puts the attempt time in webhook-timestamp, in seconds', () => {
    const at = new Date('2026-05-01T10:00:00.900Z');
    expect(signatureHeaders(SECRET, 'evt_2', at, '{}')['webhook-timestamp']).toBe(
      String(Date.parse('2026-05-01T10:00:00Z') / 1000),
    );
  });
});

describe('posting', () => {
  it('reports a non-2xx answer as a failure with its status', async () => {
    answer = 500;
    expect(await post('{}')).toEqual({
      outcome: 'failed',
      responseStatus: 500,
      error: 'answered 500',
    });
  });

  it('does not follow redirects', async () => {
    answer = 302;
    expect(await post('{}')).toMatchObject({
      outcome: 'failed',
      responseStatus: 302,
      error: 'answered 302 (redirects are not followed)',
    });
    expect(received.map((r) => r.url)).toEqual(['/hook']);
  });

  it('gives up after the timeout when the receiver never answers', async () => {
    answer = 'hang';
    const started = Date.now();
    expect(await post('{}', { timeoutMs: 300 })).toEqual({
      outcome: 'failed',
      responseStatus: null,
      error: 'no answer within 0.3 s',
    });
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('reports a refused connection as a failure worth retrying', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const gone = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    expect(await post('{}', { url: `http://127.0.0.1:${gone}/` })).toMatchObject({
      outcome: 'failed',
      responseStatus: null,
      error: expect.stringMatching(/^ECONNREFUSED/),
    });
  });
});

describe('the outbound guard at delivery time', () => {
  it('refuses a literal private address without calling it', async () => {
    expect(await post('{}', { policy: strict })).toMatchObject({
      outcome: 'refused',
      error: expect.stringMatching(/must not point at a loopback or private address/),
    });
    expect(received).toEqual([]);
  });

  it('refuses a public-looking name that DNS resolves (rebinds) to 127.0.0.1, without calling it', async () => {
    const outcome = await post('{}', {
      url: `http://hooks.example.com:${port}/hook`,
      policy: strict,
      resolve: to127,
    });
    expect(outcome).toMatchObject({
      outcome: 'refused',
      responseStatus: null,
      error: expect.stringMatching(/hooks\.example\.com resolves to .*127\.0\.0\.1/),
    });
    expect(received).toEqual([]);
  });

  it('connects to the address it checked when private addresses are allowed', async () => {
    const outcome = await post('{}', {
      url: `http://hooks.example.com:${port}/hook`,
      resolve: to127,
    });
    expect(outcome.outcome).toBe('delivered');
    expect(received[0]!.headers.host).toBe(`hooks.example.com:${port}`);
  });
});
