import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { apiToken, memberOf, ownerOfNewOrg, type Session } from '../helpers/actors.ts';
import { suiteXml, type CaseSpec } from '../helpers/junit-gen.ts';
import { SEED_QUALITY_CONFIG } from '../helpers/seed.ts';

let t: TestApp;
let owner: Session & { orgId: string };
let other: Session & { orgId: string };
let viewer: Session;
let ci: { auth: { authorization: string } };
const project = '/api/v1/orgs/rk/projects/app';
const risks = `${project}/issues/2/risks`;

/** The seed's run: 60 tests, 7 failing on JWT, 5 on the database, one flaky rerun. */
function seedRun(opts: { jwt: number; database: number }): string {
  const cases: CaseSpec[] = Array.from({ length: 60 }, (_, i) => ({ name: `t${i + 1}` }));
  for (let i = 0; i < opts.jwt; i++)
    cases[i] = {
      name: `t${i + 1}`,
      failure: { message: `JWT token structure invalid: claim ${i}` },
    };
  for (let i = 0; i < opts.database; i++)
    cases[10 + i] = {
      name: `t${11 + i}`,
      failure: { message: `connect ECONNREFUSED 127.0.0.1:54${i}` },
    };
  cases[59] = { name: 't60', flaky: true };
  return suiteXml(cases, 'org');
}

async function upload(xml: string, build: string) {
  const res = await t.app.inject({
    method: 'POST',
    url: `${project}/runs?issue=2&commit=${build}&branch=main&build=${build}`,
    headers: { ...ci.auth, 'content-type': 'application/xml' },
    payload: xml,
  });
  expect(res.statusCode, res.body).toBe(201);
}

beforeAll(async () => {
  t = await startTestApp();
  owner = await ownerOfNewOrg(t.app, 'rk');
  other = await ownerOfNewOrg(t.app, 'rk-other');
  viewer = await memberOf(t.app, owner, 'rk', 'viewer');
  ci = await apiToken(t.app, owner, 'rk');
  for (const [slug, auth] of [
    ['rk', owner.auth],
    ['rk-other', other.auth],
  ] as const) {
    const base = `/api/v1/orgs/${slug}/projects`;
    expect(
      (
        await t.app.inject({
          method: 'POST',
          url: base,
          headers: auth,
          payload: { key: 'app', name: 'App' },
        })
      ).statusCode,
    ).toBe(201);
    expect(
      (
        await t.app.inject({
          method: 'PUT',
          url: `${base}/app/quality-config`,
          headers: auth,
          payload: SEED_QUALITY_CONFIG,
        })
      ).statusCode,
    ).toBe(200);
    for (const number of [2, 3])
      expect(
        (
          await t.app.inject({
            method: 'POST',
            url: `${base}/app/issues`,
            headers: auth,
            payload: { number, title: `Issue ${number}` },
          })
        ).statusCode,
      ).toBe(201);
  }
  await upload(seedRun({ jwt: 7, database: 5 }), 'b1');
});
afterAll(() => t.close());

async function raise(payload: Record<string, unknown>, url = risks) {
  const res = await t.app.inject({ method: 'POST', url, headers: owner.auth, payload });
  expect(res.statusCode, res.body).toBe(201);
  return res.json();
}

describe('risks', () => {
  it('raises a risk with links and mitigations and answers its live signal', async () => {
    const r = await raise({
      severity: 'high',
      title: 'JWT authentication failures affecting user security',
      description: 'Token structure and role scoping',
      links: { categories: ['jwt'], gates: ['infrastructure'] },
      mitigations: [
        { text: 'Comprehensive TA escalation', status: 'done', ownerRole: 'qa_lead' },
        { text: 'Fix token claims', status: 'planned', ownerRole: 'developer' },
      ],
    });
    expect(r).toMatchObject({
      severity: 'high',
      status: 'open',
      version: 1,
      links: { categories: ['jwt'], gates: ['infrastructure'], tests: [] },
      mitigations: [
        { text: 'Comprehensive TA escalation', status: 'done', ownerRole: 'qa_lead' },
        { text: 'Fix token claims', status: 'planned', ownerRole: 'developer' },
      ],
      signal: {
        level: 'red',
        text: '7 failures in jwt now; Infrastructure Stability Gate blocked',
      },
    });
  });

  it('shows each risk its own signal: categories, gates and flaky tests', async () => {
    const db = await raise({
      severity: 'high',
      title: 'Database connectivity impacting platform reliability',
      links: { categories: ['database'] },
    });
    const env = await raise({
      severity: 'medium',
      title: 'Test environment instability causing CI/CD issues',
      links: { tests: ['app.OrgTest.t60', 'app.OrgTest.t59'], gates: ['reliability'] },
    });
    const iso = await raise({
      severity: 'medium',
      title: 'Multi-tenant isolation potentially compromised',
      links: { categories: ['security'] },
    });
    const plain = await raise({ severity: 'low', title: 'Nothing linked' });
    const list = await t.app.inject({ method: 'GET', url: risks, headers: viewer.auth });
    expect(list.statusCode).toBe(200);
    const signals = new Map<string, unknown>(
      list.json().items.map((r: { id: string; signal: unknown }) => [r.id, r.signal]),
    );
    expect(signals.get(db.id)).toMatchObject({ level: 'red', text: '5 failures in database now' });
    expect(signals.get(env.id)).toMatchObject({
      level: 'red',
      text: 'flaky: app.OrgTest.t60; Test Reliability Gate pending; not flaky now: app.OrgTest.t59',
    });
    expect(signals.get(iso.id)).toMatchObject({
      level: 'green',
      text: 'no failures in security now',
    });
    expect(signals.get(plain.id)).toBeNull();
    const one = await t.app.inject({
      method: 'GET',
      url: `${risks}/${db.id}`,
      headers: viewer.auth,
    });
    expect(one.json().signal.parts).toEqual([
      { kind: 'category', ref: 'database', level: 'red', text: '5 failures in database now' },
    ]);
  });

  it('says there is no run yet before the issue has one', async () => {
    const r = await raise(
      {
        severity: 'high',
        title: 'Early',
        links: { categories: ['jwt'], gates: ['infrastructure'] },
      },
      `${project}/issues/3/risks`,
    );
    expect(r.signal).toMatchObject({ level: 'amber' });
    expect(r.signal.text).toBe('Infrastructure Stability Gate pending; no complete test run yet');
  });

  it('follows the live data: a clean run turns the signal green', async () => {
    const r = await raise({
      severity: 'high',
      title: 'JWT again',
      links: { categories: ['jwt'], gates: ['infrastructure'] },
    });
    expect(r.signal.level).toBe('red');
    await upload(seedRun({ jwt: 0, database: 0 }), 'b2');
    const now = await t.app.inject({ method: 'GET', url: `${risks}/${r.id}`, headers: owner.auth });
    expect(now.json().signal).toMatchObject({
      level: 'green',
      text: 'no failures in jwt now; Infrastructure Stability Gate passed',
    });
    await upload(seedRun({ jwt: 7, database: 5 }), 'b3');
  });

  it('refuses links to categories and gates the project does not have, naming the field', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [
        { severity: 'high', title: 'x', links: { categories: ['jwt', 'nope'] } },
        'body/links/categories/1',
      ],
      [{ severity: 'high', title: 'x', links: { gates: ['nope'] } }, 'body/links/gates/0'],
      [{ severity: 'critical', title: 'x' }, 'body/severity'],
      [{ severity: 'high', title: '' }, 'body/title'],
      [{ severity: 'high', title: 'x', status: 'gone' }, 'body/status'],
      [
        { severity: 'high', title: 'x', mitigations: [{ text: 'y', status: 'maybe' }] },
        'body/mitigations/0/status',
      ],
      [
        {
          severity: 'high',
          title: 'x',
          mitigations: Array.from({ length: 51 }, () => ({ text: 'y', status: 'planned' })),
        },
        'body/mitigations',
      ],
      [{ severity: 'high', title: 'x', links: { tests: ['t'.repeat(501)] } }, 'body/links/tests/0'],
    ];
    for (const [payload, field] of cases) {
      const res = await t.app.inject({ method: 'POST', url: risks, headers: owner.auth, payload });
      expect(res.statusCode, JSON.stringify(payload).slice(0, 80)).toBe(400);
      expect(res.json().errors.map((e: { path: string }) => e.path)).toContain(field);
    }
  });

  describe('optimistic locking', () => {
    it('changes a risk read at its version, and refuses a stale version with a 409', async () => {
      const r = await raise({ severity: 'medium', title: 'Lockable' });
      const first = await t.app.inject({
        method: 'PATCH',
        url: `${risks}/${r.id}`,
        headers: owner.auth,
        payload: {
          version: 1,
          status: 'mitigated',
          mitigations: [{ text: 'Quality standards framework', status: 'done' }],
        },
      });
      expect(first.statusCode, first.body).toBe(200);
      expect(first.json()).toMatchObject({
        version: 2,
        status: 'mitigated',
        title: 'Lockable',
        mitigations: [{ text: 'Quality standards framework', status: 'done' }],
      });
      const stale = await t.app.inject({
        method: 'PATCH',
        url: `${risks}/${r.id}`,
        headers: owner.auth,
        payload: { version: 1, status: 'closed' },
      });
      expect(stale.statusCode).toBe(409);
      expect(stale.json().detail).toContain('version 2');
      const after = await t.app.inject({
        method: 'GET',
        url: `${risks}/${r.id}`,
        headers: owner.auth,
      });
      expect(after.json()).toMatchObject({ version: 2, status: 'mitigated' });
    });

    it('lets exactly one of two changes made on the same version through', async () => {
      const r = await raise({ severity: 'low', title: 'Contended' });
      const results = await Promise.all(
        ['high', 'medium'].map((severity) =>
          t.app.inject({
            method: 'PATCH',
            url: `${risks}/${r.id}`,
            headers: owner.auth,
            payload: { version: 1, severity },
          }),
        ),
      );
      expect(results.map((x) => x.statusCode).sort()).toEqual([200, 409]);
      const after = await t.app.inject({
        method: 'GET',
        url: `${risks}/${r.id}`,
        headers: owner.auth,
      });
      expect(after.json().version).toBe(2);
    });

    it('checks new links on a change, and answers a missing risk with a 404', async () => {
      const r = await raise({ severity: 'low', title: 'Relinked' });
      const bad = await t.app.inject({
        method: 'PATCH',
        url: `${risks}/${r.id}`,
        headers: owner.auth,
        payload: { version: 1, links: { gates: ['infrastructure', 'nope'] } },
      });
      expect(bad.statusCode).toBe(400);
      expect(bad.json().errors[0].path).toBe('body/links/gates/1');
      const missing = await t.app.inject({
        method: 'PATCH',
        url: `${risks}/01890000-0000-7000-8000-000000000000`,
        headers: owner.auth,
        payload: { version: 1, title: 'x' },
      });
      expect(missing.statusCode).toBe(404);
      const noVersion = await t.app.inject({
        method: 'PATCH',
        url: `${risks}/${r.id}`,
        headers: owner.auth,
        payload: { title: 'x' },
      });
      expect(noVersion.statusCode).toBe(400);
      expect(noVersion.json().errors.map((e: { path: string }) => e.path)).toContain(
        'body/version',
      );
    });
  });

  describe('access', () => {
    it('gives a viewer a 403 on raising and changing a risk, and changes nothing', async () => {
      const r = await raise({ severity: 'low', title: 'Guarded' });
      const post = await t.app.inject({
        method: 'POST',
        url: risks,
        headers: viewer.auth,
        payload: { severity: 'low', title: 'x' },
      });
      expect(post.statusCode).toBe(403);
      const patch = await t.app.inject({
        method: 'PATCH',
        url: `${risks}/${r.id}`,
        headers: viewer.auth,
        payload: { version: 1, title: 'changed' },
      });
      expect(patch.statusCode).toBe(403);
      const after = await t.app.inject({
        method: 'GET',
        url: `${risks}/${r.id}`,
        headers: owner.auth,
      });
      expect(after.json()).toMatchObject({ version: 1, title: 'Guarded' });
    });

    it("hides another org's risks behind a 404, and changes nothing", async () => {
      const r = await raise({ severity: 'low', title: 'Private' });
      const foreign = `/api/v1/orgs/rk-other/projects/app/issues/2/risks/${r.id}`;
      for (const req of [
        { method: 'GET' as const, url: foreign },
        { method: 'PATCH' as const, url: foreign, payload: { version: 1, title: 'stolen' } },
        { method: 'GET' as const, url: `${risks}/${r.id}` },
        { method: 'GET' as const, url: risks },
        { method: 'POST' as const, url: risks, payload: { severity: 'low', title: 'planted' } },
        {
          method: 'PATCH' as const,
          url: `${risks}/${r.id}`,
          payload: { version: 1, title: 'stolen' },
        },
      ]) {
        const res = await t.app.inject({ ...req, headers: other.auth });
        expect(res.statusCode, `${req.method} ${req.url}`).toBe(404);
      }
      const after = await t.app.inject({
        method: 'GET',
        url: `${risks}/${r.id}`,
        headers: owner.auth,
      });
      expect(after.json()).toMatchObject({ version: 1, title: 'Private' });
      const mine = await t.app.inject({ method: 'GET', url: risks, headers: owner.auth });
      expect(mine.json().items.map((x: { title: string }) => x.title)).not.toContain('planted');
    });
  });
});
