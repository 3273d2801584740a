import { spawn } from 'node:child_process';
import { sql } from 'kysely';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { withOrgAsSystem, withSystem } from '../../src/db/system.ts';
import { JOB_SCHEMA } from '../../src/jobs/queue.ts';
import { enqueueJob } from '../../src/jobs/queue.ts';
import { sweep } from '../../src/jobs/sweep.ts';
import { startWorker, type JobHandler, type Worker } from '../../src/jobs/worker.ts';
import { startTestApp, TEST_SECRET, type TestApp } from '../helpers/app.ts';
import { apiToken, ownerOfNewOrg, type Session } from '../helpers/actors.ts';
import { junitXml } from '../helpers/junit-gen.ts';
import { waitFor } from '../helpers/wait.ts';
import { workerDeps } from '../helpers/worker-deps.ts';

let t: TestApp;
let owner: Session & { orgId: string };
const workers: Worker[] = [];

beforeAll(async () => {
  // Short expiry and maintenance so a crashed worker's job comes back within seconds.
  t = await startTestApp({
    GATEHOUSE_JOB_EXPIRE_SECONDS: '2',
    GATEHOUSE_JOB_MAINTENANCE_SECONDS: '1',
    GATEHOUSE_JOB_RETRY_DELAY_SECONDS: '1',
    GATEHOUSE_JOB_RETRY_LIMIT: '3',
    GATEHOUSE_JOB_POLL_SECONDS: '1',
    GATEHOUSE_RUN_QUIET_SECONDS: '60',
  });
  owner = await ownerOfNewOrg(t.app, 'jobs');
});
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop(1000)));
});
afterAll(() => t.close());

async function worker(
  handlers?: Record<string, JobHandler>,
  extra: { registry?: Registry; logger?: pino.Logger } = {},
): Promise<Worker> {
  const w = await startWorker(
    {
      ...workerDeps(t, extra.logger),
      ...(extra.registry === undefined ? {} : { registry: extra.registry }),
    },
    handlers,
  );
  workers.push(w);
  return w;
}

async function jobsOf(queue: string) {
  const { rows } = await sql<{
    id: string;
    state: string;
    retry_count: number;
    retry_backoff: boolean;
    data: Record<string, unknown>;
  }>`SELECT id, state::text AS state, retry_count, retry_backoff, data FROM ${sql.table(`${JOB_SCHEMA}.job`)}
     WHERE name = ${queue} ORDER BY created_on`.execute(t.database.db);
  return rows;
}

describe('background jobs on the queue', () => {
  it('runs each job exactly once when two workers race for the same jobs', async () => {
    const ran: number[] = [];
    const handler: JobHandler = (job) => {
      ran.push((job.data as { n: number }).n);
      return Promise.resolve();
    };
    await worker({ 'test-once': handler });
    await worker({ 'test-once': handler });
    await withSystem(t.database.db, async (trx) => {
      for (let n = 1; n <= 40; n++) await enqueueJob(trx, 'test-once' as never, { n });
    });
    await waitFor(async () => {
      const jobs = await jobsOf('test-once');
      return jobs.length === 40 && jobs.every((j) => j.state === 'completed') ? true : undefined;
    });
    expect([...ran].sort((x, y) => x - y)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
  });

  it('takes queued jobs one after another without waiting a polling interval between them', async () => {
    // A polling interval longer than the wait below: one job per poll would finish 1 of 8.
    const done: number[] = [];
    // The queue exists once a worker has started on it; the jobs are waiting when the
    // worker below makes its first fetch.
    await (await startWorker(workerDeps(t), { 'test-drain': () => Promise.resolve() })).stop(1000);
    await withSystem(t.database.db, async (trx) => {
      for (let n = 1; n <= 8; n++) await enqueueJob(trx, 'test-drain' as never, { n });
    });
    const w = await startWorker(
      { ...workerDeps(t), config: { ...t.config, jobs: { ...t.config.jobs, pollSeconds: 60 } } },
      {
        'test-drain': (job) => {
          done.push((job.data as { n: number }).n);
          return Promise.resolve();
        },
      },
    );
    workers.push(w);
    await waitFor(async () => {
      const jobs = await jobsOf('test-drain');
      return jobs.length === 8 && jobs.every((j) => j.state === 'completed') ? true : undefined;
    }, 30_000);
    expect([...done].sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('never enqueues a job whose transaction rolled back', async () => {
    await worker({ 'test-rollback': () => Promise.resolve() });
    await expect(
      withSystem(t.database.db, async (trx) => {
        await enqueueJob(trx, 'test-rollback' as never, { n: 1 });
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');
    expect(await jobsOf('test-rollback')).toEqual([]);
  });

  it('retries a job that fails twice, with exponential backoff, then succeeds', async () => {
    const attempts = new Map<string, number>();
    await worker({
      'test-flaky': (job) => {
        const n = (attempts.get(job.id) ?? 0) + 1;
        attempts.set(job.id, n);
        if (n <= 2) return Promise.reject(new Error(`attempt ${n} fails`));
        return Promise.resolve({ attempt: n });
      },
    });
    await withSystem(t.database.db, (trx) => enqueueJob(trx, 'test-flaky' as never, {}));
    const job = await waitFor(async () => {
      const [j] = await jobsOf('test-flaky');
      return j?.state === 'completed' ? j : undefined;
    });
    expect(attempts.get(job.id)).toBe(3);
    expect(job).toMatchObject({ retry_count: 2, retry_backoff: true });
  });

  it("brings a crashed worker's job back within the configured expiry, for another worker", async () => {
    // A real process takes the job and is killed (SIGKILL) in the middle of it.
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/crash-worker.ts'], {
      env: {
        ...process.env,
        DATABASE_URL: t.config.databaseUrl,
        GATEHOUSE_SECRET: TEST_SECRET,
        GATEHOUSE_JOB_EXPIRE_SECONDS: '2',
        GATEHOUSE_JOB_MAINTENANCE_SECONDS: '1',
        GATEHOUSE_JOB_POLL_SECONDS: '1',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const output: string[] = [];
    child.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    try {
      await waitFor(
        () => Promise.resolve(output.join('').includes('ready') ? true : undefined),
        30_000,
      );
      await withSystem(t.database.db, (trx) => enqueueJob(trx, 'test-crash' as never, {}));
      await waitFor(() => Promise.resolve(output.join('').includes('started') ? true : undefined));
    } finally {
      child.kill('SIGKILL');
    }
    const [taken] = await jobsOf('test-crash');
    expect(taken?.state).toBe('active');
    let finishedBySecond = false;
    await worker({
      'test-crash': () => {
        finishedBySecond = true;
        return Promise.resolve();
      },
    });
    // Expiry 2 s, maintenance every 1 s, polling every 1 s: back well within 15 s.
    const job = await waitFor(async () => {
      const [j] = await jobsOf('test-crash');
      return j?.state === 'completed' ? j : undefined;
    }, 15_000);
    expect(finishedBySecond).toBe(true);
    expect(job.retry_count).toBe(1);
  });

  it('makes a dead job visible: a log line, a counter and the jobs gauge on /metrics', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) });
    const registry = new Registry();
    const boss = (await worker({}, {})).boss;
    await boss.createQueue('test-dead', { name: 'test-dead', retryLimit: 0 });
    await worker(
      {
        'test-dead': () => Promise.reject(new Error('always fails')),
      },
      { registry, logger },
    );
    await withSystem(t.database.db, (trx) => enqueueJob(trx, 'test-dead' as never, {}));
    await waitFor(async () => {
      const [j] = await jobsOf('test-dead');
      return j?.state === 'failed' ? j : undefined;
    });
    await waitFor(() =>
      Promise.resolve(lines.some((l) => l.includes('job failed for good')) ? true : undefined),
    );
    expect(await registry.getSingleMetricAsString('gatehouse_jobs_dead_total')).toContain(
      'gatehouse_jobs_dead_total{queue="test-dead"} 1',
    );
    const metrics = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toContain('gatehouse_jobs{queue="test-dead",state="failed"} 1');
  });

  it('closes each quiet run exactly once when two workers share the closing jobs', async () => {
    const ci = await apiToken(t.app, owner, 'jobs');
    await t.app.inject({
      method: 'POST',
      url: '/api/v1/orgs/jobs/projects',
      headers: owner.auth,
      payload: { key: 'race', name: 'Race' },
    });
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await t.app.inject({
        method: 'POST',
        url: `/api/v1/orgs/jobs/projects/race/runs?build=race-${i}&shards=2`,
        headers: { ...ci.auth, 'content-type': 'application/xml' },
        payload: junitXml(3),
      });
      expect(res.json().status).toBe('open');
      ids.push(res.json().id);
    }
    await worker();
    await worker();
    t.clock.advance(61_000);
    const taken = await sweep({ db: t.database.db, clock: t.clock });
    expect(taken.map((i) => i.refId).sort()).toEqual([...ids].sort());
    await waitFor(async () => {
      const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM test_runs
        WHERE org_id = ${owner.orgId} AND id = ANY(${ids}::uuid[]) AND status = 'complete'`.execute(
        t.database.db,
      );
      return rows[0]!.n === ids.length ? true : undefined;
    });
    const { rows } = await sql<{
      target_id: string;
      n: number;
    }>`SELECT target_id, count(*)::int AS n
      FROM audit_events WHERE org_id = ${owner.orgId} AND action = 'run.completed'
      GROUP BY target_id`.execute(t.database.db);
    expect(rows.filter((r) => ids.includes(r.target_id)).map((r) => r.n)).toEqual(ids.map(() => 1));
    // Nothing is due any more: a second sweep takes nothing.
    expect(await sweep({ db: t.database.db, clock: t.clock })).toEqual([]);
  });
});

describe('the system door', () => {
  it('acts inside one tenant under row-level security and audits as the system', async () => {
    const other = await ownerOfNewOrg(t.app, 'jobs-other');
    await t.app.inject({
      method: 'POST',
      url: '/api/v1/orgs/jobs-other/projects',
      headers: other.auth,
      payload: { key: 'hidden', name: 'Hidden' },
    });
    const seen = await withOrgAsSystem(
      t.database.db,
      owner.orgId,
      { reason: 'a test of the door' },
      async (trx, ctx) => {
        await ctx.audit({ action: 'system.checked', targetType: 'org', targetId: owner.orgId });
        const { rows } = await sql<{ key: string }>`SELECT key FROM projects`.execute(trx);
        return rows.map((r) => r.key);
      },
    );
    expect(seen).not.toContain('hidden');
    const { rows } = await sql<{ actor_type: string; data: { reason: string } }>`
      SELECT actor_type, data FROM audit_events WHERE org_id = ${owner.orgId}
      AND action = 'system.checked'`.execute(t.database.db);
    expect(rows).toEqual([{ actor_type: 'system', data: { reason: 'a test of the door' } }]);
  });

  it('re-checks the org a job names: an unknown or deleted org is NotFound', async () => {
    const gone = await ownerOfNewOrg(t.app, 'jobs-gone');
    expect(
      (await t.app.inject({ method: 'DELETE', url: '/api/v1/orgs/jobs-gone', headers: gone.auth }))
        .statusCode,
    ).toBe(204);
    for (const orgId of [gone.orgId, '01890000-0000-7000-8000-000000000000']) {
      await expect(
        withOrgAsSystem(t.database.db, orgId, { reason: 'test' }, () => Promise.resolve('ran')),
      ).rejects.toMatchObject({ status: 404 });
    }
  });

  it('sees no tenant rows outside a tenant', async () => {
    const { rows } = await withSystem(t.database.db, (trx) =>
      sql<{ n: number }>`SELECT count(*)::int AS n FROM projects`.execute(trx),
    );
    expect(rows[0]!.n).toBe(0);
  });
});
