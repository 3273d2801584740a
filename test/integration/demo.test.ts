import os from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDemoIfEmpty, type DemoLogin } from '../../src/demo.ts';
import { startTestApp, TEST_SECRET, type TestApp } from '../helpers/app.ts';
import { runCli } from '../helpers/cli.ts';

let t: TestApp;
let login: DemoLogin;
let md: string;
let model: Record<string, unknown> & {
  run: { tests: number; passed: number; failed: number };
  passRate: { needed: number; rate: number };
};
const issue = '/api/v1/orgs/demo/projects/portal/issues/2';

async function signIn(email: string, password: string, org: string) {
  const res = await t.app.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    payload: { email, password, org },
  });
  expect(res.statusCode, res.body).toBe(200);
  return { authorization: `Bearer ${res.json<{ accessToken: string }>().accessToken}` };
}

beforeAll(async () => {
  t = await startTestApp();
  // The seed report is dated August 12, 2025; the demo is built and read on that day.
  t.clock.set(new Date('2025-08-12T09:00:00Z'));
  const created = await createDemoIfEmpty(t.app, t.database.db);
  expect(created).not.toBeNull();
  login = created!;
  const auth = await signIn(login.email, login.password, login.org);
  const res = await t.app.inject({ url: `${issue}/report.md`, headers: auth });
  expect(res.statusCode, res.body).toBe(200);
  md = res.body;
  const json = await t.app.inject({ url: `${issue}/report.json`, headers: auth });
  expect(json.statusCode, json.body).toBe(200);
  model = json.json();
});
afterAll(() => t.close());

/** The lines of one section: from its heading to the next heading of the same level. */
function section(heading: string): string {
  const start = md.indexOf(`${heading}\n`);
  expect(start, `section "${heading}"`).toBeGreaterThanOrEqual(0);
  const level = /^#+/.exec(heading)![0];
  const rest = md.slice(start + heading.length + 1);
  const next = rest.search(new RegExp(`^${level} `, 'm'));
  return next === -1 ? rest : rest.slice(0, next);
}

describe('the demo organization, first start', () => {
  it('is created once, on a database nobody has signed up to, with a working sign-in', async () => {
    expect(login).toMatchObject({
      email: 'demo@gatehouse.local',
      org: 'demo',
      project: 'portal',
      issue: 2,
    });
    expect(login.password.length).toBeGreaterThanOrEqual(12);
    expect(await createDemoIfEmpty(t.app, t.database.db)).toBeNull();
  });

  it("renders the seed report's sections, in its order", () => {
    const headings = [
      '# QA Issue #2 Escalation Coordination Tracking — Client Portal',
      '## Escalation Status Overview',
      '### Current Status: ✅ ESCALATED TO TECHNICAL ARCHITECT',
      '### Escalation to Technical Architect (August 12, 2025)',
      '## Quality Assurance Coordination Activities Completed',
      '## Pending Coordination Activities',
      '## Quality Standards Monitoring Framework',
      '### Success Metrics Tracking:',
      '### Quality Gates Validation:',
      '## Risk Management and Mitigation',
      '### Current Risks Monitored:',
      '### Mitigation Actions Taken:',
      '## Communication and Coordination Tracking',
      '### Stakeholder Communication Status:',
      '### Coordination Checkpoints Scheduled:',
      '## Next Steps Action Plan',
      '### Immediate Actions (next 48 hours):',
      '### Medium-term Actions (3-5 days):',
      '### Success Validation Criteria:',
      '## Quality Assurance Process Excellence',
      '### Process Improvements Implemented:',
      '### Lessons Learned Integration:',
      '## Phase Changes',
    ];
    const at = headings.map((h) => md.indexOf(`${h}\n`));
    expect(at.filter((i) => i < 0)).toEqual([]);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
  });

  it('holds the header and the status overview of the seed', () => {
    expect(md).toContain('**Date:** August 12, 2025  ');
    expect(md).toContain('**QA Orchestrator:** Demo QA Lead  ');
    expect(md).toContain(
      '**Issue:** #2 Client Organization Management — Multi-Tenant Organization Features  ',
    );
    expect(md).toContain('**Phase:** Technical Architect Escalation  ');
    const overview = section('## Escalation Status Overview');
    expect(overview).toContain(
      '- **Code Review Status:** CONDITIONAL PASS (security fixes implemented) — Code Reviewer',
    );
    expect(overview).toContain(
      '- **Test Pass Rate:** 🔴 80% (Below 90% requirement; 48 of 60 tests passed, 54 of 60 needed)',
    );
    expect(overview).toContain(
      '- **Failing Tests:** 12 by root cause — JWT token structure: 7, Database connectivity: 5',
    );
    expect(overview).toContain(
      '- **Quality Gate Status:** 🔴 BLOCKED — Infrastructure Stability Gate',
    );
    expect(overview).toContain('- **GitHub Issue Updated:** ✅ Comment #3177958335 added');
    expect(overview).toContain(
      '- **Technical Architect Analysis Request:** ✅ Created and documented (OPEN; 3 question topics',
    );
    expect(overview).toContain(
      '  - **Authentication Architecture:** JWT token structure and role scoping questions',
    );
    expect(overview).toContain(
      '  - **Database Architecture:** Connection pooling and multi-tenant optimization',
    );
    expect(overview).toContain(
      '  - **Integration Architecture:** Component boundaries and tenant isolation',
    );
  });

  it("lists the seed's three completed coordination steps and its three chained pending ones", () => {
    const completed = section('## Quality Assurance Coordination Activities Completed');
    expect(completed).toContain('### 1. Escalation Documentation ✅');
    expect(completed).toContain('### 2. Issue Analysis Completed ✅');
    expect(completed).toContain('### 3. Technical Architecture Questions Prepared ✅');
    expect(completed).toContain(
      '- **Test Failure Analysis** - 12 failing tests categorized by root cause',
    );
    const pending = section('## Pending Coordination Activities');
    expect(pending).toContain('### 1. Technical Architect Response Coordination 🔄');
    expect(pending).toContain('- **Status:** WAITING - on Technical Architect');
    expect(pending).toContain('- **Timeline:** 1-2 days expected (finish between');
    expect(pending).toContain('- **Required:** Comprehensive infrastructure analysis report');
    expect(pending).toContain('### 2. Software Developer Implementation Coordination ⏳');
    expect(pending).toContain(
      '- **Status:** PENDING - Technical Architect Response Coordination required first',
    );
    expect(pending).toContain(
      '- **Timeline:** 1-2 days after Technical Architect Response Coordination (finish between',
    );
    expect(pending).toContain('### 3. Code Reviewer Re-Review Coordination ⏳');
    expect(pending).toContain(
      '- **Timeline:** 1 day after Software Developer Implementation Coordination (finish between',
    );
    expect(pending).toContain(
      '- **Dependencies:** Software Developer Implementation Coordination (pending), Test Reliability Gate (pending)',
    );
  });

  it('ticks the five success metrics from the gates and shows the four gates as the seed does', () => {
    const metrics = section('### Success Metrics Tracking:');
    for (const line of [
      '- [ ] **JWT Token Issues Resolved** - Authentication test failures eliminated',
      '- [ ] **Database Connectivity Fixed** - Connection reliability 100% in tests',
      '- [ ] **Test Pass Rate >90%** - Minimum 54 of 60 tests passing',
      '- [ ] **Infrastructure Stability** - Consistent, reproducible test results',
      '- [ ] **Security Standards Maintained** - No regression in security fixes',
    ])
      expect(metrics).toContain(line);
    const gates = section('### Quality Gates Validation:');
    expect(gates).toContain('- ✅ **Security Implementation Gate** - PASSED');
    expect(gates).toContain(
      '- 🔴 **Infrastructure Stability Gate** - BLOCKED: 12 failures in jwt, database',
    );
    expect(gates).toContain(
      '- ⏳ **Test Reliability Gate** - PENDING: waiting for Infrastructure Stability Gate',
    );
    expect(gates).toContain('- ⏳ **Production Readiness Gate** - PENDING: waiting for');
  });

  it('monitors the four risks with live signals and the mitigations taken', () => {
    const risks = section('## Risk Management and Mitigation');
    expect(risks).toMatch(
      /1\. \*\*High Risk:\*\* JWT authentication failures affecting user security — signal: 🔴 7 failures in jwt/,
    );
    expect(risks).toMatch(
      /2\. \*\*High Risk:\*\* Database connectivity impacting platform reliability — signal: 🔴 5 failures in database/,
    );
    expect(risks).toContain(
      '3. **Medium Risk:** Test environment instability causing CI/CD issues — signal: ⏳ Test Reliability Gate pending',
    );
    expect(risks).toContain('4. **Medium Risk:** Multi-tenant isolation potentially compromised');
    for (const line of [
      '- ✅ Comprehensive TA escalation with detailed technical analysis (risks 1, 2)',
      '- ✅ Quality standards framework established for validation (risk 3)',
      '- ✅ Timeline management with realistic expectations set (risk 3)',
      '- ✅ Cross-functional coordination with clear responsibilities (risk 4)',
    ])
      expect(risks).toContain(line);
  });

  it('tracks who was told what, the GitHub comment by its id, and the four checkpoints', () => {
    const comms = section('### Stakeholder Communication Status:');
    expect(comms).toContain('(GitHub comment #3177958335, August 12, 2025)');
    expect(comms).toContain('- ✅ **Technical Architect** - Issue #2 escalated to architect');
    expect(comms).toContain(
      '- ✅ **Development team** - Clear next steps and dependencies communicated',
    );
    expect(comms).toContain('- ✅ **Code Reviewer** - Re-review scheduled post-implementation');
    // Notes are announced as communications too, but shown in their own section.
    expect(comms).not.toContain('(note,');
    const checkpoints = section('### Coordination Checkpoints Scheduled:');
    expect(checkpoints).toContain(
      '- **Daily Status Check** - Monitor TA analysis progress (daily at 09:00',
    );
    expect(checkpoints).toContain(
      '- **Implementation Coordination** - Coordinate TA recommendations with developer (when "Technical Architect Response Coordination" is done',
    );
    expect(checkpoints).toContain(
      '- **Quality Validation Coordination** - Validate all fixes meet >90% standard',
    );
    expect(checkpoints).toContain(
      '- **Final Review Coordination** - Ensure seamless handoff to Code Reviewer',
    );
  });

  it('plans the next 48 hours and 3-5 days from the schedule, with the PERT finish and validation criteria', () => {
    const soon = section('### Immediate Actions (next 48 hours):');
    expect(soon).toContain('1. **Technical Architect Response Coordination**');
    expect(soon).toContain('**Daily Status Check** - Monitor TA analysis progress');
    const later = section('### Medium-term Actions (3-5 days):');
    expect(later).toContain('1. **Software Developer Implementation Coordination**');
    expect(later).toContain('2. **Code Reviewer Re-Review Coordination**');
    expect(later).toMatch(/\*\*Forecast \(PERT\):\*\* expected finish August 16, 2025/);
    const validation = section('### Success Validation Criteria:');
    for (const line of [
      '- [ ] All TA recommendations successfully implemented by developer',
      '- [ ] Test pass rate exceeds 90% (54+ of 60 tests passing)',
      '- [ ] Infrastructure stability validated with consistent test results',
      '- [ ] Security standards maintained throughout implementation process',
      '- [ ] Code Reviewer approval with final architecture validation',
    ])
      expect(validation).toContain(line);
  });

  it('closes with the process notes, lessons, phase change and the coordinator lines', () => {
    const excellence = section('## Quality Assurance Process Excellence');
    expect(excellence).toContain(
      '- **Structured Escalation Framework** - Clear escalation path with comprehensive documentation',
    );
    expect(excellence).toContain(
      '- **Cross-Functional Quality Gates** - Multiple validation checkpoints ensure comprehensive quality',
    );
    // Audit entries carry the database's time, not the app's clock.
    expect(section('## Phase Changes')).toMatch(
      /^- \w+ \d{1,2}, \d{4} \d\d:\d\d UTC: QA → Escalated — escalated to architect \(Demo QA Lead\)$/m,
    );
    expect(md).toContain('**QA Orchestrator Status:** Escalation successfully managed');
    expect(md).toContain('**Quality Assurance Priority:** Ensure all infrastructure issues');
  });

  it('answers the same facts as the model', () => {
    expect(model.run).toMatchObject({ tests: 60, passed: 48, failed: 12 });
    expect(model.passRate).toMatchObject({ rate: 0.8, needed: 54 });
    expect(model['githubComment']).toMatchObject({ id: '3177958335' });
    expect((model['risks'] as unknown[]).length).toBe(4);
    expect((model['checkpoints'] as unknown[]).length).toBe(4);
    expect(
      (model['activities'] as { key: string; minDays: number; maxDays: number }[]).map((a) => [
        a.key,
        a.minDays,
        a.maxDays,
      ]),
    ).toEqual(
      expect.arrayContaining([
        ['ta-response', 1, 2],
        ['developer-implementation', 1, 2],
        ['code-re-review', 1, 1],
      ]),
    );
  });
});

describe('gatehouse demo', () => {
  it(
    'builds another demo org on the same database and prints its sign-in',
    { timeout: 240_000 },
    async () => {
      const env = {
        DATABASE_URL: t.testDb.url,
        GATEHOUSE_SECRET: TEST_SECRET,
        GATEHOUSE_PUBLIC_URL: 'http://gatehouse.test',
        LOG_LEVEL: 'silent',
      };
      const out = await runCli(['demo', '--slug', 'demo-two'], os.tmpdir(), env);
      expect(out.stderr).toBe('');
      expect(out.code).toBe(0);
      expect(out.stdout).toContain('Demo organization "demo-two" created');
      const email = /^ {2}email: {4}(\S+)$/m.exec(out.stdout)?.[1];
      const password = /^ {2}password: (\S+)$/m.exec(out.stdout)?.[1];
      expect(email).toBe('demo+demo-two@gatehouse.local');
      t.clock.set(new Date());
      const auth = await signIn(email!, password!, 'demo-two');
      const res = await t.app.inject({
        url: '/api/v1/orgs/demo-two/projects/portal/issues/2/report.md',
        headers: auth,
      });
      expect(res.statusCode).toBe(200);
      expect(res.body).toContain('Comment #3177958335');
      const again = await runCli(['demo', '--slug', 'demo-two'], os.tmpdir(), env);
      expect(again.code).toBe(1);
      expect(again.stderr).toMatch(/^gatehouse demo: .*409/);
    },
  );
});
