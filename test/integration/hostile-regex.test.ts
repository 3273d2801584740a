import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { apiToken, ownerOfNewOrg, type Session } from '../helpers/actors.ts';
import { suiteXml, type CaseSpec } from '../helpers/junit-gen.ts';

let t: TestApp;
let owner: Session;
let ci: { auth: { authorization: string } };
let origin: string;
const base = '/api/v1/orgs/hostile/projects/p';

// Each took 3.4 s on a 39-character message with JavaScript's RegExp, on the event loop.
const HOSTILE = {
  categories: [
    { name: 'alt', match: { message: '(a|aa)+$' } },
    { name: 'dup', match: { message: '(a|a)+$' } },
    { name: 'stars', match: { text: '.*.*.*.*x' } },
  ],
  gates: [
    {
      key: 'clean',
      name: 'Clean',
      conditions: [{ metric: 'failed_in_category', category: 'alt', op: '==', value: 0 }],
    },
  ],
  criteria: [],
};

beforeAll(async () => {
  t = await startTestApp();
  owner = await ownerOfNewOrg(t.app, 'hostile');
  const project = await t.app.inject({
    method: 'POST',
    url: '/api/v1/orgs/hostile/projects',
    headers: owner.auth,
    payload: { key: 'p', name: 'P' },
  });
  expect(project.statusCode).toBe(201);
  ci = await apiToken(t.app, owner, 'hostile');
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  origin = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
});
afterAll(() => t.close());

const putConfig = (config: object) =>
  t.app.inject({
    method: 'PUT',
    url: `${base}/quality-config`,
    headers: owner.auth,
    payload: config,
  });

describe('category patterns that backtrack catastrophically in JavaScript', () => {
  it.each([
    ['a backreference', { message: '(a)\\1' }, 'message', 'backreference \\1 is not supported'],
    ['a lookahead', { text: 'x(?=y)' }, 'text', 'lookahead (?= is not supported'],
    ['a negative lookbehind', { name: '(?<!a)b' }, 'name', 'negative lookbehind (?<! is not'],
  ])(
    'refuses %s with a 400 naming the pattern and what RE2 lacks, storing nothing',
    async (_what, match, field, unsupported) => {
      const before = (
        await t.app.inject({ method: 'GET', url: `${base}/quality-config`, headers: owner.auth })
      ).json().version;
      const res = await putConfig({ ...HOSTILE, categories: [{ name: 'c', match }], gates: [] });
      expect(res.statusCode).toBe(400);
      const pattern = Object.values(match)[0]!;
      expect(res.json().errors).toEqual([
        {
          path: `body/categories/0/match/${field}`,
          message: expect.stringContaining(unsupported),
        },
      ]);
      expect(res.json().errors[0].message).toContain(`\`${pattern}\``);
      expect(res.json().detail).toContain(`body/categories/0/match/${field} ${unsupported}`);
      expect(
        (
          await t.app.inject({ method: 'GET', url: `${base}/quality-config`, headers: owner.auth })
        ).json().version,
      ).toBe(before);
    },
  );

  it('accepts them, matches 10,000-character messages in linear time, and /healthz answers meanwhile', async () => {
    expect((await putConfig(HOSTILE)).statusCode).toBe(200);

    // 10,000 characters each: a run of a's that no pattern above can end on, within the
    // first 4,096 characters that matching reads, and no x.
    const hostile = `${'a'.repeat(4_000)}!${'b'.repeat(5_999)}`;
    const cases: CaseSpec[] = [
      ...Array.from({ length: 300 }, (_, i) => ({ name: `h${i}`, failure: { message: hostile } })),
      { name: 'matches', failure: { message: 'xaaaa' } },
    ];
    const xml = suiteXml(cases);

    // Resolves once the server has read the whole upload: the handler is running.
    const received = new Promise<void>((resolve) => {
      t.app.server.on('request', (req) => {
        if (req.method === 'POST' && req.url?.startsWith(`${base}/runs`) === true)
          req.once('end', () => resolve());
      });
    });
    let uploadDone = false;
    const upload = fetch(`${origin}${base}/runs?issue=7&commit=c7`, {
      method: 'POST',
      headers: { ...ci.auth, 'content-type': 'application/xml' },
      body: xml,
    }).then(async (res) => {
      uploadDone = true;
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    });
    await received;

    // Ask /healthz again and again until the upload answers; each time, note whether the
    // upload was still in flight when /healthz answered.
    const duringUpload: boolean[] = [];
    do {
      const health = await fetch(`${origin}/healthz`);
      expect(health.status).toBe(200);
      await health.text();
      duringUpload.push(!uploadDone);
    } while (!uploadDone);

    const res = await upload;
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(duringUpload[0]).toBe(true);
    expect(res.body['gates']).toMatchObject({
      gates: [{ key: 'clean', state: 'blocked', reasons: ['1 failure in alt'] }],
    });

    const triage = await t.app.inject({
      method: 'GET',
      url: `${base}/runs/${String(res.body['id'])}/triage`,
      headers: ci.auth,
    });
    expect(triage.statusCode).toBe(200);
    expect(
      triage
        .json()
        .categories.map((c: { category: string | null; count: number }) => [c.category, c.count]),
    ).toEqual([
      ['alt', 1],
      [null, 300],
    ]);
  });
});
