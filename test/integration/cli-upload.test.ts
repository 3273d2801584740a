import fs from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../helpers/app.ts';
import { cliFixture, type CliFixture } from '../helpers/cli.ts';
import { junitXml } from '../helpers/junit-gen.ts';
import { upload } from '../../src/cli/upload.ts';
import { Writable } from 'node:stream';

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
    const seen: { key: string | undefined; status: number }[] = [];
    const target = new URL(address);
    let posts = 0;
    const proxy = http.createServer((req, res) => {
      const isUpload = req.method === 'POST';
      if (isUpload && posts++ === 0) {
        seen.push({ key: req.headers['idempotency-key'] as string, status: 503 });
        req.resume();
        req.on('end', () =>
          res
            .writeHead(503, { 'content-type': 'application/problem+json', 'retry-after': '1' })
            .end('{"title":"Service Unavailable","detail":"try again"}'),
        );
        return;
      }
      const upstream = http.request(
        {
          host: target.hostname,
          port: target.port,
          path: req.url,
          method: req.method,
          headers: req.headers,
        },
        (up) => {
          if (isUpload)
            seen.push({
              key: req.headers['idempotency-key'] as string,
              status: up.statusCode ?? 0,
            });
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      req.pipe(upstream);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    try {
      const port = (proxy.address() as { port: number }).port;
      const res = await cli(['--project', 'web', '--build', 'retried', 'reports/unit.xml'], {
        GATEHOUSE_URL: `http://127.0.0.1:${port}`,
      });
      expect(res.code, res.stderr).toBe(0);
      expect(res.stderr).toMatch(/retrying in 1s \(attempt 2 of 4\)/);
      expect(seen.map((s) => s.status)).toEqual([503, 201]);
      expect(seen[0]!.key).toBeTruthy();
      expect(seen[1]!.key).toBe(seen[0]!.key);
    } finally {
      proxy.close();
    }
  });

  it('shows progress on a terminal for a large file', async () => {
    const big = path.join(dir, 'big.xml');
    await fs.writeFile(big, junitXml(20_000));
    const captured = { out: '', err: '' };
    const sink = (key: 'out' | 'err') =>
      Object.assign(
        new Writable({
          write(chunk: Buffer, _enc, done) {
            captured[key] += chunk.toString();
            done();
          },
        }),
        { isTTY: true },
      );
    const code = await upload(['--project', 'web', big], {
      stdout: sink('out'),
      stderr: sink('err'),
      env: { GATEHOUSE_URL: address, GATEHOUSE_TOKEN: token },
    });
    expect(code, captured.err).toBe(0);
    expect(captured.err).toMatch(/\rbig\.xml: \d+% of [\d.]+ MB/);
    expect(captured.err).toContain('100% of');
    expect(captured.out).toContain('20000 tests');
  });
});
