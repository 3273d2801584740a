import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gate } from '@gatehouse/cli';
import { upload } from '@gatehouse/cli';
import { capture, cliFixture, closedPort, type CliFixture } from '../helpers/cli.ts';
import { casesWith, suiteXml } from '../helpers/junit-gen.ts';
import { SEED_QUALITY_CONFIG } from '../helpers/seed.ts';

let f: CliFixture;
let dir: string;

beforeAll(async () => {
  f = await cliFixture('gates', 'svc');
  const { t, owner } = f;
  dir = f.dir;
  // Every test below depends on this setup: a failed step should say so here.
  const setup = [
    await t.app.inject({
      method: 'PUT',
      url: '/api/v1/orgs/gates/projects/svc/quality-config',
      headers: owner.auth,
      payload: SEED_QUALITY_CONFIG,
    }),
    await t.app.inject({
      method: 'POST',
      url: '/api/v1/orgs/gates/projects/svc/issues',
      headers: owner.auth,
      payload: { number: 2, title: 'Orgs' },
    }),
    await t.app.inject({
      method: 'PUT',
      url: '/api/v1/orgs/gates/projects/svc/issues/2/review',
      headers: owner.auth,
      payload: { verdict: 'conditional_pass', reviewer: 'R' },
    }),
  ];
  for (const res of setup) expect(res.statusCode, res.body).toBeLessThan(300);
  const jwt: Record<number, string> = {};
  for (let i = 1; i <= 12; i++)
    jwt[i] = i <= 7 ? 'JWT token structure invalid' : 'connect ECONNREFUSED 127.0.0.1:5432';
  await fs.writeFile(path.join(dir, 'blocked.xml'), suiteXml(casesWith(60, jwt)));
  await fs.writeFile(
    path.join(dir, 'green.xml'),
    suiteXml(casesWith(60, { 1: 'expected:<1> but was:<2>' })),
  );
  for (let i = 1; i <= 3; i++)
    await fs.writeFile(path.join(dir, `shard-${i}.xml`), suiteXml(casesWith(20, {}), `shard-${i}`));
  for (let i = 1; i <= 2; i++)
    await fs.writeFile(path.join(dir, `half-${i}.xml`), suiteXml(casesWith(30, {}), `half-${i}`));
});
afterAll(() => f.close());

function cli(args: string[]) {
  return f.cli(args);
}

/** A CLI command run in this process (so a test can give it a sleep of its own). */
async function inProcess(
  command: typeof gate | typeof upload,
  args: string[],
  env: Record<string, string> = {},
  sleep?: (ms: number) => Promise<void>,
) {
  const { stdout, stderr, text } = capture();
  const io = {
    stdout,
    stderr,
    env: { GATEHOUSE_URL: f.address, GATEHOUSE_TOKEN: f.token, ...env },
    ...(sleep === undefined ? {} : { sleep }),
  };
  const code = await command(args, io);
  return { code, out: text.out, err: text.err };
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
    expect(res.stdout).toContain('Issue #2: overall BLOCKED');
    expect(res.stdout).toContain('✗ Infrastructure Stability Gate (infrastructure): BLOCKED');
    expect(res.stdout).toContain('- 12 failures in jwt, database');
    expect(res.stdout).toContain('- pass rate 80% (48 of 60) is below 90%');
    expect(res.stderr).toContain(
      'not passed: infrastructure (blocked), reliability (pending), production (pending)',
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

  it('gate says so when the required gates passed but the issue is not', async () => {
    const res = await inProcess(gate, [
      '--project',
      'svc',
      '--issue',
      '2',
      '--require',
      'security',
    ]);
    expect(res.code, res.err).toBe(0);
    expect(res.out).toContain('required gates passed: security; overall: blocked (not required)');
  });

  it('gate takes GATEHOUSE_URL with a trailing /api/v1, and says plainly what is wrong otherwise', async () => {
    for (const url of [`${f.address}/api/v1`, `${f.address}/api/v1/`]) {
      const res = await inProcess(gate, ['--project', 'svc', '--issue', '2'], {
        GATEHOUSE_URL: url,
      });
      expect(res.code, res.err).toBe(1);
      expect(res.out).toContain('Issue #2: overall BLOCKED');
    }
    const port = await closedPort();
    const unreachable = await inProcess(gate, ['--project', 'svc', '--issue', '2'], {
      GATEHOUSE_URL: `http://127.0.0.1:${port}`,
    });
    expect(unreachable.code).toBe(2);
    expect(unreachable.err).toContain(
      `gatehouse gate: cannot reach Gatehouse at http://127.0.0.1:${port}: connection refused`,
    );
    expect(unreachable.err).not.toContain('token');
    const refused = await inProcess(gate, ['--project', 'svc', '--issue', '2'], {
      GATEHOUSE_TOKEN: 'gth_nope',
    });
    expect(refused.err).toContain('the token was refused: 401');
    for (const args of [
      ['--project', 'svc', '--issue', '--require', 'security'],
      ['--project', 'svc', '--issue'],
    ]) {
      const res = await inProcess(gate, args);
      expect(res.code).toBe(2);
      expect(res.err).toContain('gatehouse gate: --issue needs the issue number');
    }
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

  it('upload --gate on a sharded run waits for the last shard, then prints the gates', async () => {
    let other: Awaited<ReturnType<typeof inProcess>> | undefined;
    const slept: number[] = [];
    const args = ['--project', 'svc', '--issue', '2', '--build', 'halves', '--shards', '2'];
    const res = await inProcess(
      upload,
      [...args, '--gate', 'half-1.xml'].map((a) => (a.endsWith('.xml') ? path.join(dir, a) : a)),
      {},
      async (ms) => {
        slept.push(ms);
        // The other shard lands while this one waits.
        other ??= await inProcess(upload, [...args, path.join(dir, 'half-2.xml')]);
      },
    );
    expect(other?.code, other?.err).toBe(0);
    expect(res.code, res.out + res.err).toBe(0);
    const runId = /Run ([0-9a-f-]{36})/.exec(res.out)![1]!;
    expect(res.out).toContain(`run ${runId} is open: 1 of 2 shards uploaded`);
    expect(res.err).toContain(`Waiting up to 600s for run ${runId} to complete`);
    expect(res.out).toContain(`run ${runId} is complete: 2 of 2 shards uploaded`);
    expect(res.out).toContain(`Run ${runId}: 60 tests, 60 passed`);
    expect(res.out).toContain('Issue #2: overall PASSED');
    expect(slept).toEqual([1000]);
  });

  it('three parallel shard uploads make one run, judged once the last arrives; the --gate one prints it', async () => {
    const shard = (i: number, ...extra: string[]) =>
      cli([
        'upload',
        '--project',
        'svc',
        '--issue',
        '2',
        '--build',
        'sharded',
        '--shards',
        '3',
        ...extra,
        `shard-${i}.xml`,
      ]);
    const results = await Promise.all([shard(1), shard(2), shard(3, '--gate')]);
    for (const r of results) expect(r.code, r.stdout + r.stderr).toBe(0);
    const ids = new Set(results.map((r) => /Run ([0-9a-f-]{36})/.exec(r.stdout)?.[1]));
    expect(ids.size).toBe(1);
    const open = results.flatMap((r) => [
      ...r.stdout.matchAll(
        /is open: (\d) of 3 shards uploaded; it is judged when the last arrives/g,
      ),
    ]);
    // Every upload but the last one to arrive finds the run open.
    expect(open.map((m) => m[1]).sort()).toEqual(['1', '2']);
    expect(results[2].stdout).toContain('Issue #2: overall PASSED');
    expect(results[2].stdout).toContain('60 tests, 60 passed');
    const run = await f.t.database.db
      .selectFrom('test_runs')
      .selectAll()
      .where('build', '=', 'sharded')
      .executeTakeFirstOrThrow();
    expect(run).toMatchObject({ status: 'complete', shards: 3, uploads: 3, files: 3, tests: 60 });
  });
});
