import net from 'node:net';
import { gzipSync } from 'node:zlib';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiToken, ownerOfNewOrg, type Session } from '../helpers/actors.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { junitXml, multipart } from '../helpers/junit-gen.ts';
import { chunked, exchange, sendWhole } from '../helpers/raw-http.ts';
import { waitFor } from '../helpers/wait.ts';

const MAX_UPLOAD = 2 * 1024 * 1024;
let t: TestApp;
let owner: Session & { orgId: string };
let ci: { auth: { authorization: string } };
let port: number;

beforeAll(async () => {
  t = await startTestApp({ GATEHOUSE_MAX_UPLOAD_BYTES: String(MAX_UPLOAD) });
  owner = await ownerOfNewOrg(t.app, 'refusals');
  const res = await t.app.inject({
    method: 'POST',
    url: '/api/v1/orgs/refusals/projects',
    headers: owner.auth,
    payload: { key: 'api', name: 'API' },
  });
  expect(res.statusCode).toBe(201);
  ci = await apiToken(t.app, owner, 'refusals');
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  port = (t.app.server.address() as net.AddressInfo).port;
});
afterAll(() => t.close());

const runsUrl = '/api/v1/orgs/refusals/projects/api/runs';

/**
 * Rows an upload can leave behind, per table: its run, files and results (one row per
 * result before compact storage; blocks and details with it), its idempotency key and
 * audit entry. `tests`, the project's catalog of test identities, is not among them: new
 * identities are registered in a short transaction of their own so that concurrent uploads
 * never wait for each other, and may outlive a refused upload (see the known bug below).
 */
const TABLES = [
  'test_runs',
  'run_files',
  'test_results',
  'run_blocks',
  'result_details',
  'idempotency_keys',
  'audit_events',
];
async function counts(): Promise<Record<string, number>> {
  return tableCounts();
}

/** How many tests the project's test list shows, every page of it. */
async function listedTests(): Promise<number> {
  let count = 0;
  let cursor: string | null = null;
  do {
    const page: { statusCode: number; json: <T>() => T } = await t.app.inject({
      method: 'GET',
      url: `/api/v1/orgs/refusals/projects/api/tests?limit=200${cursor === null ? '' : `&cursor=${cursor}`}`,
      headers: owner.auth,
    });
    expect(page.statusCode).toBe(200);
    const body: { items: unknown[]; nextCursor: string | null } = page.json();
    count += body.items.length;
    cursor = body.nextCursor;
  } while (cursor !== null);
  return count;
}

async function tableCounts(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const table of TABLES) {
    const { rows } = await sql<{ exists: boolean }>`
      SELECT to_regclass(${`public.${table}`}) IS NOT NULL AS exists`.execute(t.database.db);
    if (rows[0]?.exists !== true) continue;
    const counted = await sql<{ n: string }>`SELECT count(*) AS n FROM ${sql.table(table)}`.execute(
      t.database.db,
    );
    out[table] = Number(counted.rows[0]!.n);
  }
  return out;
}

/** Waits until no request holds a database connection (a refused upload has rolled back). */
function settled(): Promise<true> {
  const pool = t.database.pool;
  return waitFor(() =>
    Promise.resolve(
      pool.totalCount === pool.idleCount && pool.waitingCount === 0 ? true : undefined,
    ),
  );
}

function nested(levels: number): string {
  return `<testsuites><testsuite name="deep"><testcase classname="a" name="b">${'<x>'.repeat(levels)}${'</x>'.repeat(levels)}</testcase></testsuite></testsuites>`;
}

function expectProblem(
  res: { statusCode: number; headers: Record<string, unknown>; json: () => unknown },
  status: number,
) {
  expect(res.statusCode).toBe(status);
  expect(String(res.headers['content-type'])).toContain('application/problem+json');
  const body = res.json() as { status: number; code: string; requestId: string };
  expect(body.status).toBe(status);
  expect(body.requestId).toBeTruthy();
  return body;
}

describe('refused uploads leave no trace', () => {
  it('refuses a single file nested 65 levels deep and stores nothing of it', async () => {
    const before = await counts();
    const res = await t.app.inject({
      method: 'POST',
      url: `${runsUrl}?build=deep`,
      headers: { ...ci.auth, 'content-type': 'application/xml' },
      payload: nested(65),
    });
    expect(expectProblem(res, 400).code).toBe('invalid_junit');
    await settled();
    expect(await counts()).toEqual(before);
  });

  it('refuses a multipart upload whose second part is a gzip bomb, keeping not even the good first file', async () => {
    const bomb = gzipSync(Buffer.alloc(MAX_UPLOAD * 4, 0x20));
    const boundary = 'bombboundary';
    const before = await counts();
    const res = await t.app.inject({
      method: 'POST',
      url: `${runsUrl}?build=bomb`,
      headers: { ...ci.auth, 'content-type': `multipart/form-data; boundary=${boundary}` },
      payload: multipart(boundary, [
        { filename: 'good.xml', type: 'application/xml', body: junitXml(200) },
        { filename: 'bomb.xml.gz', type: 'application/gzip', body: bomb },
      ]),
    });
    expectProblem(res, 413);
    await settled();
    expect(await counts()).toEqual(before);
  });

  // New test identities are registered in a transaction of their own (so concurrent uploads
  // of new tests never wait for each other's commit); they count as the project's only
  // once an upload holding them commits.
  it('keeps the tests of a refused multipart upload out of the project test list', async () => {
    const bomb = gzipSync(Buffer.alloc(MAX_UPLOAD * 4, 0x20));
    const boundary = 'bombboundary2';
    const before = await listedTests();
    const res = await t.app.inject({
      method: 'POST',
      url: `${runsUrl}?build=bomb2`,
      headers: { ...ci.auth, 'content-type': `multipart/form-data; boundary=${boundary}` },
      payload: multipart(boundary, [
        {
          filename: 'other.xml',
          type: 'application/xml',
          body: junitXml(100, { suite: 'other' }),
        },
        { filename: 'bomb.xml.gz', type: 'application/gzip', body: bomb },
      ]),
    });
    expectProblem(res, 413);
    await settled();
    expect(await listedTests()).toBe(before);
    // The same tests uploaded for good are the project's from then on.
    const good = await t.app.inject({
      method: 'POST',
      url: `${runsUrl}?build=good2`,
      headers: { ...ci.auth, 'content-type': 'application/xml' },
      payload: junitXml(100, { suite: 'other' }),
    });
    expect(good.statusCode).toBe(201);
    await settled();
    expect(await listedTests()).toBe(before + 100);
  });

  it('refuses a shard that fails half-way and keeps the earlier shards of the open run', async () => {
    const first = await t.app.inject({
      method: 'POST',
      url: `${runsUrl}?build=sharded&shards=2`,
      headers: { ...ci.auth, 'content-type': 'application/xml' },
      payload: junitXml(50),
    });
    expect(first.statusCode).toBe(201);
    const run = first.json<{ id: string; status: string; uploadsReceived: number }>();
    expect(run.status).toBe('open');
    const before = await counts();
    const res = await t.app.inject({
      method: 'POST',
      url: `${runsUrl}?build=sharded&shards=2`,
      headers: { ...ci.auth, 'content-type': 'application/xml' },
      payload: junitXml(50).slice(0, -40),
    });
    expectProblem(res, 400);
    await settled();
    expect(await counts()).toEqual(before);
    const after = await t.app.inject({
      method: 'GET',
      url: `${runsUrl}/${run.id}`,
      headers: ci.auth,
    });
    expect(after.json()).toMatchObject({
      status: 'open',
      uploadsReceived: 1,
      totals: { tests: 50 },
    });
  });

  it('stores nothing of an upload whose connection drops half-way through the body', async () => {
    const body = Buffer.from(junitXml(8000));
    expect(body.length).toBeLessThan(MAX_UPLOAD);
    const before = await counts();
    const socket = net.connect(port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(
      `POST ${runsUrl}?build=dropped HTTP/1.1\r\nHost: x\r\nAuthorization: ${ci.auth.authorization}\r\nContent-Type: application/xml\r\nContent-Length: ${body.length}\r\n\r\n`,
    );
    socket.write(body.subarray(0, body.length / 2));
    // The server is ingesting (it holds a connection) when the client goes away.
    const pool = t.database.pool;
    await waitFor(() => Promise.resolve(pool.totalCount > pool.idleCount ? true : undefined));
    socket.destroy();
    await settled();
    expect(await counts()).toEqual(before);
  });

  it('refuses a multipart upload that ends without its closing boundary with a 400, storing nothing', async () => {
    const boundary = 'openended';
    const before = await counts();
    const res = await t.app.inject({
      method: 'POST',
      url: `${runsUrl}?build=unclosed`,
      headers: { ...ci.auth, 'content-type': `multipart/form-data; boundary=${boundary}` },
      payload: multipart(
        boundary,
        [{ filename: 'a.xml', type: 'application/xml', body: junitXml(30) }],
        false,
      ),
    });
    expect(expectProblem(res, 400).code).toBe('bad_multipart');
    await settled();
    expect(await counts()).toEqual(before);
  });

  it('refuses multipart without a boundary with a 400, storing nothing', async () => {
    const before = await counts();
    const res = await t.app.inject({
      method: 'POST',
      url: `${runsUrl}?build=noboundary`,
      headers: { ...ci.auth, 'content-type': 'multipart/form-data' },
      payload: multipart('x', [{ filename: 'a.xml', type: 'application/xml', body: junitXml(3) }]),
    });
    expect(expectProblem(res, 400).code).toBe('bad_multipart');
    await settled();
    expect(await counts()).toEqual(before);
  });
});

describe('a client still sending after an early refusal', () => {
  it('reads the whole answer: the server drains the rest of the body instead of resetting the connection', async () => {
    const head = Buffer.from(nested(100));
    const socket = net.connect(port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    const errors: Error[] = [];
    socket.on('error', (err) => errors.push(err));
    const io = exchange(socket);
    socket.write(
      `POST ${runsUrl}?build=linger HTTP/1.1\r\nHost: x\r\nAuthorization: ${ci.auth.authorization}\r\nContent-Type: application/xml\r\nContent-Length: ${MAX_UPLOAD}\r\n\r\n`,
    );
    socket.write(head);
    await io.until((text) => text.includes('\r\n\r\n') && text.includes('}'));
    expect(io.received).toMatch(/^HTTP\/1\.1 400 /);
    // Like a CI uploader that streams its file without watching for an early answer, the
    // client sends the rest of the body it announced. Had the server closed its socket, the
    // kernel would answer these bytes with a reset and the client would see EPIPE/ECONNRESET.
    const filler = Buffer.alloc(64 * 1024, 0x20);
    for (let sent = head.length; sent < MAX_UPLOAD && errors.length === 0;) {
      const chunk = filler.subarray(0, Math.min(filler.length, MAX_UPLOAD - sent));
      if (!socket.write(chunk))
        await new Promise((r) => {
          socket.once('drain', r);
          socket.once('close', r);
        });
      sent += chunk.length;
    }
    socket.end();
    await io.until(() => false);
    expect(errors).toEqual([]);
    expect(io.ended).toBe(true);
    expect(io.received).toContain('"status":400');
  }, 15_000);
});

/** ~`bytes` of valid JUnit XML, then a testcase that cannot be parsed, then filler. */
function brokenInTheMiddle(bytes: number, total: number): Buffer {
  const cases: string[] = ['<testsuites><testsuite name="middle">'];
  let size = cases[0]!.length;
  for (let i = 0; size < bytes; i++) {
    const one = `<testcase classname="app.Middle" name="case_${i}" time="0.001"/>`;
    cases.push(one);
    size += one.length;
  }
  cases.push('<testcase name="broken"><<<');
  const head = Buffer.from(cases.join(''));
  return Buffer.concat([head, Buffer.alloc(total - head.length, 0x20)]);
}

/**
 * Sends `body` chunked (16 MB and more: beyond what the kernel's buffers hold, so the client
 * is still sending long after the refusal), all of it before reading, and expects its
 * refusal (by default the 400 of invalid JUnit) with nothing stored.
 */
async function expectRefusedWhole(
  build: string,
  contentType: string,
  body: Buffer,
  refusal = { status: 400, code: 'invalid_junit' },
) {
  const before = await counts();
  const { errors, received } = await sendWhole(
    port,
    `POST ${runsUrl}?build=${build} HTTP/1.1\r\nHost: x\r\nAuthorization: ${ci.auth.authorization}\r\nContent-Type: ${contentType}\r\nTransfer-Encoding: chunked\r\n\r\n`,
    chunked(body),
  );
  expect(errors).toEqual([]);
  expect(received).toMatch(new RegExp(`^HTTP/1\\.1 ${refusal.status} `));
  expect(received).toContain(`"code":"${refusal.code}"`);
  await settled();
  expect(await counts()).toEqual(before);
}

describe('a client that writes its whole body before reading the answer', () => {
  it('gets the refusal of a raw upload that fails half-way: the rest of the body is drained, not stalled', async () => {
    // The limit is never reached: the upload fails at 512 KB.
    await expectRefusedWhole(
      'whole-raw',
      'application/xml',
      brokenInTheMiddle(512 * 1024, 16 * 1024 * 1024),
    );
  }, 15_000);

  it('gets the 413 of a body that goes past the limit half-way, without a length to refuse up front', async () => {
    // Valid JUnit past the 2 MB limit: the refusal comes from the byte count, not the parser.
    await expectRefusedWhole(
      'whole-too-large',
      'application/xml',
      brokenInTheMiddle(4 * 1024 * 1024, 16 * 1024 * 1024),
      { status: 413, code: 'too_large' },
    );
  }, 15_000);

  it('gets the refusal of a multipart upload whose first file fails half-way, with more files after it', async () => {
    const body = multipart('whole', [
      {
        filename: 'broken.xml',
        type: 'application/xml',
        body: brokenInTheMiddle(256 * 1024, 512 * 1024),
      },
      { filename: 'next.xml', type: 'application/xml', body: Buffer.alloc(16 * 1024 * 1024, 0x20) },
    ]);
    await expectRefusedWhole('whole-multipart', 'multipart/form-data; boundary=whole', body);
  }, 15_000);
});

describe('keep-alive after an early refusal', () => {
  it('never leaves the connection hanging: it closes, and the next request on a new one is answered', async () => {
    const head = Buffer.from(nested(100));
    const socket = net.connect(port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    const io = exchange(socket);
    // The body claims more than it sends: the refusal comes from its first bytes.
    socket.write(
      `POST ${runsUrl}?build=keepalive HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\nAuthorization: ${ci.auth.authorization}\r\nContent-Type: application/xml\r\nContent-Length: ${MAX_UPLOAD}\r\n\r\n`,
    );
    socket.write(head);
    await io.until((text) => text.includes('\r\n\r\n') && text.includes('}'));
    expect(io.received).toMatch(/^HTTP\/1\.1 400 /);
    expect(io.received.toLowerCase()).toContain('content-type: application/problem+json');
    expect(io.received.toLowerCase()).toContain('connection: close');
    // The server ends the connection instead of waiting for the rest of the body.
    socket.write(`GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n`);
    await io.until(() => false);
    expect(io.ended).toBe(true);
    const next = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(next.status).toBe(200);
  }, 15_000);
});
