import type { Kysely } from 'kysely';
import { withOrgAsSystem, withSystem } from '../db/system.ts';
import type { DB } from '../db/types.ts';
import { flakinessSettings, quarantineSettings } from '../domain/history.ts';
import type { Clock } from '../lib/clock.ts';
import { loadQualityConfig } from '../modules/gates/gates.queries.ts';
import { rejudgeProject, scheduleQuarantineExpiry } from '../modules/tests/quarantine.ts';
import { flakyOnBranch } from '../modules/tests/test-window.ts';
import {
  activeQuarantines,
  flakySince,
  projectById,
  projectsOfOrg,
  putQuarantine,
  syncFlakySince,
} from '../modules/tests/tests.queries.ts';
import type { DueJob } from './due-work.queries.ts';

const DAY = 86_400_000;

/**
 * A quarantine of the project expired ('quarantine.expiry' due work): its issues are
 * judged again at the clock's now, and the next expiry is scheduled. Idempotent.
 */
export async function expireQuarantines(
  deps: { db: Kysely<DB>; clock: Clock },
  job: { id: string; data: Pick<DueJob, 'orgId' | 'refId'> },
): Promise<'rejudged' | 'project-gone'> {
  const { orgId, refId: projectId } = job.data;
  return withOrgAsSystem(
    deps.db,
    orgId,
    { reason: 'a test quarantine expired', jobId: job.id },
    async (trx, ctx) => {
      const project = await projectById(trx, orgId, projectId);
      if (project === undefined) return 'project-gone';
      const now = deps.clock.now();
      await rejudgeProject(trx, ctx, project, now);
      await scheduleQuarantineExpiry(trx, orgId, projectId, now);
      return 'rejudged';
    },
  );
}

/**
 * The daily pass of automatic quarantine: in every project whose quality configuration has
 * `quarantine.auto`, the tests flaky over the default branch's history are noted with the
 * day they were first seen so (the note is dropped when they stop being flaky), and those
 * flaky for `afterDays` are quarantined by the system, audited with the evidence; the
 * project's issues are then judged again.
 */
export async function autoQuarantine(
  deps: { db: Kysely<DB>; clock: Clock },
  job: { id?: string } = {},
): Promise<{ quarantined: string[] }> {
  const now = deps.clock.now();
  const why = {
    reason: 'automatic quarantine of tests flaky over history (quality config quarantine.auto)',
    ...(job.id === undefined ? {} : { jobId: job.id }),
  };
  const orgs = await withSystem(deps.db, (trx) =>
    trx.selectFrom('orgs').select('id').where('deleted_at', 'is', null).orderBy('id').execute(),
  );
  const quarantined: string[] = [];
  for (const { id: orgId } of orgs) {
    const projects = await withOrgAsSystem(deps.db, orgId, why, (trx) => projectsOfOrg(trx, orgId));
    for (const project of projects)
      await withOrgAsSystem(deps.db, orgId, why, async (trx, ctx) => {
        const { config } = await loadQualityConfig(trx, orgId, project.id);
        const auto = quarantineSettings(config.quarantine);
        if (!auto.auto) {
          await syncFlakySince(trx, orgId, project.id, [], now);
          return;
        }
        const settings = flakinessSettings(config.flakiness);
        const flaky = await flakyOnBranch(trx, orgId, project.id, project.default_branch, settings);
        await syncFlakySince(
          trx,
          orgId,
          project.id,
          flaky.map((f) => f.testKey),
          now,
        );
        const since = await flakySince(trx, orgId, project.id);
        const active = await activeQuarantines(trx, orgId, project.id, now);
        const due = flaky.filter(
          (f) =>
            !active.has(f.testKey) &&
            (since.get(f.testKey)?.getTime() ?? Infinity) <= now.getTime() - auto.afterDays * DAY,
        );
        for (const f of due) {
          const reason = `flaky over history for ${auto.afterDays} days: flip rate ${(f.flipRate * 100).toFixed(1)}% over ${f.runs} runs`;
          await putQuarantine(trx, {
            org_id: orgId,
            project_id: project.id,
            test_key: Buffer.from(f.testKey, 'hex'),
            reason,
            by_type: 'system',
            by_id: ctx.actorId,
            created_at: now,
            expires_at: null,
          });
          await ctx.audit({
            action: 'test.quarantined',
            targetType: 'test',
            targetId: null,
            data: {
              project: project.key,
              testId: f.testKey,
              test: f.label,
              reason,
              expiresAt: null,
              auto: true,
              flippedIn: f.flippedIn,
            },
          });
          quarantined.push(f.testKey);
        }
        if (due.length > 0) await rejudgeProject(trx, ctx, project, now);
      });
  }
  return { quarantined };
}
