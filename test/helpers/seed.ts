import type { Kysely } from 'kysely';
import { uuidv7 } from 'uuidv7';
import { expect } from 'vitest';
import { withOrgAsSystem } from '../../src/db/system.ts';
import type { DB } from '../../src/db/types.ts';
import type { App } from '../../src/http/types.ts';
import { fanOutEvent } from '../../src/jobs/webhook-fanout.ts';
import type { Clock } from '../../src/lib/clock.ts';
import { saveComment } from '../../src/modules/github/github.queries.ts';
import { syncFlakySince } from '../../src/modules/tests/tests.queries.ts';
import { junitXml, multipart } from './junit-gen.ts';
import { SEED_QUALITY_CONFIG } from '../../src/seed-quality-config.ts';

export { SEED_QUALITY_CONFIG };

/** What the seed needs to run a job handler directly (a TestApp has both). */
export interface SeedDeps {
  database: { db: Kysely<DB> };
  clock: Clock;
}

/**
 * A webhook on `gate.changed`, made through the API, and, given the database, one delivery
 * of an event to it: the fan-out handler is run directly, and as no worker runs the
 * delivery job, nothing is sent. Returns the webhook's id.
 */
export async function seedWebhook(
  app: App,
  auth: Record<string, string>,
  slug: string,
  deps?: SeedDeps,
): Promise<string> {
  const hook = await app.inject({
    method: 'POST',
    url: `/api/v1/orgs/${slug}/webhooks`,
    headers: auth,
    payload: { url: 'https://hooks.example.com/gatehouse', events: ['gate.changed'] },
  });
  expect(hook.statusCode).toBe(201);
  if (deps !== undefined) {
    const org = await app.inject({ method: 'GET', url: `/api/v1/orgs/${slug}`, headers: auth });
    const fanned = await fanOutEvent(
      { db: deps.database.db, clock: deps.clock },
      {
        id: uuidv7(),
        data: {
          orgId: org.json<{ id: string }>().id,
          eventId: uuidv7(),
          type: 'gate.changed',
          occurredAt: deps.clock.now().toISOString(),
          data: { project: 'app', issue: 2, gate: { key: 'security' }, to: 'blocked' },
        },
      },
    );
    expect(fanned).toEqual({ outcome: 'fanned-out', deliveries: 1 });
  }
  return hook.json<{ id: string }>().id;
}

/**
 * Links the project to GitHub through the API. Nothing calls GitHub: no worker runs the
 * sync and status jobs this makes the seed's changes enqueue.
 */
export async function seedGithubLink(
  app: App,
  auth: Record<string, string>,
  slug: string,
  project: string,
): Promise<void> {
  const link = await app.inject({
    method: 'PUT',
    url: `/api/v1/orgs/${slug}/projects/${project}/github`,
    headers: auth,
    payload: { repo: 'acme/app', token: 'ghp_seed_token', webhookSecret: 'seed-webhook-secret' },
  });
  expect(link.statusCode).toBe(200);
}

/**
 * Issue #2's status comment as the seed report names it ("Comment #3177958335 added"),
 * stored directly through the GitHub module's query: making it through the sync job would
 * need a GitHub to call.
 */
export async function seedGithubComment(
  app: App,
  auth: Record<string, string>,
  slug: string,
  project: string,
  deps: SeedDeps,
): Promise<void> {
  const orgId = await orgIdOf(app, auth, slug);
  await withOrgAsSystem(deps.database.db, orgId, { reason: 'seed' }, async (trx) => {
    const issue = await trx
      .selectFrom('tracked_issues as i')
      .innerJoin('projects as p', (j) =>
        j.onRef('p.org_id', '=', 'i.org_id').onRef('p.id', '=', 'i.project_id'),
      )
      .select('i.id')
      .where('i.org_id', '=', orgId)
      .where('p.key', '=', project)
      .where('i.number', '=', 2)
      .executeTakeFirstOrThrow();
    await saveComment(
      trx,
      orgId,
      issue.id,
      {
        commentId: 3177958335,
        url: 'https://github.com/acme/app/issues/2#issuecomment-3177958335',
        contentHash: 'seed',
      },
      deps.clock.now(),
    );
  });
}

/** The org's id, as its members read it. */
async function orgIdOf(app: App, auth: Record<string, string>, slug: string): Promise<string> {
  const org = await app.inject({ method: 'GET', url: `/api/v1/orgs/${slug}`, headers: auth });
  return org.json<{ id: string }>().id;
}

/** The test noted as flaky over history since the clock's now, through the tests module's query. */
async function seedFlakySince(
  app: App,
  auth: Record<string, string>,
  slug: string,
  project: string,
  testId: string,
  deps: SeedDeps,
): Promise<void> {
  const orgId = await orgIdOf(app, auth, slug);
  const read = await app.inject({
    method: 'GET',
    url: `/api/v1/orgs/${slug}/projects/${project}`,
    headers: auth,
  });
  const projectId = read.json<{ id: string }>().id;
  await withOrgAsSystem(deps.database.db, orgId, { reason: 'seed' }, (trx) =>
    syncFlakySince(trx, orgId, projectId, [testId], deps.clock.now()),
  );
}

/** A project with the seed's quality config, linked to GitHub, issue #2 with a run and a
 *  review, a manual check, and an open sharded run; a webhook, with one delivery; the
 *  project's badge token, an unspent events ticket and a quarantined test; and, when `deps`
 *  is given, that test noted as flaky over history and issue #2's GitHub comment. */
export async function seedQualityData(
  app: App,
  auth: Record<string, string>,
  slug: string,
  deps?: SeedDeps,
): Promise<{
  project: string;
  issue: number;
  runId: string;
  escalationId: string;
  riskId: string;
  checkpointId: string;
}> {
  const base = `/api/v1/orgs/${slug}/projects`;
  const project = 'app';
  await seedWebhook(app, auth, slug, deps);
  expect(
    (
      await app.inject({
        method: 'POST',
        url: base,
        headers: auth,
        payload: { key: project, name: 'App' },
      })
    ).statusCode,
  ).toBe(201);
  expect(
    (
      await app.inject({
        method: 'PUT',
        url: `${base}/${project}/quality-config`,
        headers: auth,
        payload: SEED_QUALITY_CONFIG,
      })
    ).statusCode,
  ).toBe(200);
  await seedGithubLink(app, auth, slug, project);
  const run = await app.inject({
    method: 'POST',
    url: `${base}/${project}/runs?issue=2&commit=c1&branch=main&build=b1`,
    headers: { ...auth, 'content-type': 'application/xml', 'idempotency-key': 'seed' },
    payload: junitXml(10, { failEvery: 5 }),
  });
  expect(run.statusCode).toBe(201);
  // A build split over two jobs with only one uploaded so far: an open run, due to be
  // closed when it goes quiet (so every tenant table, due_work too, has a row).
  const shard = await app.inject({
    method: 'POST',
    url: `${base}/${project}/runs?commit=c1&branch=main&build=b1-sharded&shards=2`,
    headers: { ...auth, 'content-type': 'application/xml' },
    payload: junitXml(3),
  });
  expect(shard.statusCode).toBe(201);
  expect(shard.json<{ status: string }>().status).toBe('open');
  // An upload refused at its second file after its first registered new tests: their
  // registration stays pending, the tests unlisted (so test_registrations has a row too).
  const refused = await app.inject({
    method: 'POST',
    url: `${base}/${project}/runs?commit=c1&branch=main&build=b1-refused`,
    headers: { ...auth, 'content-type': 'multipart/form-data; boundary=seedrefused' },
    payload: multipart('seedrefused', [
      { filename: 'new.xml', type: 'application/xml', body: junitXml(4, { suite: 'refused' }) },
      { filename: 'broken.xml', type: 'application/xml', body: '<testsuite><testcase' },
    ]),
  });
  expect(refused.statusCode).toBe(400);
  const review = await app.inject({
    method: 'PUT',
    url: `${base}/${project}/issues/2/review`,
    headers: auth,
    payload: { verdict: 'conditional_pass', reviewer: 'Code Reviewer' },
  });
  expect(review.statusCode).toBe(200);
  const check = await app.inject({
    method: 'PATCH',
    url: `${base}/${project}/issues/2/criteria/security-kept`,
    headers: auth,
    payload: { checked: true },
  });
  expect(check.statusCode).toBe(200);
  // The seed's first pending activity: the architect's analysis, 1-2 days.
  const activity = await app.inject({
    method: 'POST',
    url: `${base}/${project}/issues/2/activities`,
    headers: auth,
    payload: {
      key: 'ta-analysis',
      title: 'Technical Architect response',
      ownerRole: 'architect',
      status: 'waiting',
      durationDays: { min: 1, max: 2 },
      deliverable: 'Comprehensive infrastructure analysis report',
    },
  });
  expect(activity.statusCode).toBe(201);
  // Unacknowledged escalations go from the architect to an admin; issue #2 is escalated to
  // the architect, whose analysis above is the response.
  const chain = await app.inject({
    method: 'PUT',
    url: `${base}/${project}/escalation-chain`,
    headers: auth,
    payload: {
      levels: [
        { role: 'architect', ackWithinHours: 24 },
        { role: 'admin', ackWithinHours: 24 },
      ],
    },
  });
  expect(chain.statusCode).toBe(200);
  const escalation = await app.inject({
    method: 'POST',
    url: `${base}/${project}/issues/2/escalations`,
    headers: auth,
    payload: {
      role: 'architect',
      reason:
        'Infrastructure failures (JWT token structure, database connectivity) block the gates',
      request: '# TA analysis request\n\n12 of 60 tests fail in two root causes.',
      questions: [
        { topic: 'Authentication architecture', text: 'JWT token structure and role scoping?' },
        { topic: 'Database architecture', text: 'Connection pooling for many tenants?' },
        { topic: 'Integration architecture', text: 'Component boundaries, tenant isolation?' },
      ],
      answerWithinHours: 48,
      activity: 'ta-analysis',
    },
  });
  expect(escalation.statusCode).toBe(201);
  // The seed's first risk (with its live signal), its daily status check, a lesson learned,
  // and the GitHub comment the seed names, recorded by hand as a communication.
  const issue2 = `${base}/${project}/issues/2`;
  const risk = await app.inject({
    method: 'POST',
    url: `${issue2}/risks`,
    headers: auth,
    payload: {
      severity: 'high',
      title: 'JWT authentication failures affecting user security',
      links: { categories: ['jwt'], gates: ['infrastructure'] },
      mitigations: [{ text: 'Comprehensive TA escalation', status: 'done', ownerRole: 'qa_lead' }],
    },
  });
  expect(risk.statusCode).toBe(201);
  const checkpoint = await app.inject({
    method: 'POST',
    url: `${issue2}/checkpoints`,
    headers: auth,
    payload: {
      title: 'Daily Status Check - Monitor TA analysis progress',
      recurrence: { kind: 'daily', at: '09:00' },
      ownerRole: 'qa_lead',
    },
  });
  expect(checkpoint.statusCode).toBe(201);
  const note = await app.inject({
    method: 'POST',
    url: `${issue2}/notes`,
    headers: auth,
    payload: {
      kind: 'lesson',
      text: 'Proactive Infrastructure Analysis - Early identification prevents production issues',
    },
  });
  expect(note.statusCode).toBe(201);
  const comment = await app.inject({
    method: 'POST',
    url: `${issue2}/communications`,
    headers: auth,
    payload: {
      channel: 'github_comment',
      externalId: '3177958335',
      audience: 'GitHub Issue #2 stakeholders',
      summary: 'Escalation status and TA requirements',
    },
  });
  expect(comment.statusCode).toBe(201);
  // The dashboard's rows: the project's badge token (made when an editor reads the project)
  // and a live-events ticket not yet spent.
  const read = await app.inject({ method: 'GET', url: `${base}/${project}`, headers: auth });
  expect(read.json<{ badgeToken?: string }>().badgeToken).toMatch(/^gtb_/);
  const ticket = await app.inject({
    method: 'POST',
    url: `/api/v1/orgs/${slug}/events/ticket`,
    headers: auth,
  });
  expect(ticket.statusCode).toBe(201);
  // A passing test quarantined (nothing judged changes) and, given the database, noted as
  // flaky over history since now, as the automatic-quarantine job notes it.
  const passing = await app.inject({
    method: 'GET',
    url: `${base}/${project}/tests?status=passed&limit=1`,
    headers: auth,
  });
  const testId = passing.json<{ items: { testId: string }[] }>().items[0]!.testId;
  const quarantine = await app.inject({
    method: 'PUT',
    url: `${base}/${project}/tests/${testId}/quarantine`,
    headers: auth,
    payload: { reason: 'seed: flaky on CI' },
  });
  expect(quarantine.statusCode).toBe(200);
  if (deps !== undefined) await seedFlakySince(app, auth, slug, project, testId, deps);
  if (deps !== undefined) await seedGithubComment(app, auth, slug, project, deps);
  return {
    project,
    issue: 2,
    runId: run.json<{ id: string }>().id,
    escalationId: escalation.json<{ id: string }>().id,
    riskId: risk.json<{ id: string }>().id,
    checkpointId: checkpoint.json<{ id: string }>().id,
  };
}
