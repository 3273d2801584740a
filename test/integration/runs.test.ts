import { gzipSync } from 'node:zlib';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { apiToken, ownerOfNewOrg, type Session } from '../helpers/actors.ts';
import { junitXml } from '../helpers/junit-gen.ts';
import { chunked, sendWhole } from '../helpers/raw-http.ts';
import { storedResults } from '../helpers/stored-results.ts';

let t: TestApp;
let owner: Session & { orgId: string };
let ci: { auth: { authorization: string } };
const MAX = 4 * 1024 * 1024;

beforeAll(async () => {
  t = await startTestApp({ GATEHOUSE_MAX_UPLOAD_BYTES: String(MAX) });
  owner = await ownerOfNewOrg(t.app, 'runs');
  const res = await t.app.inject({
    method: 'POST',
    url: '/api/v1/orgs/runs/projects',
    headers: owner.auth,
    payload: { key: 'api', name: 'API', githubRepo: 'acme/api', defaultBranch: 'main' },
  });
  expect(res.statusCode).toBe(201);
  ci = await apiToken(t.app, owner, 'runs');
});
afterAll(() => t.close());

const base = '/api/v1/orgs/runs/projects/api/runs';
const xmlHeaders = (extra: Record<string, string> = {}) => ({
  ...ci.auth,
  'content-type': 'application/xml',
  ...extra,
});

async function counts() {
  const one = async (table: 'test_runs' | 'run_files') =>
    Number(
      (
        await t.database.db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll<string>().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );
  return {
    runs: await one('test_runs'),
    results: await storedResults(t.database.db),
    files: await one('run_files'),
  };
}

describe('projects', () => {
  it('keeps keys unique in the org and validates the GitHub repository', async () => {
    const dup = await t.app.inject({
      method: 'POST',
      url: '/api/v1/orgs/runs/projects',
      headers: owner.auth,
      payload: { key: 'api', name: 'Again' },
    });
    expect(dup.statusCode).toBe(409);
    const bad = await t.app.inject({
      method: 'POST',
      url: '/api/v1/orgs/runs/projects',
      headers: owner.auth,
      payload: { key: 'x', name: 'X', githubRepo: 'not a repo' },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().detail).toMatch(/body\/githubRepo/);
    const patched = await t.app.inject({
      method: 'PATCH',
      url: '/api/v1/orgs/runs/projects/api',
      headers: owner.auth,
      payload: { defaultBranch: 'trunk' },
    });
    expect(patched.json()).toMatchObject({
      key: 'api',
      defaultBranch: 'trunk',
      githubRepo: 'acme/api',
    });
    await t.app.inject({
      method: 'PATCH',
      url: '/api/v1/orgs/runs/projects/api',
      headers: owner.auth,
      payload: { defaultBranch: 'main' },
    });
  });
});

describe('uploading results', () => {
  it('stores a run with totals, pass rate, metadata and every testcase', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: `${base}?commit=abc123&branch=feature%2Fx&build=42&issue=2`,
      headers: xmlHeaders(),
      payload: junitXml(60, { failEvery: 5 }),
    });
    expect(res.statusCode).toBe(201);
    const run = res.json();
    expect(run).toMatchObject({
      project: 'api',
      commit: 'abc123',
      branch: 'feature/x',
      build: '42',
      attempt: 1,
      issue: 2,
      totals: { tests: 60, passed: 48, failed: 12, errored: 0, skipped: 0, flaky: 0 },
      passRate: 0.8,
      files: 1,
    });
    expect(run.url).toBe(`http://gatehouse.test${base}/${run.id}`);
    const failed = await t.app.inject({
      method: 'GET',
      url: `${base}/${run.id}/results?status=failed&limit=5`,
      headers: ci.auth,
    });
    const page = failed.json();
    expect(page.items).toHaveLength(5);
    expect(page.items[0]).toMatchObject({
      status: 'failed',
      failureType: 'java.lang.AssertionError',
      classname: expect.stringMatching(/^com\.example/),
    });
    expect(page.items[0].failureText).toContain('at com.example');
    expect(page.items[0].testId).toMatch(/^[0-9a-f]{32}$/);
    const rest = await t.app.inject({
      method: 'GET',
      url: `${base}/${run.id}/results?status=failed&limit=100&cursor=${page.nextCursor}`,
      headers: ci.auth,
    });
    expect(rest.json().items).toHaveLength(7);
    expect(rest.json().nextCursor).toBeNull();
  });

  it('keeps every kind of testcase whole and in file order', async () => {
    const xml = `<testsuites><testsuite name="outer"><testsuite name="inner">
      <testcase classname="k.A" name="plain" time="0.25"/>
      <testcase classname="k.A" name="failing" time="1"><failure type="E" message="m">stack</failure></testcase>
      <testcase classname="k.B" name="off"><skipped/></testcase>
      <testcase classname="k.B" name="talks"><system-out>out</system-out><system-err>err</system-err></testcase>
      <testcase classname="k.A" name="owned"><properties><property name="owner" value="qa"/></properties></testcase>
      <testcase classname="k.C" name="once"><flakyFailure type="T" message="first try"/></testcase>
      <testcase classname="k.C" name="broken"><error type="X" message="boom"/><rerunError type="X" message="again"/></testcase>
      <testcase classname="k.A" name="last"/>
    </testsuite></testsuite></testsuites>`;
    const run = (
      await t.app.inject({ method: 'POST', url: base, headers: xmlHeaders(), payload: xml })
    ).json();
    const items = (
      await t.app.inject({ method: 'GET', url: `${base}/${run.id}/results`, headers: ci.auth })
    ).json().items;
    const none = {
      failureType: null,
      failureMessage: null,
      failureText: null,
      systemOut: null,
      systemErr: null,
      truncated: false,
      flaky: false,
      reruns: [],
      properties: {},
    };
    expect(items.map((i: { name: string }) => i.name)).toEqual([
      'plain',
      'failing',
      'off',
      'talks',
      'owned',
      'once',
      'broken',
      'last',
    ]);
    expect(items[0]).toMatchObject({
      ...none,
      suite: 'outer / inner',
      classname: 'k.A',
      status: 'passed',
      durationMs: 250,
    });
    expect(items[1]).toMatchObject({
      status: 'failed',
      failureType: 'E',
      failureMessage: 'm',
      failureText: 'stack',
      durationMs: 1000,
    });
    expect(items[2]).toMatchObject({ ...none, classname: 'k.B', status: 'skipped' });
    expect(items[3]).toMatchObject({ status: 'passed', systemOut: 'out', systemErr: 'err' });
    expect(items[4]).toMatchObject({ status: 'passed', properties: { owner: 'qa' } });
    expect(items[5]).toMatchObject({
      status: 'passed',
      flaky: true,
      reruns: [{ kind: 'flakyFailure', type: 'T', message: 'first try' }],
    });
    expect(items[6]).toMatchObject({
      status: 'error',
      reruns: [{ kind: 'rerunError', type: 'X', message: 'again' }],
    });
    expect(items[7]).toMatchObject({ ...none, suite: 'outer / inner', status: 'passed' });
    expect(new Set(items.map((i: { testId: string }) => i.testId)).size).toBe(8);
  });

  it('gives the same test the same identity in every run', async () => {
    const xml = '<testsuite name="s"><testcase classname="k" name="same"/></testsuite>';
    const ids = [];
    for (let i = 0; i < 2; i++) {
      const run = (
        await t.app.inject({ method: 'POST', url: base, headers: xmlHeaders(), payload: xml })
      ).json();
      const results = (
        await t.app.inject({ method: 'GET', url: `${base}/${run.id}/results`, headers: ci.auth })
      ).json();
      ids.push(results.items[0].testId);
    }
    expect(ids[0]).toBe(ids[1]);
  });

  it('accepts gzip and multipart with several files', async () => {
    const gz = await t.app.inject({
      method: 'POST',
      url: base,
      headers: xmlHeaders({ 'content-encoding': 'gzip' }),
      payload: gzipSync(junitXml(30)),
    });
    expect(gz.statusCode).toBe(201);
    expect(gz.json().totals.tests).toBe(30);

    const boundary = '----gatehouse-test';
    const part = (name: string, body: Buffer, type: string) =>
      Buffer.concat([
        Buffer.from(
          `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\nContent-Type: ${type}\r\n\r\n`,
        ),
        body,
        Buffer.from('\r\n'),
      ]);
    const payload = Buffer.concat([
      part('unit.xml', Buffer.from(junitXml(10)), 'application/xml'),
      part('integration.xml.gz', gzipSync(junitXml(20, { failEvery: 2 })), 'application/gzip'),
      Buffer.from(`--${boundary}--\r\n`),
    ]);
    const multi = await t.app.inject({
      method: 'POST',
      url: `${base}?build=multi`,
      headers: { ...ci.auth, 'content-type': `multipart/form-data; boundary=${boundary}` },
      payload,
    });
    expect(multi.statusCode, multi.body).toBe(201);
    expect(multi.json()).toMatchObject({ files: 2, totals: { tests: 30, failed: 11 } });
    const detail = (
      await t.app.inject({ method: 'GET', url: `${base}/${multi.json().id}`, headers: ci.auth })
    ).json();
    expect(detail.uploads.map((u: { filename: string }) => u.filename).sort()).toEqual([
      'integration.xml.gz',
      'unit.xml',
    ]);
  });

  it('reads each file in the encoding it declares: UTF-16 with a byte order mark, ISO-8859-1', async () => {
    const body = (encoding: string) =>
      `<?xml version="1.0" encoding="${encoding}"?><testsuite name="Überprüfung">` +
      `<testcase classname="café.Test" name="naïve"><failure message="attendu « 200 »"/></testcase></testsuite>`;
    const utf16 = Buffer.concat([
      Buffer.from([0xff, 0xfe]),
      Buffer.from(body('UTF-16'), 'utf16le'),
    ]);
    const latin1 = Buffer.from(body('ISO-8859-1'), 'latin1');
    for (const payload of [utf16, latin1]) {
      const run = await t.app.inject({ method: 'POST', url: base, headers: xmlHeaders(), payload });
      expect(run.statusCode, run.body).toBe(201);
      const results = (
        await t.app.inject({
          method: 'GET',
          url: `${base}/${run.json().id}/results`,
          headers: ci.auth,
        })
      ).json();
      expect(results.items[0]).toMatchObject({
        suite: 'Überprüfung',
        classname: 'café.Test',
        name: 'naïve',
        status: 'failed',
        failureMessage: 'attendu « 200 »',
      });
    }
  });

  it('lists runs newest first, filtered by branch, commit and issue, with a cursor', async () => {
    for (const branch of ['main', 'main', 'dev']) {
      await t.app.inject({
        method: 'POST',
        url: `${base}?branch=${branch}&commit=c-${branch}&issue=7`,
        headers: xmlHeaders(),
        payload: junitXml(3),
      });
    }
    const main = (
      await t.app.inject({ method: 'GET', url: `${base}?branch=main&limit=1`, headers: ci.auth })
    ).json();
    expect(main.items).toHaveLength(1);
    const next = (
      await t.app.inject({
        method: 'GET',
        url: `${base}?branch=main&limit=1&cursor=${main.nextCursor}`,
        headers: ci.auth,
      })
    ).json();
    expect(next.items[0].id < main.items[0].id).toBe(true);
    expect(next.nextCursor).toBeNull();
    const dev = (
      await t.app.inject({ method: 'GET', url: `${base}?commit=c-dev`, headers: ci.auth })
    ).json();
    expect(dev.items.map((r: { branch: string }) => r.branch)).toEqual(['dev']);
    const issue = (
      await t.app.inject({ method: 'GET', url: `${base}?issue=7`, headers: ci.auth })
    ).json();
    expect(issue.items).toHaveLength(3);
  });
});

describe('run grouping and idempotency', () => {
  it('joins two uploads with the same build and attempt into one run; another attempt is another run', async () => {
    const a = (
      await t.app.inject({
        method: 'POST',
        url: `${base}?build=matrix-1`,
        headers: xmlHeaders(),
        payload: junitXml(10),
      })
    ).json();
    const b = (
      await t.app.inject({
        method: 'POST',
        url: `${base}?build=matrix-1`,
        headers: xmlHeaders(),
        payload: junitXml(5, { failEvery: 1 }),
      })
    ).json();
    expect(b.id).toBe(a.id);
    expect(b).toMatchObject({ files: 2, totals: { tests: 15, failed: 6 } });
    const c = (
      await t.app.inject({
        method: 'POST',
        url: `${base}?build=matrix-1&attempt=2`,
        headers: xmlHeaders(),
        payload: junitXml(1),
      })
    ).json();
    expect(c.id).not.toBe(a.id);
    expect(c.attempt).toBe(2);
  });

  it('answers a repeated Idempotency-Key with the first answer and stores nothing twice', async () => {
    const before = await counts();
    const send = () =>
      t.app.inject({
        method: 'POST',
        url: `${base}?build=idem`,
        headers: xmlHeaders({ 'idempotency-key': 'upload-1' }),
        payload: junitXml(20),
      });
    const first = await send();
    const second = await send();
    expect(second.statusCode).toBe(201);
    expect(second.json()).toEqual(first.json());
    const after = await counts();
    expect(after).toEqual({
      runs: before.runs + 1,
      results: before.results + 20,
      files: before.files + 1,
    });
  });

  it('loses nothing when uploads to one build arrive at once', async () => {
    const uploads = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        t.app.inject({
          method: 'POST',
          url: `${base}?build=concurrent`,
          headers: xmlHeaders(),
          payload: junitXml(50 + i),
        }),
      ),
    );
    for (const u of uploads) expect(u.statusCode).toBe(201);
    expect(new Set(uploads.map((u) => u.json().id)).size).toBe(1);
    const run = (
      await t.app.inject({
        method: 'GET',
        url: `${base}/${uploads[0]!.json().id}`,
        headers: ci.auth,
      })
    ).json();
    expect(run.totals.tests).toBe(50 + 51 + 52 + 53 + 54 + 55);
    expect(run.files).toBe(6);
    expect(await storedResults(t.database.db, run.id)).toBe(run.totals.tests);
  });
});

describe('hostile and bad uploads', () => {
  const cases: [
    string,
    () => { payload: string | Buffer; headers?: Record<string, string> },
    number,
    RegExp,
  ][] = [
    [
      'a billion-laughs DOCTYPE',
      () => ({
        payload: `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><testsuite name="&lol2;"/>`,
      }),
      400,
      /DOCTYPE/,
    ],
    [
      'an external entity',
      () => ({
        payload: `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><testsuite name="&xxe;"/>`,
      }),
      400,
      /DOCTYPE/,
    ],
    [
      '100k-deep nesting',
      () => ({ payload: '<testsuites>' + '<testsuite>'.repeat(100_000) }),
      400,
      /deeper/,
    ],
    [
      'a 1 MB attribute',
      () => ({
        payload: `<testsuite name="${'a'.repeat(1024 * 1024)}"><testcase name="x"/></testsuite>`,
      }),
      400,
      /longer than/,
    ],
    [
      'truncated gzip',
      () => ({
        payload: gzipSync(junitXml(200)).subarray(0, 300),
        headers: { 'content-encoding': 'gzip' },
      }),
      400,
      /gzip/,
    ],
    ['an upload over the limit', () => ({ payload: junitXml(40_000) }), 413, /limit/],
    [
      'a gzip bomb',
      () => ({
        payload: gzipSync(Buffer.alloc(MAX * 2, 0x20)),
        headers: { 'content-encoding': 'gzip' },
      }),
      413,
      /limit/,
    ],
    [
      'the wrong content type',
      () => ({ payload: '{"tests": 1}', headers: { 'content-type': 'application/json' } }),
      415,
      /application\/xml/,
    ],
    [
      'an unknown content encoding',
      () => ({ payload: 'x', headers: { 'content-encoding': 'br' } }),
      415,
      /Content-Encoding/,
    ],
    ['a foreign root element', () => ({ payload: '<html><body/></html>' }), 400, /root element/],
    [
      'an encoding it cannot decode',
      () => ({ payload: '<?xml version="1.0" encoding="x-unknown"?><testsuite/>' }),
      400,
      /encoding "x-unknown" is not supported/,
    ],
    [
      'a failure half-way through',
      () => ({ payload: junitXml(5000).replace('case_4000"', 'case_4000" time="<<computed>>"') }),
      400,
      /line \d+, column \d+/,
    ],
  ];

  it.each(cases)(
    'answers %s with a clear 4xx and stores nothing',
    async (_name, make, status, detail) => {
      const before = await counts();
      const { payload, headers = {} } = make();
      const res = await t.app.inject({
        method: 'POST',
        url: `${base}?build=hostile`,
        headers: xmlHeaders(headers),
        payload,
      });
      expect(res.statusCode, res.body.slice(0, 300)).toBe(status);
      expect(res.headers['content-type']).toContain('application/problem+json');
      const body = res.json();
      expect(`${body.detail} ${JSON.stringify(body.errors ?? [])}`).toMatch(detail);
      expect(await counts()).toEqual(before);
    },
  );
});

describe('roles', () => {
  it('lets a ci token upload and read but not manage members or projects', async () => {
    const up = await t.app.inject({
      method: 'POST',
      url: base,
      headers: xmlHeaders(),
      payload: junitXml(2),
    });
    expect(up.statusCode).toBe(201);
    expect((await t.app.inject({ method: 'GET', url: base, headers: ci.auth })).statusCode).toBe(
      200,
    );
    expect(
      (await t.app.inject({ method: 'GET', url: '/api/v1/orgs/runs/members', headers: ci.auth }))
        .statusCode,
    ).toBe(403);
    const invite = await t.app.inject({
      method: 'POST',
      url: '/api/v1/orgs/runs/invitations',
      headers: ci.auth,
      payload: { email: 'x@example.test', role: 'viewer' },
    });
    expect(invite.statusCode).toBe(403);
    const project = await t.app.inject({
      method: 'POST',
      url: '/api/v1/orgs/runs/projects',
      headers: ci.auth,
      payload: { key: 'ci-made', name: 'No' },
    });
    expect(project.statusCode).toBe(403);
  });
});

describe('the database connection dying mid-upload', () => {
  it('answers 503 to a client still sending its body, leaves no partial run, and the next upload succeeds', async () => {
    const address = await t.app.listen({ port: 0, host: '127.0.0.1' });
    // 16 MB in all (chunked, no length to refuse up front): more than the kernel's buffers
    // hold, so the client is still sending long after the failure.
    const xml = Buffer.from(junitXml(30_000));
    const body = chunked(Buffer.concat([xml, Buffer.alloc(16 * 1024 * 1024 - xml.length, 0x20)]));
    let killed = false;
    // Like a CI uploader that writes its whole file before reading the answer: the server
    // must answer and drain the rest of the body, not reset the connection under it.
    const result = await sendWhole(
      Number(new URL(address).port),
      `POST ${base}?build=killed HTTP/1.1\r\nHost: x\r\nAuthorization: ${ci.auth.authorization}\r\nContent-Type: application/xml\r\nTransfer-Encoding: chunked\r\n\r\n`,
      body,
      {
        after: 1024 * 1024,
        then: async () => {
          // Rows are on their way in; find the upload's transaction and kill its backend.
          for (let i = 0; i < 50 && !killed; i++) {
            const { rows } = await sql<{ pid: number }>`
              SELECT pid FROM pg_stat_activity
              WHERE datname = current_database() AND pid <> pg_backend_pid() AND xact_start IS NOT NULL
                AND backend_type = 'client backend'`.execute(t.database.db);
            if (rows.length > 0) {
              await sql`SELECT pg_terminate_backend(${rows[0]!.pid})`.execute(t.database.db);
              killed = true;
            } else await new Promise((r) => setTimeout(r, 20));
          }
        },
      },
    );
    expect(killed).toBe(true);
    expect(result.errors).toEqual([]);
    expect(result.received.slice(0, 300)).toMatch(/^HTTP\/1\.1 503 /);
    const left = await t.database.db
      .selectFrom('test_runs')
      .select('id')
      .where('build', '=', 'killed')
      .execute();
    expect(left).toEqual([]);
    const next = await t.app.inject({
      method: 'POST',
      url: `${base}?build=killed`,
      headers: xmlHeaders(),
      payload: junitXml(100),
    });
    expect(next.statusCode).toBe(201);
    expect(next.json().totals.tests).toBe(100);
  });
});
