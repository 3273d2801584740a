import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sweep } from '../../src/jobs/sweep.ts';
import { startWorker, type Worker } from '../../src/jobs/worker.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { apiToken, memberOf, ownerOfNewOrg, type Session } from '../helpers/actors.ts';
import { casesWith, multipart, suiteXml } from '../helpers/junit-gen.ts';
import { SEED_QUALITY_CONFIG } from '../helpers/seed.ts';
import { waitFor } from '../helpers/wait.ts';
import { workerDeps } from '../helpers/worker-deps.ts';

let t: TestApp;
let owner: Session & { orgId: string };
let ci: { auth: { authorization: string } };
const base = '/api/v1/orgs/lc/projects/app';
const QUIET = 600;

beforeAll(async () => {
  t = await startTestApp({ GATEHOUSE_RUN_QUIET_SECONDS: String(QUIET) });
  owner = await ownerOfNewOrg(t.app, 'lc');
  const project = await t.app.inject({
    method: 'POST',
    url: '/api/v1/orgs/lc/projects',
    headers: owner.auth,
    payload: { key: 'app', name: 'App' },
  });
  expect(project.statusCode).toBe(201);
  const config = await t.app.inject({
    method: 'PUT',
    url: `${base}/quality-config`,
    headers: owner.auth,
    payload: SEED_QUALITY_CONFIG,
  });
  expect(config.statusCode).toBe(200);
  ci = await apiToken(t.app, owner, 'lc');
});
afterAll(() => t.close());

let issueCounter = 10;
async function newIssue(): Promise<number> {
  const number = issueCounter++;
  const res = await t.app.inject({
    method: 'POST',
    url: `${base}/issues`,
    headers: owner.auth,
    payload: { number, title: `Issue ${number}` },
  });
  expect(res.statusCode).toBe(201);
  return number;
}

const passing = (n: number, suite: string) =>
  suiteXml(
    Array.from({ length: n }, (_, i) => ({ classname: `app.${suite}`, name: `ok${i + 1}` })),
    suite,
  );
const jwtFailures = (n: number, suite: string) =>
  suiteXml(
    casesWith(
      n,
      Object.fromEntries(
        Array.from({ length: n }, (_, i) => [i + 1, `JWT token structure invalid: claim ${i}`]),
      ),
    ).map((c) => ({ ...c, classname: `app.${suite}` })),
    suite,
  );

function multipartOf(files: { name: string; xml: string }[]) {
  const boundary = '----lifecycle';
  const body = multipart(
    boundary,
    files.map((f) => ({ filename: f.name, type: 'application/xml', body: f.xml })),
  );
  return { body, type: `multipart/form-data; boundary=${boundary}` };
}

const upload = (query: string, xml: string, headers: Record<string, string> = {}) =>
  t.app.inject({
    method: 'POST',
    url: `${base}/runs?${query}`,
    headers: { ...ci.auth, 'content-type': 'application/xml', ...headers },
    payload: xml,
  });

async function changesOf(issue: number) {
  const { rows } = await sql<{
    gate_key: string;
    from_state: string | null;
    to_state: string;
    run_id: string | null;
  }>`
    SELECT c.gate_key, c.from_state, c.to_state, c.run_id FROM gate_state_changes c
    JOIN tracked_issues i ON i.org_id = c.org_id AND i.id = c.issue_id
    WHERE i.org_id = ${owner.orgId} AND i.number = ${issue} ORDER BY c.id`.execute(t.database.db);
  return rows;
}

const stateOf = (report: { gates: { key: string; state: string }[] }, key: string) =>
  report.gates.find((g) => g.key === key)?.state;

const gatesOf = async (issue: number) => {
  const res = await t.app.inject({
    method: 'GET',
    url: `${base}/issues/${issue}/gates`,
    headers: ci.auth,
  });
  expect(res.statusCode).toBe(200);
  return res.json();
};

describe('a run is judged once, when it is complete', () => {
  it('judges a two-file upload once: one transition per gate that changed', async () => {
    const issue = await newIssue();
    const before = await changesOf(issue);
    const { body, type } = multipartOf([
      { name: 'pass.xml', xml: passing(60, 'Pass') },
      { name: 'fail.xml', xml: jwtFailures(15, 'Fail') },
    ]);
    const res = await t.app.inject({
      method: 'POST',
      url: `${base}/runs?issue=${issue}&build=two-files`,
      headers: { ...ci.auth, 'content-type': type },
      payload: body,
    });
    expect(res.statusCode).toBe(201);
    const run = res.json();
    expect(run).toMatchObject({ status: 'complete', files: 2, uploadsReceived: 1, shards: null });
    expect(run.totals.tests).toBe(75);
    const changes = (await changesOf(issue)).slice(before.length);
    const infra = changes.filter((c) => c.gate_key === 'infrastructure');
    expect(infra).toHaveLength(1);
    expect(infra[0]).toMatchObject({ to_state: 'blocked', run_id: run.id });
    // Never a state of half the run: no gate went to passed on the way.
    expect(changes.every((c) => c.to_state !== 'passed' || c.gate_key === 'security')).toBe(true);
    expect(new Set(changes.map((c) => c.gate_key)).size).toBe(changes.length);
  });

  it('keeps a sharded run open without gates and judges it once after the last of three parallel shards', async () => {
    const issue = await newIssue();
    const judgedBefore = (await gatesOf(issue)).evaluatedAt;
    t.clock.advance(1000);
    const before = await changesOf(issue);
    const shards = await Promise.all(
      [passing(30, 'S1'), passing(30, 'S2'), jwtFailures(5, 'S3')].map((xml) =>
        upload(`issue=${issue}&build=sharded-1&shards=3`, xml),
      ),
    );
    expect(shards.map((s) => s.statusCode)).toEqual([201, 201, 201]);
    const answers = shards
      .map((s) => s.json())
      .sort((a, b) => a.uploadsReceived - b.uploadsReceived);
    expect(new Set(answers.map((a) => a.id)).size).toBe(1);
    expect(answers.map((a) => [a.status, a.uploadsReceived, a.shards])).toEqual([
      ['open', 1, 3],
      ['open', 2, 3],
      ['complete', 3, 3],
    ]);
    expect(answers[0].gates).toBeUndefined();
    expect(answers[1].gates).toBeUndefined();
    expect(stateOf(answers[2].gates, 'infrastructure')).toBe('blocked');
    expect(answers[2].totals.tests).toBe(65);
    const changes = (await changesOf(issue)).slice(before.length);
    expect(changes.filter((c) => c.gate_key === 'infrastructure')).toHaveLength(1);
    expect(changes.every((c) => c.run_id === answers[2].id)).toBe(true);
    const gates = await gatesOf(issue);
    expect(gates.openRun).toBeNull();
    expect(gates.evaluatedAt).not.toBe(judgedBefore);
  });

  it('says a run is still receiving results and keeps the last judged state meanwhile', async () => {
    const issue = await newIssue();
    expect((await upload(`issue=${issue}&build=judged`, passing(60, 'J'))).statusCode).toBe(201);
    const judged = await gatesOf(issue);
    const first = await upload(`issue=${issue}&build=still-open&shards=2`, jwtFailures(3, 'O'));
    expect(first.json()).toMatchObject({ status: 'open', uploadsReceived: 1, shards: 2 });
    const during = await gatesOf(issue);
    expect(during.openRun).toEqual({ runId: first.json().id, uploads: 1, shards: 2 });
    expect(during.gates).toEqual(judged.gates);
    expect(during.overall).toBe(judged.overall);
    expect(during.runId).toBe(judged.runId);
  });

  it('refuses an upload after the last shard with a 409 naming the run, but replays a retried shard', async () => {
    const issue = await newIssue();
    const a = await upload(`issue=${issue}&build=full&shards=2`, passing(2, 'A'), {
      'idempotency-key': 'full-a',
    });
    const b = await upload(`issue=${issue}&build=full&shards=2`, passing(2, 'B'), {
      'idempotency-key': 'full-b',
    });
    expect(b.json()).toMatchObject({ status: 'complete', uploadsReceived: 2 });
    const late = await upload(`issue=${issue}&build=full&shards=2`, passing(2, 'C'));
    expect(late.statusCode).toBe(409);
    expect(late.headers['content-type']).toContain('application/problem+json');
    expect(late.json().detail).toContain(a.json().id);
    // A shard's retry with its Idempotency-Key is answered as a replay first.
    const retry = await upload(`issue=${issue}&build=full&shards=2`, passing(2, 'B'), {
      'idempotency-key': 'full-b',
    });
    expect(retry.statusCode).toBe(201);
    expect(retry.json().id).toBe(a.json().id);
    const run = await t.app.inject({
      method: 'GET',
      url: `${base}/runs/${a.json().id}`,
      headers: ci.auth,
    });
    expect(run.json()).toMatchObject({ files: 2, uploadsReceived: 2, status: 'complete' });
    // A different shard count for the same run is refused too.
    await upload(`build=mismatch&shards=3`, passing(1, 'M'));
    const mismatch = await upload(`build=mismatch&shards=4`, passing(1, 'M'));
    expect(mismatch.statusCode).toBe(409);
    expect(mismatch.json().detail).toContain('expects 3 shards');
  });

  it('joins uploads by build without shards and judges the run again on each', async () => {
    const issue = await newIssue();
    const first = await upload(`issue=${issue}&build=matrix`, passing(60, 'M1'));
    expect(first.json()).toMatchObject({ status: 'complete', shards: null });
    expect(
      first.json().gates.gates.find((g: { key: string }) => g.key === 'infrastructure').state,
    ).toBe('passed');
    const second = await upload(`issue=${issue}&build=matrix`, jwtFailures(2, 'M2'));
    expect(second.json()).toMatchObject({
      id: first.json().id,
      status: 'complete',
      files: 2,
      uploadsReceived: 2,
    });
    expect(
      second.json().gates.gates.find((g: { key: string }) => g.key === 'infrastructure').state,
    ).toBe('blocked');
  });

  it('closes an open run on request and judges it; a complete run is answered unchanged', async () => {
    const issue = await newIssue();
    const open = await upload(`issue=${issue}&build=manual&shards=5`, jwtFailures(1, 'X'));
    const id = open.json().id;
    const viewer = await memberOf(t.app, owner, 'lc', 'viewer');
    const refused = await t.app.inject({
      method: 'POST',
      url: `${base}/runs/${id}/complete`,
      headers: viewer.auth,
    });
    expect(refused.statusCode).toBe(403);
    const other = await ownerOfNewOrg(t.app, 'lc-other');
    const hidden = await t.app.inject({
      method: 'POST',
      url: `/api/v1/orgs/lc-other/projects/app/runs/${id}/complete`,
      headers: other.auth,
    });
    expect(hidden.statusCode).toBe(404);
    const foreign = await t.app.inject({
      method: 'POST',
      url: `${base}/runs/${id}/complete`,
      headers: other.auth,
    });
    expect(foreign.statusCode).toBe(404);
    const done = await t.app.inject({
      method: 'POST',
      url: `${base}/runs/${id}/complete`,
      headers: ci.auth,
    });
    expect(done.statusCode).toBe(200);
    expect(done.json()).toMatchObject({ status: 'complete', uploadsReceived: 1, shards: 5 });
    expect(stateOf(done.json().gates, 'infrastructure')).toBe('blocked');
    const again = await t.app.inject({
      method: 'POST',
      url: `${base}/runs/${id}/complete`,
      headers: ci.auth,
    });
    expect(again.statusCode).toBe(200);
    expect(again.json().completedAt).toBe(done.json().completedAt);
    const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM audit_events
      WHERE org_id = ${owner.orgId} AND action = 'run.completed' AND target_id = ${id}`.execute(
      t.database.db,
    );
    expect(rows[0]!.n).toBe(1);
  });
});

describe('the quiet window', () => {
  let worker: Worker;
  beforeAll(async () => {
    worker = await startWorker(workerDeps(t));
  });
  afterAll(() => worker.stop());

  it('closes an open run once it has had no upload for the quiet window, moved by the clock', async () => {
    const issue = await newIssue();
    const open = await upload(`issue=${issue}&build=quiet&shards=3`, jwtFailures(2, 'Q'));
    const id = open.json().id;
    const ids = async () =>
      (await sweep({ db: t.database.db, clock: t.clock })).map((i) => i.refId);
    expect(await ids()).not.toContain(id);
    t.clock.advance((QUIET - 10) * 1000);
    await upload(`issue=${issue}&build=quiet&shards=3`, passing(2, 'Q2'));
    t.clock.advance(20 * 1000);
    // Quiet since the first upload, but not since the second.
    expect(await ids()).not.toContain(id);
    t.clock.advance(QUIET * 1000);
    expect(await ids()).toContain(id);
    const closed = await waitFor(async () => {
      const run = await t.app.inject({
        method: 'GET',
        url: `${base}/runs/${id}`,
        headers: ci.auth,
      });
      return run.json().status === 'complete' ? run.json() : undefined;
    });
    expect(closed).toMatchObject({ uploadsReceived: 2, shards: 3 });
    expect((await gatesOf(issue)).runId).toBe(id);
    const { rows } = await sql<{ actor_type: string; data: { by: string; reason: string } }>`
      SELECT actor_type, data FROM audit_events WHERE org_id = ${owner.orgId}
      AND action = 'run.completed' AND target_id = ${id}`.execute(t.database.db);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ actor_type: 'system', data: { by: 'quiet' } });
    expect(rows[0]!.data.reason).toContain('GATEHOUSE_RUN_QUIET_SECONDS');
    // The third shard arrives too late.
    expect((await upload(`issue=${issue}&build=quiet&shards=3`, passing(1, 'Q3'))).statusCode).toBe(
      409,
    );
  });
});
