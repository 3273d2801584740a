import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { apiToken, memberOf, ownerOfNewOrg, type Session } from '../helpers/actors.ts';
import { casesWith, suiteXml } from '../helpers/junit-gen.ts';
import { SEED_QUALITY_CONFIG } from '../helpers/seed.ts';

let t: TestApp;
let owner: Session & { orgId: string };
let ci: { auth: { authorization: string } };
const base = '/api/v1/orgs/qa/projects/orgs';

beforeAll(async () => {
  t = await startTestApp();
  owner = await ownerOfNewOrg(t.app, 'qa');
  expect(
    (
      await t.app.inject({
        method: 'POST',
        url: '/api/v1/orgs/qa/projects',
        headers: owner.auth,
        payload: { key: 'orgs', name: 'Org management' },
      })
    ).statusCode,
  ).toBe(201);
  ci = await apiToken(t.app, owner, 'qa');
});
afterAll(() => t.close());

const upload = (query: string, xml: string, headers: Record<string, string> = ci.auth) =>
  t.app.inject({
    method: 'POST',
    url: `${base}/runs?${query}`,
    headers: { ...headers, 'content-type': 'application/xml' },
    payload: xml,
  });

function seedRun1(): string {
  const failures: Record<number, string> = {};
  for (let i = 1; i <= 7; i++)
    failures[i * 3] = `JWT token structure invalid: missing claim "org" in token ${i}`;
  for (let i = 1; i <= 5; i++) failures[30 + i * 4] = `connect ECONNREFUSED 127.0.0.1:${5430 + i}`;
  return suiteXml(casesWith(60, failures));
}

const stateOf = (report: { gates: { key: string; state: string }[] }) =>
  Object.fromEntries(report.gates.map((g) => [g.key, g.state]));

describe("the seed's situation, end to end", () => {
  let run1: string;

  it("holds issue #2 to the seed gates: the seed's picture (security passed, infrastructure blocked, reliability and production pending, overall blocked)", async () => {
    expect(
      (
        await t.app.inject({
          method: 'PUT',
          url: `${base}/quality-config`,
          headers: owner.auth,
          payload: SEED_QUALITY_CONFIG,
        })
      ).statusCode,
    ).toBe(200);
    const issue = await t.app.inject({
      method: 'POST',
      url: `${base}/issues`,
      headers: owner.auth,
      payload: {
        number: 2,
        title: 'Client Organization Management - Multi-Tenant Organization Features',
        phase: 'escalated',
        githubIssueUrl: 'https://github.com/acme/orgs/issues/2',
      },
    });
    expect(issue.statusCode).toBe(201);
    expect(issue.json().overall).toBe('pending');
    const review = await t.app.inject({
      method: 'PUT',
      url: `${base}/issues/2/review`,
      headers: owner.auth,
      payload: {
        verdict: 'conditional_pass',
        reviewer: 'Code Reviewer',
        notes: 'security fixes implemented',
        conditions: [{ text: 'All 5 critical security fixes', status: 'met' }],
      },
    });
    expect(review.statusCode).toBe(200);

    const res = await upload('issue=2&commit=c1&branch=feature%2Forgs&build=101', seedRun1());
    expect(res.statusCode).toBe(201);
    const run = res.json();
    run1 = run.id;
    expect(run.totals).toMatchObject({ tests: 60, passed: 48, failed: 12 });
    expect(run.passRate).toBe(0.8);
    expect(stateOf(run.gates)).toEqual({
      security: 'passed',
      infrastructure: 'blocked',
      reliability: 'pending',
      production: 'pending',
    });
    const gate = (key: string) => run.gates.gates.find((g: { key: string }) => g.key === key);
    expect(gate('reliability').reasons).toEqual([
      'waiting for Infrastructure Stability Gate',
      'pass rate 80% (48 of 60) is below 90%',
    ]);
    expect(gate('infrastructure').reasons).toEqual(['12 failures in jwt, database']);
    expect(gate('production').reasons).toEqual([
      'waiting for Infrastructure Stability Gate',
      'waiting for Test Reliability Gate',
    ]);
    expect(run.gates.overall).toBe('blocked');

    const report = (
      await t.app.inject({ method: 'GET', url: `${base}/issues/2/gates`, headers: owner.auth })
    ).json();
    expect(stateOf(report)).toEqual(stateOf(run.gates));
    expect(report.criteria.map((c: { key: string; state: string }) => [c.key, c.state])).toEqual([
      ['jwt-fixed', 'unmet'],
      ['pass-rate', 'pending'],
      ['security-kept', 'pending'],
    ]);
    expect(
      report.history.some(
        (h: { gate: string; to: string }) => h.gate === 'infrastructure' && h.to === 'blocked',
      ),
    ).toBe(true);
  });

  it('groups the 12 failures into the two root causes, each one cluster', async () => {
    const triage = (
      await t.app.inject({ method: 'GET', url: `${base}/runs/${run1}/triage`, headers: ci.auth })
    ).json();
    expect(triage.failures).toBe(12);
    expect(
      triage.categories.map((c: { category: string; count: number; blocking: boolean }) => [
        c.category,
        c.count,
        c.blocking,
      ]),
    ).toEqual([
      ['jwt', 7, true],
      ['database', 5, true],
    ]);
    expect(triage.categories[0].label).toBe('JWT token structure');
    expect(triage.categories[0].clusters).toEqual([
      expect.objectContaining({
        signature: 'AssertionError: JWT token structure invalid: missing claim <str> in token <n>',
        count: 7,
        firstSeenRunId: run1,
      }),
    ]);
    expect(triage.categories[1].clusters[0]).toMatchObject({
      signature: 'AssertionError: connect ECONNREFUSED <n>:<n>',
      count: 5,
    });
    expect(triage.categories[0].clusters[0].samples).toHaveLength(5);
  });

  it('passes once 55 of 60 pass with no JWT or database failures, and at exactly 54 of 60 (90%)', async () => {
    for (const [passing, build] of [
      [55, '102'],
      [54, '103'],
    ] as const) {
      const failures: Record<number, string> = {};
      for (let i = 1; i <= 60 - passing; i++) failures[i] = `expected:<${i}> but was:<${i + 1}>`;
      const res = await upload(
        `issue=2&commit=c${build}&branch=feature%2Forgs&build=${build}`,
        suiteXml(casesWith(60, failures)),
      );
      const gates = res.json().gates;
      expect(stateOf(gates), String(passing)).toEqual({
        security: 'passed',
        infrastructure: 'passed',
        reliability: 'passed',
        production: 'passed',
      });
      expect(gates.overall).toBe('passed');
    }
    const report = (
      await t.app.inject({ method: 'GET', url: `${base}/issues/2/gates`, headers: owner.auth })
    ).json();
    expect(report.history.find((h: { gate: string }) => h.gate === 'reliability')).toMatchObject({
      from: 'pending',
      to: 'passed',
    });
    expect(report.criteria.find((c: { key: string }) => c.key === 'pass-rate').state).toBe('met');
  });

  it('blocks again at 53 of 60', async () => {
    const failures: Record<number, string> = {};
    for (let i = 1; i <= 7; i++) failures[i] = 'expected:<1> but was:<2>';
    const gates = (
      await upload(
        'issue=2&commit=c104&branch=feature%2Forgs&build=104',
        suiteXml(casesWith(60, failures)),
      )
    ).json().gates;
    expect(gates.gates.find((g: { key: string }) => g.key === 'reliability')).toMatchObject({
      state: 'blocked',
      reasons: ['pass rate 88.3% (53 of 60) is below 90%'],
    });
  });
});

describe('reviews and criteria', () => {
  it('keeps review history and re-evaluates the gates on a new verdict', async () => {
    const res = await t.app.inject({
      method: 'PUT',
      url: `${base}/issues/2/review`,
      headers: owner.auth,
      payload: { verdict: 'fail', reviewer: 'Code Reviewer' },
    });
    expect(res.statusCode).toBe(200);
    const gates = (
      await t.app.inject({ method: 'GET', url: `${base}/issues/2/gates`, headers: owner.auth })
    ).json();
    expect(gates.gates.find((g: { key: string }) => g.key === 'security')).toMatchObject({
      state: 'blocked',
      reasons: ['review verdict is fail; needs one of pass, conditional_pass'],
    });
    const history = (
      await t.app.inject({ method: 'GET', url: `${base}/issues/2/reviews`, headers: owner.auth })
    ).json();
    expect(history.items.map((r: { verdict: string }) => r.verdict)).toEqual([
      'fail',
      'conditional_pass',
    ]);
    const paged = (
      await t.app.inject({
        method: 'GET',
        url: `${base}/issues/2/reviews?limit=1`,
        headers: owner.auth,
      })
    ).json();
    const older = (
      await t.app.inject({
        method: 'GET',
        url: `${base}/issues/2/reviews?limit=1&cursor=${paged.nextCursor}`,
        headers: owner.auth,
      })
    ).json();
    expect([paged.items[0].verdict, older.items[0].verdict]).toEqual(['fail', 'conditional_pass']);
  });

  it('checks a manual criterion with who and when, and refuses to hand-check an evaluated one', async () => {
    const res = await t.app.inject({
      method: 'PATCH',
      url: `${base}/issues/2/criteria/security-kept`,
      headers: owner.auth,
      payload: { checked: true },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      key: 'security-kept',
      state: 'met',
      checkedBy: owner.userId,
    });
    expect(res.json().checkedAt).toBeTruthy();
    const evaluated = await t.app.inject({
      method: 'PATCH',
      url: `${base}/issues/2/criteria/jwt-fixed`,
      headers: owner.auth,
      payload: { checked: true },
    });
    expect(evaluated.statusCode).toBe(409);
  });

  it('lets a reviewer record a verdict but not a developer; a ci token cannot change the config', async () => {
    const reviewer = await memberOf(t.app, owner, 'qa', 'reviewer');
    const developer = await memberOf(t.app, owner, 'qa', 'developer');
    const payload = { verdict: 'pass', reviewer: 'R' };
    expect(
      (
        await t.app.inject({
          method: 'PUT',
          url: `${base}/issues/2/review`,
          headers: reviewer.auth,
          payload,
        })
      ).statusCode,
    ).toBe(200);
    expect(
      (
        await t.app.inject({
          method: 'PUT',
          url: `${base}/issues/2/review`,
          headers: developer.auth,
          payload,
        })
      ).statusCode,
    ).toBe(403);
    expect(
      (
        await t.app.inject({
          method: 'PUT',
          url: `${base}/quality-config`,
          headers: ci.auth,
          payload: SEED_QUALITY_CONFIG,
        })
      ).statusCode,
    ).toBe(403);
  });
});

describe('flaky tests and regressions', () => {
  it('reports a test that failed and then passed on the same commit as flaky, with the runs as evidence', async () => {
    const first = (
      await upload(
        'issue=5&commit=f1&branch=main&build=200&attempt=1',
        suiteXml([
          { name: 'stable' },
          { name: 'wobbly', failure: { message: 'timeout after 30s' } },
        ]),
      )
    ).json();
    const second = (
      await upload(
        'issue=5&commit=f1&branch=main&build=200&attempt=2',
        suiteXml([{ name: 'stable' }, { name: 'wobbly' }, { name: 'marked', flaky: true }]),
      )
    ).json();
    const triage = (
      await t.app.inject({
        method: 'GET',
        url: `${base}/runs/${second.id}/triage`,
        headers: ci.auth,
      })
    ).json();
    expect(triage.flaky).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          name: 'wobbly',
          reason: 'same_commit',
          passedIn: [second.id],
          failedIn: [first.id],
        }),
        expect.objectContaining({ name: 'marked', reason: 'rerun' }),
      ]),
    );
    expect(triage.flaky).toHaveLength(2);
    const audit = (
      await t.app.inject({
        method: 'GET',
        url: '/api/v1/orgs/qa/audit-events?action=issue.created',
        headers: owner.auth,
      })
    ).json();
    expect(
      audit.items.some(
        (e: { data: { number: number; from?: string } }) =>
          e.data.number === 5 && e.data.from === 'upload',
      ),
    ).toBe(true);
    expect(
      second.gates.gates.find((g: { key: string }) => g.key === 'reliability').reasons,
    ).toContain('2 flaky tests');
    const issue = (
      await t.app.inject({ method: 'GET', url: `${base}/issues/5/gates`, headers: ci.auth })
    ).json();
    expect(issue.flaky).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          test: 'app.OrgTest.wobbly',
          reason: 'same_commit',
          passedIn: [second.id],
          failedIn: [first.id],
        }),
      ]),
    );
  });

  it('tells new failures from ones still failing since the previous run of the branch', async () => {
    await upload(
      'commit=r1&branch=release',
      suiteXml([{ name: 'a' }, { name: 'b', failure: { message: 'broken' } }, { name: 'c' }]),
    );
    const now = (
      await upload(
        'commit=r2&branch=release',
        suiteXml([
          { name: 'a', failure: { message: 'now broken' } },
          { name: 'b', failure: { message: 'broken' } },
          { name: 'c' },
        ]),
      )
    ).json();
    const triage = (
      await t.app.inject({ method: 'GET', url: `${base}/runs/${now.id}/triage`, headers: ci.auth })
    ).json();
    expect(triage.regressions.newFailures.map((r: { name: string }) => r.name)).toEqual(['a']);
    expect(triage.regressions.stillFailing.map((r: { name: string }) => r.name)).toEqual(['b']);
    expect(triage.regressions.baselineRunId).toBeTruthy();
  });
});

describe('quality configuration', () => {
  it('starts from the default: pass rate ≥ 90% with at least one test and no blocking failures', async () => {
    await t.app.inject({
      method: 'POST',
      url: '/api/v1/orgs/qa/projects',
      headers: owner.auth,
      payload: { key: 'plain', name: 'Plain' },
    });
    const cfg = (
      await t.app.inject({
        method: 'GET',
        url: '/api/v1/orgs/qa/projects/plain/quality-config',
        headers: ci.auth,
      })
    ).json();
    expect(cfg.custom).toBe(false);
    const up = (xml: string, build: string) =>
      t.app.inject({
        method: 'POST',
        url: `/api/v1/orgs/qa/projects/plain/runs?issue=1&build=${build}`,
        headers: { ...ci.auth, 'content-type': 'application/xml' },
        payload: xml,
      });
    expect((await up(suiteXml(casesWith(10, {})), 'p1')).json().gates.overall).toBe('passed');
    const blocked = (await up(suiteXml(casesWith(10, { 1: 'x', 2: 'y' })), 'p2')).json().gates;
    expect(blocked.overall).toBe('blocked');
    expect(blocked.gates[0].reasons).toEqual(['pass rate 80% (8 of 10) is below 90%']);
  });

  it.each([
    [
      'a cycle',
      {
        ...SEED_QUALITY_CONFIG,
        gates: [
          { key: 'a', name: 'A', requires: ['b'], conditions: [] },
          { key: 'b', name: 'B', requires: ['a'], conditions: [] },
        ],
        criteria: [],
      },
      'body/gates/0/requires',
    ],
    [
      'an unknown category',
      {
        ...SEED_QUALITY_CONFIG,
        gates: [
          {
            key: 'a',
            name: 'A',
            conditions: [{ metric: 'failed_in_category', category: 'nope', op: '==', value: 0 }],
          },
        ],
        criteria: [],
      },
      'body/gates/0/conditions/0/category',
    ],
    [
      'a backreference (RE2 matches in linear time and has none)',
      {
        ...SEED_QUALITY_CONFIG,
        categories: [{ name: 'slow', match: { message: '^(a+)\\1$' } }],
        gates: [],
        criteria: [],
      },
      'body/categories/0/match/message',
    ],
    [
      'an unknown operator',
      {
        ...SEED_QUALITY_CONFIG,
        gates: [{ key: 'a', name: 'A', conditions: [{ metric: 'pass_rate', op: '~=', value: 1 }] }],
        criteria: [],
      },
      'body/gates/0/conditions/0/op',
    ],
    ['an unknown field', { ...SEED_QUALITY_CONFIG, extra: true }, 'body/extra'],
  ])('refuses %s with a 400 naming the path, storing nothing', async (_what, config, path) => {
    const before = (
      await t.app.inject({ method: 'GET', url: `${base}/quality-config`, headers: owner.auth })
    ).json().version;
    const started = Date.now();
    const res = await t.app.inject({
      method: 'PUT',
      url: `${base}/quality-config`,
      headers: owner.auth,
      payload: config,
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().errors.map((e: { path: string }) => e.path)).toContain(path);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(
      (
        await t.app.inject({ method: 'GET', url: `${base}/quality-config`, headers: owner.auth })
      ).json().version,
    ).toBe(before);
  });
});
