import fs from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../helpers/app.ts';
import {
  capture,
  cliFixture,
  closedPort,
  recordingProxy,
  type CliFixture,
} from '../helpers/cli.ts';
import { junitXml } from '../helpers/junit-gen.ts';
import { upload } from '@gatehouse/cli';

let f: CliFixture;
let t: TestApp;
let address: string;
let token: string;
let dir: string;

beforeAll(async () => {
  f = await cliFixture('cli', 'web');
  ({ t, address, token, dir } = f);
  await fs.mkdir(path.join(dir, 'reports'));
  await fs.writeFile(path.join(dir, 'reports', 'unit.xml'), junitXml(20, { failEvery: 4 }));
  await fs.writeFile(path.join(dir, 'reports', 'e2e.xml'), junitXml(10, { failEvery: 100 }));
  await fs.writeFile(
    path.join(dir, 'broken.xml'),
    '<testsuite><testcase name="a" time="<<computed>>"/></testsuite>',
  );
});
afterAll(() => f.close());

function cli(args: string[], env: Record<string, string> = {}) {
  return f.cli(['upload', ...args], env);
}

describe('gatehouse upload', () => {
  it('uploads every matching file into one run, with metadata from the CI environment', async () => {
    const res = await cli(['--project', 'web', '--issue', '2', 'reports/*.xml'], {
      GITHUB_ACTIONS: 'true',
      GITHUB_SHA: 'a1b2c3',
      GITHUB_REF_NAME: 'main',
      GITHUB_RUN_ID: '4242',
      GITHUB_RUN_ATTEMPT: '1',
    });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(
      /Run [0-9a-f-]{36}: 30 tests, 25 passed, 5 failed, 0 errors, 0 skipped, 0 flaky/,
    );
    expect(res.stdout).toContain('Pass rate: 83.3%');
    expect(res.stdout).toContain(`${'http://gatehouse.test'}/api/v1/orgs/cli/projects/web/runs/`);
    expect(res.stderr).toContain('Uploading e2e.xml');
    const run = await t.database.db
      .selectFrom('test_runs')
      .selectAll()
      .where('build', '=', '4242')
      .executeTakeFirstOrThrow();
    expect(run).toMatchObject({
      commit_sha: 'a1b2c3',
      branch: 'main',
      attempt: 1,
      issue_number: 2,
      files: 2,
      tests: 30,
    });
  });

  it("fails with exit 2 and the server's problem detail on a bad file, storing nothing", async () => {
    const before = await t.database.db.selectFrom('test_runs').select('id').execute();
    const res = await cli(['--project', 'web', 'broken.xml']);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/400 Bad Request: broken\.xml:1:\d+/);
    expect(res.stderr).toMatch(/file\/broken\.xml: line 1, column \d+/);
    expect(await t.database.db.selectFrom('test_runs').select('id').execute()).toHaveLength(
      before.length,
    );
  });

  it('fails with exit 2 and usage on bad arguments or missing configuration', async () => {
    expect((await cli(['reports/unit.xml'])).stderr).toContain('--project is required');
    expect((await cli(['--project', 'web'])).code).toBe(2);
    expect((await cli(['--project', 'web', 'nothing/*.xml'])).stderr).toContain('no file matches');
    const noToken = await cli(['--project', 'web', 'reports/unit.xml'], { GATEHOUSE_TOKEN: '' });
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toContain('GATEHOUSE_TOKEN');
    const wrongProject = await cli(['--project', 'nope', 'reports/unit.xml']);
    expect(wrongProject.code).toBe(2);
    expect(wrongProject.stderr).toContain('404');
  });

  it('retries a failed upload with the same Idempotency-Key', async () => {
    const proxy = await recordingProxy(address, {
      status: 503,
      headers: { 'content-type': 'application/problem+json', 'retry-after': '1' },
      body: '{"title":"Service Unavailable","detail":"try again"}',
    });
    try {
      const res = await cli(['--project', 'web', '--build', 'retried', 'reports/unit.xml'], {
        GATEHOUSE_URL: proxy.url,
      });
      const seen = proxy.requests
        .filter((r) => r.method === 'POST')
        .map((r) => ({ key: r.headers['idempotency-key'], status: r.status }));
      expect(res.code, res.stderr).toBe(0);
      expect(res.stderr).toMatch(/retrying in 1s \(attempt 2 of 4\)/);
      expect(seen.map((s) => s.status)).toEqual([503, 201]);
      expect(seen[0]!.key).toBeTruthy();
      expect(seen[1]!.key).toBe(seen[0]!.key);
    } finally {
      await proxy.close();
    }
  });

  it('shows progress on a terminal for a large file', async () => {
    const big = path.join(dir, 'big.xml');
    await fs.writeFile(big, junitXml(20_000));
    const { stdout, stderr, text: captured } = capture(true);
    const code = await upload(['--project', 'web', big], {
      stdout,
      stderr,
      env: { GATEHOUSE_URL: address, GATEHOUSE_TOKEN: token },
    });
    expect(code, captured.err).toBe(0);
    expect(captured.err).toMatch(/\rbig\.xml: \d+% of [\d.]+ MB/);
    expect(captured.err).toContain('100% of');
    expect(captured.out).toContain('20000 tests');
  });

  it('sends every file of an invocation in one streamed multipart request, judged once', async () => {
    const proxy = await recordingProxy(address);
    try {
      const res = await cli(['--project', 'web', '--issue', '5', 'reports/*.xml'], {
        GATEHOUSE_URL: proxy.url,
      });
      expect(res.code, res.stderr).toBe(0);
      expect(res.stderr).toContain('Uploading e2e.xml, unit.xml (');
      const posts = proxy.requests.filter((r) => r.method === 'POST');
      expect(posts).toHaveLength(1);
      expect(posts[0]!.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
      expect(posts[0]!.headers['content-length']).toBeUndefined();
      expect(posts[0]!.headers['transfer-encoding']).toBe('chunked');
      expect(posts[0]!.head).toMatch(
        /Content-Disposition: form-data; name="files"; filename="e2e\.xml"\r\nContent-Type: application\/gzip\r\n/,
      );
      const runId = /Run ([0-9a-f-]{36})/.exec(res.stdout)![1]!;
      const files = await t.database.db
        .selectFrom('run_files')
        .select('filename')
        .where('run_id', '=', runId)
        .orderBy('filename')
        .execute();
      expect(files.map((r) => r.filename)).toEqual(['e2e.xml', 'unit.xml']);
      // Per-file requests judged the issue twice: e2e.xml alone passed, then both blocked.
      const gates = await t.app.inject({
        url: '/api/v1/orgs/cli/projects/web/issues/5/gates',
        headers: f.owner.auth,
      });
      const report = gates.json<{ gates: { key: string }[]; history: { gate: string }[] }>();
      expect(report.gates.length).toBeGreaterThan(0);
      for (const g of report.gates)
        expect(report.history.filter((h) => h.gate === g.key)).toHaveLength(1);
    } finally {
      await proxy.close();
    }
  });

  it('streams large files gzipped in one request', async () => {
    await fs.mkdir(path.join(dir, 'large'));
    await fs.writeFile(path.join(dir, 'large', 'many.xml'), junitXml(20_000));
    const noisy = `<testcase classname="app.LogTest" name="n"><system-out>${'a log line that repeats\n'.repeat(45_000)}</system-out></testcase>\n`;
    await fs.writeFile(
      path.join(dir, 'large', 'noisy.xml'),
      `<testsuite name="noisy">\n${noisy.repeat(40)}</testsuite>\n`,
    );
    const raw =
      (await fs.stat(path.join(dir, 'large', 'many.xml'))).size +
      (await fs.stat(path.join(dir, 'large', 'noisy.xml'))).size;
    expect(raw).toBeGreaterThan(40 * 1024 * 1024);
    const proxy = await recordingProxy(address);
    try {
      const { stdout, stderr, text } = capture();
      const code = await upload(['--project', 'web', path.join(dir, 'large', '*.xml')], {
        stdout,
        stderr,
        env: { GATEHOUSE_URL: proxy.url, GATEHOUSE_TOKEN: token },
      });
      expect(code, text.err).toBe(0);
      expect(text.out).toContain('20040 tests');
      expect(text.out).toContain('over 2 file(s)');
      const posts = proxy.requests.filter((r) => r.method === 'POST');
      expect(posts).toHaveLength(1);
      expect(posts[0]!.headers['content-length']).toBeUndefined();
      expect(posts[0]!.bytes).toBeLessThan(raw / 10);
    } finally {
      await proxy.close();
    }
  });

  it('takes GATEHOUSE_URL with a trailing /api/v1', async () => {
    for (const url of [`${address}/api/v1`, `${address}/api/v1/`]) {
      const { stdout, stderr, text } = capture();
      const code = await upload(['--project', 'web', path.join(dir, 'reports', 'e2e.xml')], {
        stdout,
        stderr,
        env: { GATEHOUSE_URL: url, GATEHOUSE_TOKEN: token },
      });
      expect(code, text.err).toBe(0);
      expect(text.out).toContain('10 tests');
    }
  });

  it('says plainly when GATEHOUSE_URL cannot be reached or is not Gatehouse; only a 401 from Gatehouse is a refused token', async () => {
    const file = path.join(dir, 'reports', 'e2e.xml');
    const run = async (env: Record<string, string>, extra: string[] = []) => {
      const { stdout, stderr, text } = capture();
      const code = await upload(['--project', 'web', ...extra, file], {
        stdout,
        stderr,
        env: { GATEHOUSE_TOKEN: token, ...env },
        sleep: () => Promise.resolve(),
      });
      return { code, err: text.err };
    };
    const port = await closedPort();
    const refused = await run({ GATEHOUSE_URL: `http://127.0.0.1:${port}` });
    expect(refused.code).toBe(2);
    expect(refused.err).toContain(
      `cannot reach Gatehouse at http://127.0.0.1:${port}: connection refused (ECONNREFUSED)`,
    );
    expect(refused.err).not.toContain('token');
    // With --org the token is not looked up: the upload itself is retried, then reported.
    const refusedUpload = await run({ GATEHOUSE_URL: `http://127.0.0.1:${port}` }, [
      '--org',
      'cli',
    ]);
    expect(refusedUpload.code).toBe(2);
    expect(refusedUpload.err).toContain(
      `could not be uploaded after 4 attempts: cannot reach Gatehouse at http://127.0.0.1:${port}: connection refused`,
    );

    const other = http.createServer((_req, res) =>
      res.writeHead(404, { 'content-type': 'text/html' }).end('<html>Not Found</html>'),
    );
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(other.address() as { port: number }).port}`;
      const notUs = await run({ GATEHOUSE_URL: url });
      expect(notUs.code).toBe(2);
      expect(notUs.err).toContain(
        `GET /api/v1/token got 404 text/html, not an answer from Gatehouse: is GATEHOUSE_URL (${url}) the Gatehouse address?`,
      );
      expect(notUs.err).not.toContain('token was refused');
      const notUsUpload = await run({ GATEHOUSE_URL: url }, ['--org', 'cli']);
      expect(notUsUpload.code).toBe(2);
      expect(notUsUpload.err).toContain(
        'POST /api/v1/orgs/cli/projects/web/runs got 404 text/html, not an answer from Gatehouse',
      );
    } finally {
      other.close();
    }

    const badToken = await run({ GATEHOUSE_URL: address, GATEHOUSE_TOKEN: 'gth_nope' });
    expect(badToken.code).toBe(2);
    expect(badToken.err).toContain('the token was refused: 401');
  });

  it('names --issue when it has no number, and checks --shards and --wait', async () => {
    const run = async (args: string[]) => {
      const { stdout, stderr, text } = capture();
      const code = await upload(args, {
        stdout,
        stderr,
        env: { GATEHOUSE_URL: address, GATEHOUSE_TOKEN: token },
      });
      return { code, err: text.err };
    };
    for (const args of [
      ['--project', 'web', '--issue', '--gate', 'reports/unit.xml'],
      ['--project', 'web', 'reports/unit.xml', '--issue'],
    ]) {
      const res = await run(args);
      expect(res.code).toBe(2);
      expect(res.err).toContain('gatehouse upload: --issue needs the issue number');
      expect(res.err).toContain('Usage: gatehouse upload');
    }
    expect((await run(['--project', 'web', '--shards', '0', 'x.xml'])).err).toContain(
      '--shards must be a whole number from 1 to 1000',
    );
    expect((await run(['--project', 'web', '--shards', '2', 'x.xml'])).err).toContain(
      '--shards needs a build id',
    );
    expect((await run(['--project', 'web', '--wait', '10', 'x.xml'])).err).toContain(
      '--wait goes with --gate',
    );
  });

  it('leaves a sharded run open without --gate, and with --gate fails with exit 2 when --wait runs out', async () => {
    const file = path.join(dir, 'reports', 'e2e.xml');
    const first = capture();
    const env = { GATEHOUSE_URL: address, GATEHOUSE_TOKEN: token };
    const code = await upload(['--project', 'web', '--build', 'w1', '--shards', '3', file], {
      ...first,
      env,
    });
    expect(code, first.text.err).toBe(0);
    const runId = /Run ([0-9a-f-]{36})/.exec(first.text.out)![1]!;
    expect(first.text.out).toContain(
      `run ${runId} is open: 1 of 3 shards uploaded; it is judged when the last arrives`,
    );

    const slept: number[] = [];
    const second = capture();
    const waited = await upload(
      [
        '--project',
        'web',
        '--build',
        'w1',
        '--shards',
        '3',
        '--issue',
        '7',
        '--gate',
        '--wait',
        '30',
        file,
      ],
      { ...second, env, sleep: (ms) => (slept.push(ms), Promise.resolve()) },
    );
    expect(waited, second.text.err).toBe(2);
    expect(second.text.out).toContain(`run ${runId} is open: 2 of 3 shards uploaded`);
    expect(second.text.err).toContain(
      `gatehouse upload: run ${runId} is still open after waiting 30s (2 of 3 shards uploaded), so its gates are not judged yet`,
    );
    expect(slept.reduce((a, b) => a + b, 0)).toBe(30_000);
    expect(second.text.out).not.toContain('Issue #7');
  });
});
