import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export interface LoadResult {
  requestsPerSecond: number;
  p99Ms: number;
  p50Ms: number;
  errors: number;
  non2xx: number;
}

/** Runs autocannon in a process of its own against `url` and returns its summary. */
export async function autocannon(
  url: string,
  opts: { headers?: Record<string, string>; connections: number; seconds: number },
): Promise<LoadResult> {
  const bin = path.join(path.dirname(require.resolve('autocannon/package.json')), 'autocannon.js');
  const args = [bin, '-j', '-c', String(opts.connections), '-d', String(opts.seconds)];
  for (const [k, v] of Object.entries(opts.headers ?? {})) args.push('-H', `${k}=${v}`);
  args.push(url);
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'ignore'] });
    let buf = '';
    child.stdout.on('data', (c: Buffer) => (buf += c.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(buf) : reject(new Error(`autocannon exited ${code}`)),
    );
  });
  const r = JSON.parse(out) as {
    requests: { average: number };
    latency: { p99: number; p50: number };
    errors: number;
    non2xx: number;
  };
  return {
    requestsPerSecond: r.requests.average,
    p99Ms: r.latency.p99,
    p50Ms: r.latency.p50,
    errors: r.errors,
    non2xx: r.non2xx,
  };
}

export async function tempDir(prefix: string): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
  await fs.chmod(dir, 0o755);
  return dir;
}

export function machine(): string {
  return `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
}
