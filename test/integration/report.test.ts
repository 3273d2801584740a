import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import os from 'node:os';
import { apiToken, memberOf, ownerOfNewOrg, type Session } from '../helpers/actors.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { runCli } from '../helpers/cli.ts';
import { casesWith, suiteXml } from '../helpers/junit-gen.ts';
import { SEED_QUALITY_CONFIG } from '../helpers/seed.ts';

let t: TestApp;
let owner: Session & { orgId: string };
const base = '/api/v1/orgs/rpt/projects/portal';

beforeAll(async () => {
  t = await startTestApp();
  // The report's date comes from the app's clock (tokens too: it stays put from here on).
  t.clock.set(new Date('2025-08-12T15:00:00Z'));
  owner = await ownerOfNewOrg(t.app, 'rpt');
  const call = async (method: 'POST' | 'PUT', url: string, payload: unknown) => {
    const res = await t.app.inject({
      method,
      url,
      headers: owner.auth,
      payload: payload as object,
    });
    expect(res.statusCode, res.body).toBeLessThan(300);
  };
  await call('POST', '/api/v1/orgs/rpt/projects', { key: 'portal', name: 'Client Portal' });
  await call('PUT', `${base}/quality-config`, SEED_QUALITY_CONFIG);
  await call('POST', `${base}/issues`, {
    number: 2,
    title: 'Client Organization Management',
    phase: 'qa',
  });
  const failures: Record<number, string> = {};
  for (let i = 1; i <= 7; i++) failures[i * 3] = `JWT token structure invalid: missing claim ${i}`;
  for (let i = 1; i <= 5; i++) failures[30 + i * 4] = `connect ECONNREFUSED 127.0.0.1:${5430 + i}`;
  const run = await t.app.inject({
    method: 'POST',
    url: `${base}/runs?issue=2&commit=c1&branch=main&build=b1`,
    headers: { ...owner.auth, 'content-type': 'application/xml' },
    payload: suiteXml(casesWith(60, failures)),
  });
  expect(run.statusCode, run.body).toBe(201);
  await call('PUT', `${base}/issues/2/review`, {
    verdict: 'conditional_pass',
    reviewer: 'Code Reviewer',
    conditions: [{ text: 'security fixes implemented', status: 'met' }],
  });
});
afterAll(() => t.close());

describe('GET .../issues/:number/report.md and report.json', () => {
  it('answers the report as UTF-8 Markdown from live data', async () => {
    const res = await t.app.inject({ url: `${base}/issues/2/report.md`, headers: owner.auth });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/markdown; charset=utf-8');
    const md = res.body;
    expect(md).toMatch(/^# QA Issue #2 Coordination Tracking — Client Portal\n/);
    expect(md).toContain('**Date:** August 12, 2025');
    expect(md).toContain('**Phase:** QA');
    expect(md).toContain(
      '- **Code Review Status:** CONDITIONAL PASS (security fixes implemented) — Code Reviewer, August 12, 2025',
    );
    expect(md).toContain(
      '- **Test Pass Rate:** 🔴 80% (Below 90% requirement; 48 of 60 tests passed, 54 of 60 needed)',
    );
    expect(md).toContain(
      '- **Failing Tests:** 12 by root cause — JWT token structure: 7, Database connectivity: 5',
    );
    expect(md).toContain(
      '- 🔴 **Infrastructure Stability Gate** - BLOCKED: 12 failures in jwt, database',
    );
    expect(md).toContain('- ✅ **Security Implementation Gate** - PASSED');
    expect(md).toContain('- **GitHub Issue Updated:** ⏳ no status comment yet');
    for (const heading of [
      '## Status Overview',
      '## Quality Assurance Coordination Activities Completed',
      '## Pending Coordination Activities',
      '## Quality Standards Monitoring Framework',
      '### Success Metrics Tracking:',
      '### Quality Gates Validation:',
      '## Risk Management and Mitigation',
      '## Communication and Coordination Tracking',
      '## Next Steps Action Plan',
      '### Success Validation Criteria:',
      '## Quality Assurance Process Excellence',
      '## Phase Changes',
    ])
      expect(md).toContain(heading);
  });

  it('answers the model the Markdown is rendered from', async () => {
    const res = await t.app.inject({ url: `${base}/issues/2/report.json`, headers: owner.auth });
    expect(res.statusCode).toBe(200);
    const model = res.json();
    expect(model.generatedAt).toBe('2025-08-12T15:00:00.000Z');
    expect(model.issue).toMatchObject({ number: 2, phase: 'qa' });
    expect(model.run).toMatchObject({ tests: 60, passed: 48, failed: 12 });
    expect(model.passRate).toEqual({
      rate: 0.8,
      passed: 48,
      ran: 60,
      required: 0.9,
      needed: 54,
      met: false,
    });
    expect(model.failuresByCategory).toEqual([
      { category: 'jwt', label: 'JWT token structure', count: 7 },
      { category: 'database', label: 'Database connectivity', count: 5 },
    ]);
    expect(model.gates.gates.map((g: { key: string }) => g.key)).toEqual([
      'security',
      'infrastructure',
      'reliability',
      'production',
    ]);
    expect(model.review).toMatchObject({ verdict: 'conditional_pass', reviewer: 'Code Reviewer' });
    expect(model.orchestrators).toHaveLength(1);
  });

  it('lets a viewer read both', async () => {
    const viewer = await memberOf(t.app, owner, 'rpt', 'viewer');
    for (const path of ['report.md', 'report.json']) {
      const res = await t.app.inject({ url: `${base}/issues/2/${path}`, headers: viewer.auth });
      expect(res.statusCode).toBe(200);
    }
  });

  it("hides another org's issue behind a 404", async () => {
    const stranger = await ownerOfNewOrg(t.app, 'rpt-other');
    for (const path of ['report.md', 'report.json']) {
      const res = await t.app.inject({ url: `${base}/issues/2/${path}`, headers: stranger.auth });
      expect(res.statusCode).toBe(404);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body).not.toContain('Client Portal');
    }
    // Their own org with this org's project key reads as no such project, not someone else's.
    const own = await t.app.inject({
      url: '/api/v1/orgs/rpt-other/projects/portal/issues/2/report.json',
      headers: stranger.auth,
    });
    expect(own.statusCode).toBe(404);
  });

  it('is described in the OpenAPI document: Markdown for .md, the model for .json', async () => {
    const doc = (await t.app.inject({ url: '/openapi.json' })).json<{
      paths: Record<string, { get: { responses: Record<string, { content: object }> } }>;
    }>();
    const path = '/api/v1/orgs/{org}/projects/{project}/issues/{number}';
    expect(Object.keys(doc.paths[`${path}/report.md`]!.get.responses['200']!.content)).toEqual([
      'text/markdown',
    ]);
    expect(Object.keys(doc.paths[`${path}/report.json`]!.get.responses['200']!.content)).toEqual([
      'application/json',
    ]);
  });

  it('says 404 for an issue that is not tracked and 401 without a token', async () => {
    const missing = await t.app.inject({ url: `${base}/issues/3/report.md`, headers: owner.auth });
    expect(missing.statusCode).toBe(404);
    const anonymous = await t.app.inject({ url: `${base}/issues/2/report.md` });
    expect(anonymous.statusCode).toBe(401);
  });

  it('is what gatehouse report prints, as Markdown or with --json as the model', async () => {
    const address = await t.app.listen({ port: 0, host: '127.0.0.1' });
    const ci = await apiToken(t.app, owner, 'rpt');
    const env = { GATEHOUSE_URL: `${address}/api/v1`, GATEHOUSE_TOKEN: ci.token };
    const args = ['report', '--project', 'portal', '--issue', '2'];
    const md = await runCli(args, os.tmpdir(), env);
    expect(md.stderr).toBe('');
    expect(md.code).toBe(0);
    const http = await t.app.inject({ url: `${base}/issues/2/report.md`, headers: owner.auth });
    expect(md.stdout).toBe(http.body);
    const json = await runCli([...args, '--json'], os.tmpdir(), env);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout).passRate.needed).toBe(54);
    const missing = await runCli(
      ['report', '--project', 'portal', '--issue', '9'],
      os.tmpdir(),
      env,
    );
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^gatehouse report: 404 Not Found: Issue #9 is not tracked/);
    const usage = await runCli(['report', '--project', 'portal'], os.tmpdir(), env);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--issue must be the issue number');
  });
});
