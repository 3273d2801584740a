import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { apiToken, ownerOfNewOrg, type Session } from './actors.ts';
import { startTestApp, type TestApp } from './app.ts';

const root = path.resolve(import.meta.dirname, '../..');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `gatehouse ...` as CI would: its own process, a clean environment plus `env`. */
export function runCli(
  args: string[],
  cwd: string,
  env: Record<string, string>,
): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(root, 'bin/gatehouse.js'), ...args], {
      cwd,
      env: { PATH: process.env['PATH'] ?? '', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

export interface CliFixture {
  t: TestApp;
  owner: Session & { orgId: string };
  token: string;
  address: string;
  /** A scratch folder the CLI runs in. */
  dir: string;
  cli(args: string[], env?: Record<string, string>): Promise<CliResult>;
  close(): Promise<void>;
}

/** A listening app with an org, a project and a CI token: what a CI job talks to. */
export async function cliFixture(slug: string, project: string): Promise<CliFixture> {
  const t = await startTestApp();
  const owner = await ownerOfNewOrg(t.app, slug);
  const created = await t.app.inject({
    method: 'POST',
    url: `/api/v1/orgs/${slug}/projects`,
    headers: owner.auth,
    payload: { key: project, name: project },
  });
  if (created.statusCode !== 201) throw new Error(created.body);
  const token = (await apiToken(t.app, owner, slug)).token;
  const address = await t.app.listen({ port: 0, host: '127.0.0.1' });
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `gatehouse-${slug}-`));
  return {
    t,
    owner,
    token,
    address,
    dir,
    cli: (args, env = {}) =>
      runCli(args, dir, { GATEHOUSE_URL: address, GATEHOUSE_TOKEN: token, ...env }),
    async close() {
      await t.close();
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}
