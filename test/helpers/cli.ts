import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
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
  return runProcess(process.execPath, [path.join(root, 'bin/gatehouse.js'), ...args], cwd, env);
}

/** The CI package's own command, `gatehouse-ci ...`, run by plain node (no TypeScript loader). */
export const PACKAGE_BIN = path.join(root, 'packages/cli/bin/gatehouse-ci.js');

/** Runs a program with a clean environment plus `env` (PATH kept). */
export function runProcess(
  file: string,
  args: string[],
  cwd: string,
  env: Record<string, string>,
): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(file, args, {
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

export interface ProxiedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  /** Bytes of the request body as sent on the wire. */
  bytes: number;
  /** The first 4 KB of the body, as latin1 text. */
  head: string;
  /** The status the client got back. */
  status: number;
}

/**
 * A pass-through HTTP proxy in front of the app that records every request; `failFirst`
 * answers the first POST itself (after reading its body) instead of forwarding it.
 */
export async function recordingProxy(
  target: string,
  failFirst?: { status: number; headers: Record<string, string>; body: string },
): Promise<{ url: string; requests: ProxiedRequest[]; close(): Promise<void> }> {
  const to = new URL(target);
  const requests: ProxiedRequest[] = [];
  let posts = 0;
  const server = http.createServer((req, res) => {
    const seen: ProxiedRequest = {
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      bytes: 0,
      head: '',
      status: 0,
    };
    requests.push(seen);
    req.on('data', (chunk: Buffer) => {
      if (seen.head.length < 4096)
        seen.head = (seen.head + chunk.toString('latin1')).slice(0, 4096);
      seen.bytes += chunk.length;
    });
    if (req.method === 'POST' && posts++ === 0 && failFirst !== undefined) {
      req.resume();
      req.on('end', () => {
        seen.status = failFirst.status;
        res.writeHead(failFirst.status, failFirst.headers).end(failFirst.body);
      });
      return;
    }
    const upstream = http.request(
      { host: to.hostname, port: to.port, path: req.url, method: req.method, headers: req.headers },
      (up) => {
        seen.status = up.statusCode ?? 0;
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    req.pipe(upstream);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** Output streams for running a CLI command in this process. */
export function capture(tty = false) {
  const text = { out: '', err: '' };
  const sink = (key: 'out' | 'err') =>
    Object.assign(
      new Writable({
        write(chunk: Buffer, _enc, done) {
          text[key] += chunk.toString();
          done();
        },
      }),
      { isTTY: tty },
    );
  return { stdout: sink('out'), stderr: sink('err'), text };
}

/** A port on which nothing listens (it was free a moment ago). */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}
