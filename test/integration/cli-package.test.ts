import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { triage } from '@gatehouse/cli';
import { capture, cliFixture, PACKAGE_BIN, runProcess, type CliFixture } from '../helpers/cli.ts';
import { casesWith, suiteXml } from '../helpers/junit-gen.ts';
import { SEED_QUALITY_CONFIG } from '../helpers/seed.ts';

const root = path.resolve(import.meta.dirname, '../..');
const packageDir = path.join(root, 'packages/cli');

let f: CliFixture;

/** `gatehouse-ci ...` as a CI job runs it: plain node, in the job's folder. */
function ci(args: string[], env: Record<string, string> = {}) {
  return runProcess(process.execPath, [PACKAGE_BIN, ...args], f.dir, {
    GATEHOUSE_URL: f.address,
    GATEHOUSE_TOKEN: f.token,
    ...env,
  });
}

beforeAll(async () => {
  f = await cliFixture('acme', 'api');
  const setup = [
    await f.t.app.inject({
      method: 'PUT',
      url: '/api/v1/orgs/acme/projects/api/quality-config',
      headers: f.owner.auth,
      payload: SEED_QUALITY_CONFIG,
    }),
    await f.t.app.inject({
      method: 'POST',
      url: '/api/v1/orgs/acme/projects/api/issues',
      headers: f.owner.auth,
      payload: { number: 2, title: 'Orgs' },
    }),
    await f.t.app.inject({
      method: 'PUT',
      url: '/api/v1/orgs/acme/projects/api/issues/2/review',
      headers: f.owner.auth,
      payload: { verdict: 'conditional_pass', reviewer: 'R' },
    }),
  ];
  for (const res of setup) expect(res.statusCode, res.body).toBeLessThan(300);
  const failures: Record<number, string> = {};
  for (let i = 1; i <= 12; i++)
    failures[i] =
      i <= 7
        ? `JWT token structure invalid for user ${i}`
        : `connect ECONNREFUSED 10.0.0.${i}:5432`;
  await fs.mkdir(path.join(f.dir, 'reports', 'nested'), { recursive: true });
  await fs.writeFile(path.join(f.dir, 'reports', 'unit.xml'), suiteXml(casesWith(40, failures)));
  await fs.writeFile(
    path.join(f.dir, 'reports', 'nested', 'e2e.xml'),
    suiteXml(casesWith(20, {}), 'e2e'),
  );
  await fs.writeFile(path.join(f.dir, 'report.xml'), suiteXml(casesWith(10, { 3: 'boom' })));
});
afterAll(() => f.close());

describe('the CI package (@gatehouse/cli)', () => {
  it('is publishable on its own: no dependencies, only Node built-ins, a bin and its files', async () => {
    const pkg = JSON.parse(await fs.readFile(path.join(packageDir, 'package.json'), 'utf8'));
    expect(pkg.name).toBe('@gatehouse/cli');
    expect(pkg.private).toBeUndefined();
    expect(pkg.dependencies).toBeUndefined();
    expect(pkg.engines.node).toBe('>=20.19');
    expect(pkg.files).toEqual(expect.arrayContaining(['bin', 'lib']));
    expect(pkg.bin['gatehouse-ci']).toBe('bin/gatehouse-ci.js');
    const sources = [
      'bin/gatehouse-ci.js',
      ...(await fs.readdir(path.join(packageDir, 'lib'))).map((n) => `lib/${n}`),
    ];
    for (const file of sources) {
      const text = await fs.readFile(path.join(packageDir, file), 'utf8');
      for (const [, spec] of text.matchAll(/\bfrom '([^']+)'/g))
        expect(spec, `${file} imports ${spec}`).toMatch(/^(node:|\.\.?\/)/);
    }
    // What `npm publish` would ship: the bin, the code and the README, no tests.
    const { stdout } = await promisify(execFile)('npm', ['pack', '--dry-run', '--json'], {
      cwd: packageDir,
    });
    const [packed] = JSON.parse(stdout) as [{ files: { path: string }[] }];
    const shipped = packed.files.map((x) => x.path);
    expect(shipped).toEqual(expect.arrayContaining(['bin/gatehouse-ci.js', 'lib/upload.js']));
    expect(shipped.every((p) => /^(bin|lib)\/|^(package\.json|README\.md|LICENSE)$/.test(p))).toBe(
      true,
    );
  });

  it('uploads with plain node, one streamed request with every file, and enforces the gates', async () => {
    const res = await ci(
      [
        'upload',
        '--project',
        'api',
        '--issue',
        '2',
        '--build',
        'pkg-1',
        '--gate',
        'reports/**/*.xml',
      ],
      { GITHUB_ACTIONS: 'true', GITHUB_SHA: 'cafe01', GITHUB_REF_NAME: 'main' },
    );
    expect(res.code, res.stderr).toBe(1);
    expect(res.stderr).toContain('Uploading e2e.xml, unit.xml (');
    expect(res.stdout).toMatch(/Run [0-9a-f-]{36}: 60 tests, 48 passed, 12 failed/);
    expect(res.stdout).toContain('✗ Infrastructure Stability Gate (infrastructure): BLOCKED');
    expect(res.stderr).toContain('not passed: infrastructure (blocked)');
    const gate = await ci(['gate', '--project', 'api', '--issue', '2', '--require', 'security']);
    expect(gate.code, gate.stderr).toBe(0);
    expect(gate.stdout).toContain(
      'required gates passed: security; overall: blocked (not required)',
    );
  });

  it("triage prints the failures by category and cluster, for a run or an issue's newest complete run", async () => {
    const byIssue = await ci(['triage', '--project', 'api', '--issue', '2']);
    expect(byIssue.code, byIssue.stderr).toBe(0);
    const runId = /^Run ([0-9a-f-]{36}): 12 failure\(s\)$/m.exec(byIssue.stdout)?.[1];
    expect(runId, byIssue.stdout).toBeDefined();
    expect(byIssue.stdout).toContain('  jwt (JWT token structure), blocking: 7');
    expect(byIssue.stdout).toContain('  database (Database connectivity), blocking: 5');
    // Numbers and addresses are masked, so each root cause is one cluster.
    expect(byIssue.stdout).toMatch(
      /^ {4}7 × AssertionError: JWT token structure invalid for user <n>$/m,
    );
    expect(byIssue.stdout).toMatch(/^ {4}5 × AssertionError: connect ECONNREFUSED <n>:<n>$/m);
    expect(byIssue.stdout).toMatch(
      /^ {8}app\.OrgTest\.t1, app\.OrgTest\.t2, app\.OrgTest\.t3 and 4 more$/m,
    );

    // A newer run of the issue that is still open is not the one triaged.
    const open = await ci([
      'upload',
      '--project',
      'api',
      '--issue',
      '2',
      '--build',
      'pkg-open',
      '--shards',
      '2',
      'report.xml',
    ]);
    expect(open.code, open.stderr).toBe(0);
    expect(open.stdout).toContain('is open: 1 of 2 shards uploaded');
    const again = await ci(['triage', '--project', 'api', '--issue', '2']);
    expect(again.stdout.split('\n')[0]).toBe(`Run ${runId}: 12 failure(s)`);

    // The server's own `gatehouse triage` is the same code.
    const byRun = await f.cli(['triage', '--project', 'api', '--run', runId!]);
    expect(byRun.code, byRun.stderr).toBe(0);
    expect(byRun.stdout).toBe(byIssue.stdout);

    const json = capture();
    const code = await triage(['--project', 'api', '--run', runId!, '--json'], {
      ...json,
      env: { GATEHOUSE_URL: f.address, GATEHOUSE_TOKEN: f.token },
    });
    expect(code, json.text.err).toBe(0);
    expect(JSON.parse(json.text.out)).toMatchObject({ runId, failures: 12 });
  });

  it('triage says what is missing: no run named, an issue without a complete run, an unknown run', async () => {
    const none = await ci(['triage', '--project', 'api']);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('gatehouse triage: name the run: --run ID, or --issue N');
    expect(none.stderr).toContain('Usage: gatehouse triage');
    const bare = await ci(['triage', '--project', 'api', '--issue']);
    expect(bare.stderr).toContain('--issue needs the issue number');
    const empty = await ci(['triage', '--project', 'api', '--issue', '41']);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('issue #41 has no complete run yet');
    const unknown = await ci([
      'triage',
      '--project',
      'api',
      '--run',
      '01890000-0000-7000-8000-000000000000',
    ]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('404');
  });

  it('answers --help per command, and an unknown command with the usage and exit 2', async () => {
    const help = await ci(['upload', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--shards N');
    const top = await ci(['--help']);
    expect(top.code).toBe(0);
    expect(top.stdout).toContain('triage');
    const wrong = await ci(['uplaod']);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('unknown command "uplaod"');
  });

  it('the GitHub Action runs the package with its inputs and the GitHub defaults', async () => {
    const action = await fs.readFile(path.join(root, 'action.yml'), 'utf8');
    // The step's script, as the runner executes it after filling in env from the inputs.
    const script = /\n {6}run: \|\n((?: {8}.*\n)+)/.exec(action)?.[1]?.replace(/^ {8}/gm, '');
    expect(script).toContain('gatehouse-ci.js');
    for (const input of ['url', 'token', 'project', 'files', 'issue', 'shards', 'require'])
      expect(action).toMatch(new RegExp(`\\n  ${input}:\\n`));
    expect(action).toContain('default: ${{ github.run_id }}');
    expect(action).toContain('default: ${{ github.sha }}');
    const res = await runProcess('bash', ['-c', script!], f.dir, {
      GITHUB_ACTION_PATH: root,
      GATEHOUSE_URL: f.address,
      GATEHOUSE_TOKEN: f.token,
      INPUT_PROJECT: 'api',
      INPUT_FILES: 'reports/nested/*.xml\nreport.xml',
      INPUT_ORG: '',
      INPUT_ISSUE: '3',
      INPUT_SHARDS: '',
      INPUT_REQUIRE: 'security, infrastructure',
      INPUT_GATE: 'false',
      INPUT_WAIT: '',
      INPUT_BUILD: 'gh-77',
      INPUT_ATTEMPT: '2',
      INPUT_COMMIT: 'beef02',
      INPUT_BRANCH: 'feature/x',
    });
    // Issue #3 has no review: security is pending, so the required gates fail the step.
    expect(res.code, res.stderr).toBe(1);
    expect(res.stdout).toMatch(/Run [0-9a-f-]{36}: 30 tests, 29 passed, 1 failed/);
    expect(res.stderr).toContain('not passed: security (pending)');
    const run = await f.t.database.db
      .selectFrom('test_runs')
      .selectAll()
      .where('build', '=', 'gh-77')
      .executeTakeFirstOrThrow();
    expect(run).toMatchObject({
      commit_sha: 'beef02',
      branch: 'feature/x',
      attempt: 2,
      issue_number: 3,
      files: 2,
    });
  });
});

describe('uploading with curl (README)', () => {
  it('the README one-liners, raw and gzipped, upload a run against the real API', async () => {
    const readme = await fs.readFile(path.join(root, 'README.md'), 'utf8');
    const block = /<!-- curl-upload -->\n```sh\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(block).toBeDefined();
    const commands = block!
      .replace(/\\\n\s*/g, '')
      .split('\n')
      .filter((line) => line.trim() !== '' && !line.startsWith('#'));
    expect(commands).toHaveLength(3);
    const ids: string[] = [];
    for (const command of commands) {
      const res = await runProcess('bash', ['-euo', 'pipefail', '-c', command], f.dir, {
        GATEHOUSE_URL: f.address,
        GATEHOUSE_TOKEN: f.token,
      });
      expect(res.code, `${command}\n${res.stdout}${res.stderr}`).toBe(0);
      const run = JSON.parse(res.stdout);
      expect(run.totals, command).toMatchObject({ tests: expect.any(Number) });
      ids.push(run.id);
    }
    const runs = await Promise.all(
      ids.map((id) =>
        f.t.database.db
          .selectFrom('test_runs')
          .select(['tests', 'failed', 'files'])
          .where('id', '=', id)
          .executeTakeFirstOrThrow(),
      ),
    );
    expect(runs).toEqual([
      { tests: 10, failed: 1, files: 1 },
      { tests: 10, failed: 1, files: 1 },
      { tests: 60, failed: 12, files: 2 },
    ]);
  });
});
