import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gate } from '../../src/cli/gate.ts';
import { apiToken } from '../helpers/actors.ts';
import { capture, cliFixture, type CliFixture } from '../helpers/cli.ts';

// As a new user would try it: a rate written as a percentage, a misspelled operator or
// verdict, a config without categories or criteria, a project without gates, and a review
// recorded without naming the reviewer.

let f: CliFixture;
const base = '/api/v1/orgs/newbie/projects/svc';

beforeAll(async () => {
  f = await cliFixture('newbie', 'svc');
  const issue = await f.t.app.inject({
    method: 'POST',
    url: `${base}/issues`,
    headers: f.owner.auth,
    payload: { number: 2, title: 'Login' },
  });
  expect(issue.statusCode).toBe(201);
});
afterAll(() => f.close());

interface Problem {
  detail: string;
  errors: { path: string; message: string }[];
}

const gateWith = (...conditions: object[]) => ({
  categories: [],
  gates: [{ key: 'tests', name: 'Tests', conditions }],
  criteria: [],
});

function putConfig(config: object) {
  return f.t.app.inject({
    method: 'PUT',
    url: `${base}/quality-config`,
    headers: f.owner.auth,
    payload: config,
  });
}

async function refused(config: object): Promise<Problem> {
  const res = await putConfig(config);
  expect(res.statusCode, res.body).toBe(400);
  return res.json<Problem>();
}

describe('condition values', () => {
  it('refuses a pass rate written as a percentage, saying rates are fractions', async () => {
    const problem = await refused(gateWith({ metric: 'pass_rate', op: '>=', value: 90 }));
    expect(problem.errors).toEqual([
      {
        path: 'body/gates/0/conditions/0/value',
        message: 'must be a fraction between 0 and 1 (0.9 for 90%) for pass_rate, not 90',
      },
    ]);
    expect(problem.detail).toContain('a fraction between 0 and 1 (0.9 for 90%)');
    const ok = await putConfig(gateWith({ metric: 'pass_rate', op: '>=', value: 0.9 }));
    expect(ok.statusCode, ok.body).toBe(200);
  });

  it('refuses negative or fractional counts and unknown verdicts, naming what was given', async () => {
    const problem = await refused(
      gateWith(
        { metric: 'open_escalations', op: '<=', value: -1 },
        { metric: 'tests_total', op: '>=', value: 1.5 },
        { metric: 'review_verdict', op: '==', value: 'conditional pass' },
      ),
    );
    expect(problem.errors).toEqual([
      {
        path: 'body/gates/0/conditions/0/value',
        message: 'must be a whole number, 0 or more, for open_escalations, not -1',
      },
      {
        path: 'body/gates/0/conditions/1/value',
        message: 'must be a whole number, 0 or more, for tests_total, not 1.5',
      },
      {
        path: 'body/gates/0/conditions/2/value',
        message: 'must be pass, conditional_pass or fail, not "conditional pass"',
      },
    ]);
  });
});

describe('misspelled fixed values', () => {
  it('answers a misspelled operator once, with what was given and what is allowed', async () => {
    const problem = await refused(gateWith({ metric: 'pass_rate', op: '=>', value: 0.9 }));
    expect(problem.errors).toEqual([
      {
        path: 'body/gates/0/conditions/0/op',
        message: '"=>" is not one of >=, >, <=, <, ==, !=, in',
      },
    ]);
    expect(problem.detail).not.toContain('must be equal to constant');
  });

  it('says which kinds a value may be when it is none of them', async () => {
    const problem = await refused(gateWith({ metric: 'pass_rate', op: '>=', value: true }));
    expect(problem.errors).toEqual([
      {
        path: 'body/gates/0/conditions/0/value',
        message: 'must be a number, a string or a list, not true',
      },
    ]);
  });

  it('answers a misspelled verdict, phase and role once each, wherever they are validated', async () => {
    const review = await f.t.app.inject({
      method: 'PUT',
      url: `${base}/issues/2/review`,
      headers: f.owner.auth,
      payload: { verdict: 'conditional pass', reviewer: 'Dana' },
    });
    expect(review.statusCode).toBe(400);
    expect(review.json<Problem>().errors).toEqual([
      {
        path: 'body/verdict',
        message: '"conditional pass" is not one of pass, conditional_pass, fail',
      },
    ]);

    const issue = await f.t.app.inject({
      method: 'POST',
      url: `${base}/issues`,
      headers: f.owner.auth,
      payload: { number: 3, title: 'Signup', phase: 'QA' },
    });
    expect(issue.statusCode).toBe(400);
    const phase = issue.json<Problem>().errors;
    expect(phase).toHaveLength(1);
    expect(phase[0]).toEqual({
      path: 'body/phase',
      message:
        '"QA" is not one of development, code_review, qa, escalated, ready_for_release, done',
    });

    const invite = await f.t.app.inject({
      method: 'POST',
      url: '/api/v1/orgs/newbie/invitations',
      headers: f.owner.auth,
      payload: { email: 'someone@example.test', role: 'tester' },
    });
    expect(invite.statusCode).toBe(400);
    const role = invite.json<Problem>();
    expect(role.errors).toHaveLength(1);
    expect(role.errors[0]!.path).toBe('body/role');
    expect(role.errors[0]!.message).toMatch(/^"tester" is not one of .*\bviewer\b/);
    expect(role.detail).not.toContain('must be equal to constant');
  });
  it('answers a misspelled kind of a choice of objects once, at that field', async () => {
    const res = await f.t.app.inject({
      method: 'POST',
      url: `${base}/issues/2/checkpoints`,
      headers: f.owner.auth,
      payload: { title: 'Status', recurrence: { kind: 'weekly', at: '09:00' } },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json<Problem>().errors).toEqual([
      {
        path: 'body/recurrence/kind',
        message: '"weekly" is not one of activity_done, daily, weekdays, every_n_days, once',
      },
    ]);
  });
});

describe('a small configuration', () => {
  it('takes a config without categories or criteria as having none', async () => {
    const res = await putConfig({
      gates: [
        {
          key: 'tests',
          name: 'Tests',
          conditions: [{ metric: 'tests_total', op: '>=', value: 1 }],
        },
      ],
    });
    expect(res.statusCode, res.body).toBe(200);
    const read = await f.t.app.inject({
      method: 'GET',
      url: `${base}/quality-config`,
      headers: f.owner.auth,
    });
    expect(read.json()).toMatchObject({ config: { categories: [], criteria: [] }, custom: true });
  });

  it('shows a project without gates as having none configured, never as passed', async () => {
    const res = await putConfig({ gates: [] });
    expect(res.statusCode, res.body).toBe(200);
    const view = await f.t.app.inject({
      method: 'GET',
      url: `${base}/issues/2/gates`,
      headers: f.owner.auth,
    });
    expect(view.json()).toMatchObject({ overall: 'none', gates: [] });

    const run = async (args: string[]) => {
      const { stdout, stderr, text } = capture();
      const env = { GATEHOUSE_URL: f.address, GATEHOUSE_TOKEN: f.token };
      const code = await gate(args, { stdout, stderr, env });
      return { code, ...text };
    };
    const plain = await run(['--project', 'svc', '--issue', '2', '--org', 'newbie']);
    expect(plain.code, plain.err).toBe(0);
    expect(plain.out).toContain('Issue #2: no quality gates configured (overall none)');
    expect(plain.out).not.toContain('PASSED');

    const required = await run([
      '--project',
      'svc',
      '--issue',
      '2',
      '--org',
      'newbie',
      '--require',
      'tests',
    ]);
    expect(required.code).toBe(2);
    expect(required.err).toContain(
      'no gate named tests: this project has no quality gates configured',
    );
  });
});

describe('reviews', () => {
  it('names the signed-in user as the reviewer when the review names nobody', async () => {
    const res = await f.t.app.inject({
      method: 'PUT',
      url: `${base}/issues/2/review`,
      headers: f.owner.auth,
      payload: { verdict: 'pass' },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ verdict: 'pass', reviewer: 'Test User' });
  });

  it('asks a CI token to name the reviewer', async () => {
    const token = await apiToken(f.t.app, f.owner, 'newbie', 'reviewer');
    const res = await f.t.app.inject({
      method: 'PUT',
      url: `${base}/issues/2/review`,
      headers: token.auth,
      payload: { verdict: 'pass' },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json<Problem>().errors).toEqual([
      { path: 'body/reviewer', message: 'is required with a CI token: name who reviewed' },
    ]);
    const named = await f.t.app.inject({
      method: 'PUT',
      url: `${base}/issues/2/review`,
      headers: token.auth,
      payload: { verdict: 'fail', reviewer: 'Dana' },
    });
    expect(named.statusCode, named.body).toBe(200);
    expect(named.json()).toMatchObject({ verdict: 'fail', reviewer: 'Dana' });
  });
});
