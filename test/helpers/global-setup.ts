import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres } from '../../src/db/embedded.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    adminUrl: string;
    serverKind: string;
  }
}

/**
 * The suite's PostgreSQL: the server at DATABASE_URL when set, else one embedded server
 * for the whole run. Each test file creates (and drops) a database of its own on it.
 */
export default async function setup(project: TestProject) {
  const external = process.env['DATABASE_URL'];
  if (external !== undefined && external !== '') {
    project.provide('adminUrl', external);
    project.provide('serverKind', 'server');
    return;
  }
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'gatehouse-test-'));
  await fs.chmod(dir, 0o755);
  const server = await startEmbeddedPostgres(dir, pino({ level: 'silent' }));
  project.provide('adminUrl', server.url);
  project.provide('serverKind', 'embedded');
  return async () => {
    await server.stop();
    await fs.rm(dir, { recursive: true, force: true });
  };
}
