import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiToken, ownerOfNewOrg, type Session } from '../helpers/actors.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { junitXml } from '../helpers/junit-gen.ts';
import { waitFor } from '../helpers/wait.ts';

let t: TestApp;
let owner: Session & { orgId: string };
let ci: { auth: { authorization: string } };
let port: number;

// One upload at a time, one more may wait; a pool of three leaves reads two connections.
beforeAll(async () => {
  t = await startTestApp({
    DATABASE_POOL_MAX: '3',
    DATABASE_CONNECTION_TIMEOUT_MS: '500',
    GATEHOUSE_UPLOAD_CONCURRENCY: '1',
    GATEHOUSE_UPLOAD_QUEUE: '1',
  });
  owner = await ownerOfNewOrg(t.app, 'admission');
  const res = await t.app.inject({
    method: 'POST',
    url: '/api/v1/orgs/admission/projects',
    headers: owner.auth,
    payload: { key: 'api', name: 'API' },
  });
  expect(res.statusCode).toBe(201);
  ci = await apiToken(t.app, owner, 'admission');
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  port = (t.app.server.address() as net.AddressInfo).port;
});
afterAll(() => t.close());

const runsUrl = '/api/v1/orgs/admission/projects/api/runs';
const BODY = Buffer.from(junitXml(2000));

/** Uploads as they are waiting or being stored, read from /metrics. */
async function uploads(): Promise<{ active: number; waiting: number }> {
  const res = await t.app.inject({ method: 'GET', url: '/metrics' });
  const gauge = (state: string) =>
    Number(new RegExp(`^gatehouse_uploads\\{state="${state}"\\} (\\d+)$`, 'm').exec(res.body)?.[1]);
  return { active: gauge('active'), waiting: gauge('waiting') };
}

/** Pooled connections in use right now. */
const busy = () => t.database.pool.totalCount - t.database.pool.idleCount;

/**
 * An upload over a socket of its own that sends half of its body (or only its headers) and
 * waits to send the rest.
 */
async function halfUpload(build: string, sent = BODY.length / 2) {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  let received = '';
  const answered = new Promise<string>((resolve) => {
    socket.on('data', (c: Buffer) => {
      received += c.toString();
      if (/\r\n\r\n[\s\S]*\}$/.test(received)) resolve(received);
    });
  });
  socket.write(
    `POST ${runsUrl}?build=${build} HTTP/1.1\r\nHost: x\r\nAuthorization: ${ci.auth.authorization}\r\nContent-Type: application/xml\r\nContent-Length: ${BODY.length}\r\n\r\n`,
  );
  socket.write(BODY.subarray(0, sent));
  return {
    socket,
    get received() {
      return received;
    },
    async finish(): Promise<string> {
      socket.write(BODY.subarray(sent));
      const text = await answered;
      socket.destroy();
      return text;
    },
  };
}

describe('admission control for uploads', () => {
  it('lets one more upload wait without a connection, refuses the next with 429 and Retry-After, and answers reads meanwhile', async () => {
    const first = await halfUpload('first');
    await waitFor(async () => ((await uploads()).active === 1 ? true : undefined));
    const second = await halfUpload('second');
    await waitFor(async () => ((await uploads()).waiting === 1 ? true : undefined));
    // Only the upload being stored holds a connection; the one waiting holds none.
    expect(busy()).toBe(1);

    const third = () =>
      t.app.inject({
        method: 'POST',
        url: `${runsUrl}?build=third`,
        headers: { ...ci.auth, 'content-type': 'application/xml', 'idempotency-key': 'third-1' },
        payload: BODY,
      });
    const refused = await third();
    expect(refused.statusCode).toBe(429);
    expect(refused.headers['content-type']).toContain('application/problem+json');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(refused.json()).toMatchObject({ status: 429, code: 'too_many_requests' });

    // Reads are answered while both uploads are still open.
    const read = await t.app.inject({ method: 'GET', url: runsUrl, headers: owner.auth });
    expect(read.statusCode).toBe(200);
    const gates = await t.app.inject({
      method: 'GET',
      url: '/api/v1/orgs/admission/projects/api/runs?limit=1',
      headers: ci.auth,
    });
    expect(gates.statusCode).toBe(200);
    expect(first.received).toBe('');
    expect(second.received).toBe('');

    expect(await first.finish()).toMatch(/^HTTP\/1\.1 201 /);
    expect(await second.finish()).toMatch(/^HTTP\/1\.1 201 /);
    // The refused upload, retried with the same Idempotency-Key as the CLI does, is stored.
    const retried = await third();
    expect(retried.statusCode).toBe(201);
    const list = await t.app.inject({ method: 'GET', url: runsUrl, headers: owner.auth });
    expect(
      list
        .json<{ items: { build: string }[] }>()
        .items.map((r) => r.build)
        .sort(),
    ).toEqual(['first', 'second', 'third']);
  });

  it('takes a client that goes away before sending its body out of the line, so the next may wait in its place', async () => {
    const first = await halfUpload('keep');
    await waitFor(async () => ((await uploads()).active === 1 ? true : undefined));
    const leaving = await halfUpload('leaving', 0);
    await waitFor(async () => ((await uploads()).waiting === 1 ? true : undefined));
    leaving.socket.destroy();
    await waitFor(async () => ((await uploads()).waiting === 0 ? true : undefined));
    const next = await halfUpload('next');
    await waitFor(async () => ((await uploads()).waiting === 1 ? true : undefined));
    expect(await first.finish()).toMatch(/^HTTP\/1\.1 201 /);
    expect(await next.finish()).toMatch(/^HTTP\/1\.1 201 /);
  });

  it('answers a request that found every connection busy with 503 busy, not "database unavailable"', async () => {
    const held = await Promise.all([1, 2, 3].map(() => t.database.pool.connect()));
    try {
      const res = await t.app.inject({ method: 'GET', url: runsUrl, headers: owner.auth });
      expect(res.statusCode).toBe(503);
      expect(res.headers['retry-after']).toBeDefined();
      const problem = res.json<{ code: string; detail: string }>();
      expect(problem.code).toBe('busy');
      expect(problem.detail).not.toMatch(/unavailable/i);
    } finally {
      for (const client of held) client.release();
    }
    const after = await t.app.inject({ method: 'GET', url: runsUrl, headers: owner.auth });
    expect(after.statusCode).toBe(200);
  });
});
