import { sql } from 'kysely';
import pino from 'pino';
import { uuidv7 } from 'uuidv7';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withOrgAsSystem } from '../../src/db/system.ts';
import { JOB_SCHEMA } from '../../src/jobs/queue.ts';
import { syncIssueComment } from '../../src/jobs/github-sync.ts';
import { startWorker, type Worker } from '../../src/jobs/worker.ts';
import { enqueueCommitStatus } from '../../src/modules/github/github.hooks.ts';
import { signWebhook } from '../../src/modules/github/signature.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { memberOf, ownerOfNewOrg, type Session } from '../helpers/actors.ts';
import {
  BAD_TOKEN,
  SECONDARY_RATE_LIMIT,
  startFakeGithub,
  type FakeGithub,
} from '../helpers/fake-github.ts';
import { junitXml } from '../helpers/junit-gen.ts';
import { SEED_QUALITY_CONFIG } from '../helpers/seed.ts';
import { waitFor } from '../helpers/wait.ts';
import { workerDeps } from '../helpers/worker-deps.ts';

let t: TestApp;
let gh: FakeGithub;
let worker: Worker;
let owner: Session & { orgId: string };
let other: Session & { orgId: string };
const ORG = 'gh-acme';
const OTHER = 'gh-rival';
const SECRET = 'webhook-secret-of-acme';

beforeAll(async () => {
  t = await startTestApp({
    GATEHOUSE_JOB_POLL_SECONDS: '1',
    GATEHOUSE_JOB_RETRY_DELAY_SECONDS: '1',
    GATEHOUSE_JOB_RETRY_LIMIT: '2',
    GATEHOUSE_OUTBOUND_ALLOW_PRIVATE: '1',
  });
  gh = await startFakeGithub();
  owner = await ownerOfNewOrg(t.app, ORG);
  other = await ownerOfNewOrg(t.app, OTHER);
  worker = await startWorker(workerDeps(t));
});
afterAll(async () => {
  // Phase changes from webhooks queue syncs of their own: let them finish before the pool ends.
  await settled();
  await worker?.stop();
  await gh?.close();
  await t?.close();
});

const base = (org: string, project: string) => `/api/v1/orgs/${org}/projects/${project}`;

async function call(
  method: 'GET' | 'PUT' | 'POST' | 'PATCH' | 'DELETE',
  url: string,
  auth: { authorization: string },
  payload?: unknown,
) {
  return t.app.inject({
    method,
    url,
    headers: auth,
    ...(payload === undefined ? {} : { payload: payload as object }),
  });
}

/** A project with the seed's gates, linked to `acme/<key>` on the fake, and issue #2. */
async function linkedProject(
  key: string,
  opts: { session?: Session; org?: string; token?: string; secret?: string; repo?: string } = {},
) {
  const session = opts.session ?? owner;
  const org = opts.org ?? ORG;
  const repo = opts.repo ?? `acme/${key}`;
  expect(
    (await call('POST', `/api/v1/orgs/${org}/projects`, session.auth, { key, name: key }))
      .statusCode,
  ).toBe(201);
  expect(
    (await call('PUT', `${base(org, key)}/quality-config`, session.auth, SEED_QUALITY_CONFIG))
      .statusCode,
  ).toBe(200);
  const link = await call('PUT', `${base(org, key)}/github`, session.auth, {
    repo,
    token: opts.token ?? `tok-${key}`,
    apiUrl: gh.url,
    webhookSecret: opts.secret ?? SECRET,
  });
  expect(link.statusCode, link.body).toBe(200);
  const issue = await call('POST', `${base(org, key)}/issues`, session.auth, {
    number: 2,
    title: 'Client Organization Management',
    phase: 'qa',
  });
  expect(issue.statusCode, issue.body).toBe(201);
  return { key, repo, org, url: base(org, key) };
}

async function upload(
  project: { url: string },
  query: string,
  xml: string,
  session: Session = owner,
): Promise<string> {
  const res = await t.app.inject({
    method: 'POST',
    url: `${project.url}/runs?${query}`,
    headers: { ...session.auth, 'content-type': 'application/xml' },
    payload: xml,
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json<{ id: string }>().id;
}

/** Waits until no GitHub job is waiting or running (the worker has done what was asked). */
async function settled(): Promise<void> {
  await waitFor(async () => {
    const { rows } = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM ${sql.table(`${JOB_SCHEMA}.job`)}
      WHERE name IN ('github-sync', 'github-status') AND state::text IN ('created', 'retry', 'active')`.execute(
      t.database.db,
    );
    return rows[0]!.n === 0 ? true : undefined;
  }, 30_000);
}

async function sync(project: { url: string }, session: Session = owner) {
  const res = await call('POST', `${project.url}/issues/2/github-sync`, session.auth);
  expect(res.statusCode, res.body).toBe(202);
  await settled();
}

async function storedComment(orgId: string, project: string) {
  return withOrgAsSystem(t.database.db, orgId, { reason: 'test' }, async (trx) => {
    const { rows } = await sql<{ comment_id: string; content_hash: string; url: string | null }>`
      SELECT c.comment_id, c.content_hash, c.url FROM github_comments c
      JOIN tracked_issues i ON i.org_id = c.org_id AND i.id = c.issue_id
      JOIN projects p ON p.org_id = i.org_id AND p.id = i.project_id
      WHERE p.key = ${project} AND i.number = 2`.execute(trx);
    return rows[0];
  });
}

async function communications(orgId: string, channel: string) {
  return withOrgAsSystem(t.database.db, orgId, { reason: 'test' }, (trx) =>
    trx
      .selectFrom('communications')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('channel', '=', channel)
      .orderBy('id')
      .execute(),
  );
}

/** Deletes the issue's stored comment id (as if the sync that made it crashed before
 *  storing it); answers the issue's id. */
async function forgetStoredComment(orgId: string, project: string): Promise<string> {
  return withOrgAsSystem(t.database.db, orgId, { reason: 'test' }, async (trx) => {
    const { rows } = await sql<{ id: string }>`
      SELECT i.id FROM tracked_issues i JOIN projects p ON p.org_id = i.org_id AND p.id = i.project_id
      WHERE p.key = ${project} AND i.number = 2`.execute(trx);
    await sql`DELETE FROM github_comments WHERE org_id = ${orgId} AND issue_id = ${rows[0]!.id}`.execute(
      trx,
    );
    return rows[0]!.id;
  });
}

/** The requests that created comments on the repository's issue #2. */
function commentPosts(repo: string) {
  return gh
    .requestsFor(repo)
    .filter((r) => r.method === 'POST' && r.path === `/repos/${repo}/issues/2/comments`);
}

async function phaseOf(project: { url: string }, session: Session = owner) {
  const res = await call('GET', `${project.url}/issues/2`, session.auth);
  return res.json<{ phase: string }>().phase;
}

describe('linking a project to GitHub', () => {
  it('stores the token encrypted, never shows it, and unlinks', async () => {
    const p = await linkedProject('link-basics', { token: 'ghp_plaintext_token_1234' });
    const got = await call('GET', `${p.url}/github`, owner.auth);
    expect(got.statusCode).toBe(200);
    expect(got.json()).toMatchObject({
      repo: 'acme/link-basics',
      apiUrl: gh.url,
      hasWebhookSecret: true,
      webhookUrl: 'http://gatehouse.test/api/v1/github/webhook',
    });
    expect(got.body).not.toContain('ghp_plaintext_token_1234');
    expect(got.body).not.toContain(SECRET);
    const row = await withOrgAsSystem(t.database.db, owner.orgId, { reason: 'test' }, (trx) =>
      trx.selectFrom('github_links').selectAll().where('org_id', '=', owner.orgId).execute(),
    );
    const mine = row.find((r) => r.repo === 'acme/link-basics')!;
    expect(mine.token).not.toContain('ghp_plaintext_token_1234');
    expect(t.box.open(mine.token)).toBe('ghp_plaintext_token_1234');
    expect(t.box.open(mine.webhook_secret!)).toBe(SECRET);
    expect((await call('GET', p.url, owner.auth)).json()).toMatchObject({
      githubRepo: 'acme/link-basics',
    });

    expect((await call('DELETE', `${p.url}/github`, owner.auth)).statusCode).toBe(204);
    expect((await call('GET', `${p.url}/github`, owner.auth)).statusCode).toBe(404);
    expect((await call('DELETE', `${p.url}/github`, owner.auth)).statusCode).toBe(404);
  });

  it('refuses a bad repository, a missing token, a non-http apiUrl and one with credentials, naming the field', async () => {
    await call('POST', `/api/v1/orgs/${ORG}/projects`, owner.auth, { key: 'link-bad', name: 'x' });
    const url = `${base(ORG, 'link-bad')}/github`;
    const cases: [unknown, string][] = [
      [{ repo: 'not a repo', token: 't' }, 'repo'],
      [{ repo: 'acme/x' }, 'token'],
      [{ repo: 'acme/x', token: 't', apiUrl: 'ftp://github.example' }, 'apiUrl'],
      [{ repo: 'acme/x', token: 't', apiUrl: 'https://u:p@github.example/api/v3' }, 'apiUrl'],
      [{ repo: 'acme/x', token: 't', webhookSecret: 'short' }, 'webhookSecret'],
      [{ repo: 'acme/x', token: 'x'.repeat(1001) }, 'token'],
    ];
    for (const [payload, field] of cases) {
      const res = await call('PUT', url, owner.auth, payload);
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.body).toContain(field);
    }
  });

  it("hides another org's project behind a 404 for every GitHub route", async () => {
    const p = await linkedProject('link-xt');
    for (const [method, url, payload] of [
      ['PUT', `${p.url}/github`, { repo: 'evil/x', token: 't' }],
      ['GET', `${p.url}/github`, undefined],
      ['DELETE', `${p.url}/github`, undefined],
      ['POST', `${p.url}/issues/2/github-sync`, undefined],
    ] as const) {
      expect((await call(method, url, other.auth, payload)).statusCode).toBe(404);
      const foreign = url.replace(`/orgs/${ORG}/`, `/orgs/${OTHER}/`);
      expect((await call(method, foreign, owner.auth, payload)).statusCode).toBe(404);
    }
    expect((await call('GET', `${p.url}/github`, owner.auth)).json().repo).toBe('acme/link-xt');
  });

  it('lets only projects:write link and unlink, and issues:write ask for a sync', async () => {
    const p = await linkedProject('link-roles');
    const viewer = await memberOf(t.app, owner, ORG, 'viewer');
    const developer = await memberOf(t.app, owner, ORG, 'developer');
    const body = { repo: 'acme/link-roles', token: 'x' };
    expect((await call('PUT', `${p.url}/github`, developer.auth, body)).statusCode).toBe(403);
    expect((await call('DELETE', `${p.url}/github`, developer.auth)).statusCode).toBe(403);
    expect((await call('GET', `${p.url}/github`, viewer.auth)).statusCode).toBe(200);
    expect((await call('POST', `${p.url}/issues/2/github-sync`, viewer.auth)).statusCode).toBe(403);
    expect((await call('GET', `${p.url}/github`, owner.auth)).statusCode).toBe(200);
  });

  it('answers 409 to a sync of an issue whose project is not linked, and 404 for an untracked issue', async () => {
    await call('POST', `/api/v1/orgs/${ORG}/projects`, owner.auth, { key: 'unlinked', name: 'x' });
    await call('POST', `${base(ORG, 'unlinked')}/issues`, owner.auth, { number: 2, title: 'x' });
    const res = await call('POST', `${base(ORG, 'unlinked')}/issues/2/github-sync`, owner.auth);
    expect(res.statusCode).toBe(409);
    const p = await linkedProject('untracked');
    expect((await call('POST', `${p.url}/issues/9/github-sync`, owner.auth)).statusCode).toBe(404);
  });
});

describe('the status comment on the GitHub issue', () => {
  it('creates one comment, records it, then edits that same comment', async () => {
    const p = await linkedProject('comment-flow');
    await upload(p, 'issue=2&commit=c0ffee01&build=b1', junitXml(60, { failEvery: 5 }));
    const sent = await call('POST', `${p.url}/issues/2/github-sync`, owner.auth);
    expect(sent.statusCode).toBe(202);
    expect(sent.json()).toMatchObject({ queued: true });
    await settled();

    const [comment, ...more] = gh.commentsOn(p.repo, 2);
    expect(more).toEqual([]);
    expect(comment!.body.split('\n')[0]).toBe(`<!-- gatehouse:${ORG}/comment-flow#2 -->`);
    expect(comment!.body).toContain('**Pass rate:** 80% (48 of 60 passed)');
    expect(comment!.body).toMatch(/[✅🔴⏳] \*\*Infrastructure Stability Gate\*\*/u);
    expect(comment!.body).toContain(
      `http://gatehouse.test/api/v1/orgs/${ORG}/projects/comment-flow/issues/2/report.md`,
    );
    const stored = await storedComment(owner.orgId, 'comment-flow');
    expect(stored?.comment_id).toBe(String(comment!.id));
    const told = (await communications(owner.orgId, 'github_comment')).filter(
      (c) => c.external_id === String(comment!.id),
    );
    expect(told).toHaveLength(1);
    expect(told[0]).toMatchObject({
      summary: `Comment #${comment!.id} added`,
      recorded_by: 'system',
    });
    const posts = commentPosts(p.repo);
    expect(posts).toHaveLength(1);
    expect(posts[0]!.headers.authorization).toBe('token tok-comment-flow');

    // Better results: the same comment is edited, no second one appears.
    await upload(p, 'issue=2&commit=c0ffee02&build=b2', junitXml(60, { failEvery: 100 }));
    await sync(p);
    expect(gh.commentsOn(p.repo, 2)).toHaveLength(1);
    expect(gh.comments.get(comment!.id)!.body).toContain('**Pass rate:** 100% (60 of 60 passed)');
    const patches = gh.requestsFor(p.repo).filter((r) => r.method === 'PATCH');
    expect(patches.length).toBeGreaterThanOrEqual(1);
    expect(patches.every((r) => r.path.endsWith(`/issues/comments/${comment!.id}`))).toBe(true);
    expect((await storedComment(owner.orgId, 'comment-flow'))?.content_hash).not.toBe(
      stored?.content_hash,
    );
    expect(
      (await communications(owner.orgId, 'github_comment')).filter(
        (c) => c.external_id === String(comment!.id),
      ),
    ).toHaveLength(1);
  });

  it('does not send a comment whose content has not changed', async () => {
    const p = await linkedProject('comment-same');
    await sync(p);
    const before = gh.requestsFor(p.repo).length;
    expect(before).toBeGreaterThan(0);
    await sync(p);
    await sync(p);
    expect(gh.requestsFor(p.repo)).toHaveLength(before);
    const { rows } = await sql<{ output: { outcome: string } }>`
      SELECT output FROM ${sql.table(`${JOB_SCHEMA}.job`)}
      WHERE name = 'github-sync' AND state = 'completed' ORDER BY completed_on DESC LIMIT 1`.execute(
      t.database.db,
    );
    expect(rows[0]!.output.outcome).toBe('unchanged');
  });

  it('finds its comment again by the hidden marker when the stored id is lost', async () => {
    const p = await linkedProject('comment-lost');
    await sync(p);
    const [first] = gh.commentsOn(p.repo, 2);
    // The comment now lives under another id (as after an import): the stored id is a 404.
    gh.comments.delete(first!.id);
    gh.addComment(p.repo, 2, 'an unrelated comment by a person');
    const moved = gh.addComment(p.repo, 2, first!.body);
    await call('PATCH', `${p.url}/issues/2`, owner.auth, { title: 'Renamed issue' });
    await sync(p);
    expect(gh.commentsOn(p.repo, 2).map((c) => c.id)).toEqual([moved.id - 1, moved.id]);
    expect(gh.comments.get(moved.id)!.body).toContain('Renamed issue');
    expect((await storedComment(owner.orgId, 'comment-lost'))?.comment_id).toBe(String(moved.id));
    const lastRequests = gh.requestsFor(p.repo).slice(-3);
    expect(lastRequests.map((r) => `${r.method} ${r.status}`)).toEqual([
      'PATCH 404',
      'GET 200',
      'PATCH 200',
    ]);
  });

  it('creates the comment anew when it was deleted, and records the new one', async () => {
    const p = await linkedProject('comment-gone');
    await sync(p);
    const [first] = gh.commentsOn(p.repo, 2);
    gh.comments.delete(first!.id);
    await call('PATCH', `${p.url}/issues/2`, owner.auth, { title: 'Still tracked' });
    await sync(p);
    const [second, ...none] = gh.commentsOn(p.repo, 2);
    expect(none).toEqual([]);
    expect(second!.id).not.toBe(first!.id);
    expect(second!.body).toContain('Still tracked');
    const ids = (await communications(owner.orgId, 'github_comment')).map((c) => c.external_id);
    expect(ids).toEqual(expect.arrayContaining([String(first!.id), String(second!.id)]));
  });

  it('adopts its own comment left by a sync that crashed before storing it, instead of posting a second', async () => {
    const p = await linkedProject('comment-crash');
    await sync(p);
    const [comment] = gh.commentsOn(p.repo, 2);
    await forgetStoredComment(owner.orgId, 'comment-crash');
    await call('PATCH', `${p.url}/issues/2`, owner.auth, { title: 'After the crash' });
    await sync(p);
    expect(gh.commentsOn(p.repo, 2).map((c) => c.id)).toEqual([comment!.id]);
    expect(gh.comments.get(comment!.id)!.body).toContain('After the crash');
    expect(commentPosts(p.repo)).toHaveLength(1);
    expect((await storedComment(owner.orgId, 'comment-crash'))?.comment_id).toBe(
      String(comment!.id),
    );
  });

  it('keeps one comment when two syncs of a new issue race: the later one deletes its duplicate', async () => {
    const p = await linkedProject('comment-race');
    await settled();
    for (const c of gh.commentsOn(p.repo, 2)) gh.comments.delete(c.id);
    const issueId = await forgetStoredComment(owner.orgId, 'comment-race');
    const deps = {
      db: t.database.db,
      box: t.box,
      clock: t.clock,
      logger: pino({ level: 'silent' }),
      config: t.config,
    };
    const job = (id: string) => ({ id, data: { orgId: owner.orgId, issueId } });
    const outcomes = await Promise.all([
      syncIssueComment(deps, job(uuidv7())),
      syncIssueComment(deps, job(uuidv7())),
    ]);
    expect(outcomes.map((o) => o.outcome).sort()).toEqual(['created', 'superseded']);
    const [kept, ...others] = gh.commentsOn(p.repo, 2);
    expect(others).toEqual([]);
    expect((await storedComment(owner.orgId, 'comment-race'))?.comment_id).toBe(String(kept!.id));
    expect(gh.requestsFor(p.repo).some((r) => r.method === 'DELETE' && r.status === 204)).toBe(
      true,
    );
  });

  it('keeps a comment with very long lists within GitHub’s limit, pointing at the full report', async () => {
    const p = await linkedProject('comment-big');
    for (let i = 0; i < 25; i++) {
      const res = await call('POST', `${p.url}/issues/2/escalations`, owner.auth, {
        role: 'architect',
        reason: `Reason ${i}: ${'JWT role scoping and pooled connections '.repeat(45)}`,
        request: 'Please analyse',
        questions: [],
      });
      expect(res.statusCode, res.body).toBe(201);
    }
    await sync(p);
    const [comment] = gh.commentsOn(p.repo, 2);
    expect(comment!.body.length).toBeLessThanOrEqual(65_536);
    expect(comment!.body).toContain('#### Open escalations (25)');
    expect(comment!.body).toMatch(/… and \d+ more escalations in the \[full report\]/);
    expect(comment!.body).toContain('/issues/2/report.md');
  });

  it('waits as Retry-After asks on a secondary rate limit, then succeeds', async () => {
    const p = await linkedProject('comment-ratelimit');
    gh.failNext('POST', /^\/repos\/acme\/comment-ratelimit\/issues\/2\/comments$/, {
      status: 403,
      retryAfter: 1,
      message: SECONDARY_RATE_LIMIT,
    });
    await sync(p);
    const posts = commentPosts(p.repo);
    expect(posts.map((r) => r.status)).toEqual([403, 201]);
    expect(posts[1]!.at - posts[0]!.at).toBeGreaterThanOrEqual(950);
    expect(gh.commentsOn(p.repo, 2)).toHaveLength(1);
  });

  it('retries a 5xx answer with backoff, then succeeds', async () => {
    const p = await linkedProject('comment-5xx');
    gh.failNext('POST', /^\/repos\/acme\/comment-5xx\/issues\/2\/comments$/, { status: 502 });
    await sync(p);
    const posts = commentPosts(p.repo);
    expect(posts.map((r) => r.status)).toEqual([502, 201]);
    expect(posts[1]!.at - posts[0]!.at).toBeGreaterThanOrEqual(950);
    expect(gh.commentsOn(p.repo, 2)).toHaveLength(1);
    expect(await storedComment(owner.orgId, 'comment-5xx')).toBeDefined();
  });

  it('gives up on a refused token without retrying, and says so in the audit log', async () => {
    const p = await linkedProject('comment-badtoken', { token: BAD_TOKEN });
    await sync(p);
    // One request per sync job (creating the issue asked for one too), none retried.
    const { rows } = await sql<{ output: { outcome: string } }>`
      SELECT output FROM ${sql.table(`${JOB_SCHEMA}.job`)}
      WHERE name = 'github-sync' AND data->>'orgId' = ${owner.orgId}
        AND completed_on > now() - interval '1 minute' AND output->>'outcome' = 'refused'`.execute(
      t.database.db,
    );
    const sent = gh.requestsFor(p.repo);
    expect(sent.length).toBeGreaterThanOrEqual(1);
    expect(sent.map((r) => r.status)).toEqual(sent.map(() => 401));
    expect(rows.length).toBe(sent.length);
    expect(await storedComment(owner.orgId, 'comment-badtoken')).toBeUndefined();
    const audit = await call('GET', `/api/v1/orgs/${ORG}/audit-events?limit=100`, owner.auth);
    expect(audit.body).toContain('github.call_refused');
  });
});

describe('the commit status of a completed run', () => {
  async function statusFor(orgId: string, runId: string) {
    await withOrgAsSystem(t.database.db, orgId, { reason: 'test' }, (trx) =>
      enqueueCommitStatus(trx, orgId, runId),
    );
    await settled();
  }

  it("sets the issue's gate state on the run's commit, with the blocking reasons and the report link", async () => {
    const p = await linkedProject('status-issue');
    const sha = 'abcdef0123456789abcdef0123456789abcdef01';
    const runId = await upload(p, `issue=2&commit=${sha}&build=s1`, junitXml(60, { failEvery: 5 }));
    await statusFor(owner.orgId, runId);
    const mine = gh.statuses.filter((s) => s.sha === sha);
    expect(mine.length).toBeGreaterThanOrEqual(1);
    const last = mine[mine.length - 1]!;
    expect(last).toMatchObject({
      repo: 'acme/status-issue',
      context: 'Gatehouse / status-issue',
      target_url: `http://gatehouse.test/api/v1/orgs/${ORG}/projects/status-issue/issues/2/report.md`,
    });
    const gates = (await call('GET', `${p.url}/issues/2/gates`, owner.auth)).json<{
      overall: string;
    }>();
    const expected = { passed: 'success', blocked: 'failure', pending: 'pending' }[
      gates.overall as 'passed'
    ];
    expect(last.state).toBe(expected);
    expect(Array.from(last.description).length).toBeLessThanOrEqual(140);
    if (gates.overall === 'blocked') expect(last.description).toMatch(/^Blocked: /);
    const told = (await communications(owner.orgId, 'github_status')).filter(
      (c) => c.ref_id === runId,
    );
    expect(told.length).toBeGreaterThanOrEqual(1);
    expect(told[0]!.summary).toContain(`Commit status ${last.state}`);
  });

  it('judges a run without an issue by its failures, linking to the run', async () => {
    const p = await linkedProject('status-run');
    const red = await upload(p, 'commit=deadbeef01&build=r1', junitXml(20, { failEvery: 4 }));
    const green = await upload(p, 'commit=deadbeef02&build=r2', junitXml(20, { failEvery: 100 }));
    await statusFor(owner.orgId, red);
    await statusFor(owner.orgId, green);
    const byShaState = (sha: string) => gh.statuses.filter((s) => s.sha === sha).at(-1);
    expect(byShaState('deadbeef01')).toMatchObject({
      state: 'failure',
      description: '5 of 20 tests failed',
      target_url: `http://gatehouse.test/api/v1/orgs/${ORG}/projects/status-run/runs/${red}`,
    });
    expect(byShaState('deadbeef02')).toMatchObject({
      state: 'success',
      description: '20 of 20 tests passed',
    });
  });

  it('obeys Retry-After on a rate-limited status, then sets it', async () => {
    const p = await linkedProject('status-ratelimit');
    const runId = await upload(p, 'commit=feedface01&build=q1', junitXml(5, { failEvery: 100 }));
    gh.failNext('POST', /^\/repos\/acme\/status-ratelimit\/statuses\//, {
      status: 403,
      retryAfter: 1,
      message: SECONDARY_RATE_LIMIT,
    });
    await statusFor(owner.orgId, runId);
    const posts = gh.requestsFor(p.repo).filter((r) => r.path.includes('/statuses/'));
    expect(posts.slice(0, 2).map((r) => r.status)).toEqual([403, 201]);
    expect(posts[1]!.at - posts[0]!.at).toBeGreaterThanOrEqual(950);
  });

  it('enqueues nothing for a run without a commit or in an unlinked project', async () => {
    const p = await linkedProject('status-nocommit');
    const runId = await upload(p, 'build=n1', junitXml(5));
    const enqueued = await withOrgAsSystem(t.database.db, owner.orgId, { reason: 'test' }, (trx) =>
      enqueueCommitStatus(trx, owner.orgId, runId),
    );
    expect(enqueued).toBe(false);
  });
});

describe('GitHub webhooks', () => {
  const hook = (
    payload: unknown,
    opts: { secret?: string | null; event?: string; raw?: string } = {},
  ) => {
    const body = opts.raw ?? JSON.stringify(payload);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'x-github-event': opts.event ?? 'issues',
      'x-github-delivery': '72d3162e-cc78-11e3-81ab-4c9367dc0958',
    };
    if (opts.secret !== null)
      headers['x-hub-signature-256'] = signWebhook(opts.secret ?? SECRET, body);
    return t.app.inject({ method: 'POST', url: '/api/v1/github/webhook', headers, payload: body });
  };
  const event = (repo: string, action: string) => ({
    action,
    issue: { number: 2, title: 'x' },
    repository: { full_name: repo },
    sender: { login: 'octocat' },
  });

  it('accepts a delivery signed with the linked secret and refuses a missing or wrong signature', async () => {
    const p = await linkedProject('hook-sig');
    const good = await hook(event(p.repo, 'labeled'));
    expect(good.statusCode, good.body).toBe(200);
    expect(good.json()).toEqual({ matched: 1, changed: 0 });

    const missing = await hook(event(p.repo, 'closed'), { secret: null });
    expect(missing.statusCode).toBe(401);
    const wrong = await hook(event(p.repo, 'closed'), { secret: 'not-the-secret' });
    expect(wrong.statusCode).toBe(401);
    // A body changed after signing (the signature of another body).
    const signed = JSON.stringify(event(p.repo, 'labeled'));
    const tampered = await t.app.inject({
      method: 'POST',
      url: '/api/v1/github/webhook',
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'issues',
        'x-hub-signature-256': signWebhook(SECRET, signed),
      },
      payload: JSON.stringify(event(p.repo, 'closed')),
    });
    expect(tampered.statusCode).toBe(401);
    const unknownRepo = await hook(event('nobody/nothing', 'closed'));
    expect(unknownRepo.statusCode).toBe(401);
    expect(await phaseOf(p)).toBe('qa');
  });

  it('refuses a body that is not JSON or names no repository, and one over the size limit', async () => {
    expect((await hook(null, { raw: '{not json' })).statusCode).toBe(400);
    const noRepo = await hook({ action: 'closed' });
    expect(noRepo.statusCode).toBe(400);
    expect(noRepo.body).toContain('repository.full_name');
    const huge = await hook(null, { raw: JSON.stringify({ pad: 'x'.repeat(1024 * 1024) }) });
    expect(huge.statusCode).toBe(413);
  });

  it('moves the issue to done when closed on GitHub and back when reopened, recording each', async () => {
    const p = await linkedProject('hook-phase');
    const closed = await hook(event(p.repo, 'closed'));
    expect(closed.statusCode, closed.body).toBe(200);
    expect(closed.json()).toEqual({ matched: 1, changed: 1 });
    expect(await phaseOf(p)).toBe('done');
    // GitHub delivers again: nothing more changes.
    expect((await hook(event(p.repo, 'closed'))).json()).toEqual({ matched: 1, changed: 0 });

    const reopened = await hook(event(p.repo, 'reopened'));
    expect(reopened.json()).toEqual({ matched: 1, changed: 1 });
    expect(await phaseOf(p)).toBe('qa');

    const told = (await communications(owner.orgId, 'webhook')).filter((c) =>
      c.summary.startsWith('GitHub issue #2'),
    );
    expect(told.map((c) => c.summary)).toEqual(
      expect.arrayContaining([
        'GitHub issue #2 closed by @octocat: phase qa → done',
        'GitHub issue #2 reopened by @octocat: phase done → qa',
      ]),
    );
    const audit = await call('GET', `/api/v1/orgs/${ORG}/audit-events?limit=100`, owner.auth);
    expect(audit.body).toContain('GitHub issues closed by @octocat');
  });

  it('changes only the org whose secret signed it when two orgs link the same repository', async () => {
    const mine = await linkedProject('hook-shared', { repo: 'acme/shared' });
    const theirs = await linkedProject('hook-shared', {
      session: other,
      org: OTHER,
      repo: 'acme/shared',
      secret: 'the-other-orgs-secret',
    });
    const res = await hook(event('acme/shared', 'closed'), { secret: 'the-other-orgs-secret' });
    expect(res.json()).toEqual({ matched: 1, changed: 1 });
    expect(await phaseOf(theirs, other)).toBe('done');
    expect(await phaseOf(mine)).toBe('qa');
  });
});
