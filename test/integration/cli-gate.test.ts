import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliFixture, type CliFixture } from '../helpers/cli.ts';
import { casesWith, suiteXml } from '../helpers/junit-gen.ts';
import { SEED_QUALITY_CONFIG } from '../helpers/seed.ts';

let f: CliFixture;
let dir: string;

beforeAll(async () => {
  f = await cliFixture('gates', 'svc');
  const { t, owner } = f;
  dir = f.dir;
  await t.app.inject({
    method: 'PUT',
    url: '/api/v1/orgs/gates/projects/svc/quality-config',
    headers: owner.auth,
    payload: SEED_QUALITY_CONFIG,
  });
  await t.app.inject({
    method: 'POST',
    url: '/api/v1/orgs/gates/projects/svc/issues',
    headers: owner.auth,
    payload: { number: 2, title: 'Orgs' },
  });
  await t.app.inject({
    method: 'PUT',
    url: '/api/v1/orgs/gates/projects/svc/issues/2/review',
    headers: owner.auth,
    payload: { verdict: 'conditional_pass', reviewer: 'R' },
  });
  const jwt: Record<number, string> = {};
  for (let i = 1; i <= 12; i++)
    jwt[i] = i <= 7 ? 'JWT token structure invalid' : 'connect ECONNREFUSED 127.0.0.1:5432';
  await fs.writeFile(path.join(dir, 'blocked.xml'), suiteXml(casesWith(60, jwt)));
  await fs.writeFile(
    path.join(dir, 'green.xml'),
    suiteXml(casesWith(60, { 1: 'expected:<1> but was:<2>' })),
  );
});
afterAll(() => f.close());

function cli(args: string[]) {
  return f.cli(args);
}

describe('gates in CI', () => {
  it('upload --gate fails the step with exit 1 when a gate is blocked, printing why', async () => {
    const res = await cli([
      'upload',
      '--project',
      'svc',
      '--issue',
      '2',
      '--build',
      'b1',
      '--gate',
      'blocked.xml',
    ]);
    expect(res.code, res.stderr).toBe(1);
    expect(res.stdout).toContain('Issue #2: overall PENDING');
    expect(res.stdout).toContain('✗ Infrastructure Stability Gate (infrastructure): BLOCKED');
    expect(res.stdout).toContain('- 12 failures in jwt, database');
    expect(res.stdout).toContain('- pass rate 80% (48 of 60) is below 90%');
    expect(res.stderr).toContain(
      'not passed: infrastructure (blocked), reliability (blocked), production (pending)',
    );
  });

  it('gate prints every gate and exits 1, or 0 for the required gates that passed, or 2 for an unknown one', async () => {
    const all = await cli(['gate', '--project', 'svc', '--issue', '2']);
    expect(all.code).toBe(1);
    expect(all.stdout).toContain('✓ Security Implementation Gate (security): PASSED');
    expect(all.stdout).toContain('[ ] JWT token issues resolved (unmet)');
    expect(
      (await cli(['gate', '--project', 'svc', '--issue', '2', '--require', 'security'])).code,
    ).toBe(0);
    expect(
      (
        await cli([
          'gate',
          '--project',
          'svc',
          '--issue',
          '2',
          '--require',
          'security',
          '--require',
          'reliability',
        ])
      ).code,
    ).toBe(1);
    const unknown = await cli(['gate', '--project', 'svc', '--issue', '2', '--require', 'nope']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no gate named nope');
    expect((await cli(['gate', '--project', 'svc', '--issue', '99'])).code).toBe(2);
    expect((await cli(['gate', '--project', 'svc'])).code).toBe(2);
  });

  it('upload --gate exits 0 once the gates pass', async () => {
    const res = await cli([
      'upload',
      '--project',
      'svc',
      '--issue',
      '2',
      '--build',
      'b2',
      '--gate',
      'green.xml',
    ]);
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(res.stdout).toContain('Issue #2: overall PASSED');
    expect((await cli(['upload', '--project', 'svc', '--gate', 'green.xml'])).stderr).toContain(
      '--gate needs --issue',
    );
  });
});
