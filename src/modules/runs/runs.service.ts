import type { Kysely, Selectable } from 'kysely';
import { uuidv7 } from 'uuidv7';
import type { Config } from '../../config.ts';
import { addTotals, emptyTotals, passRate } from '../../domain/junit.ts';
import { withTenant, type Caller } from '../../db/tenant.ts';
import type { DB, TestRunsTable } from '../../db/types.ts';
import { BadInput } from '../../errors.ts';
import { decodeCursor, toPage } from '../../lib/pagination.ts';
import { recomputeIssue, type StoredReport } from '../gates/gate-engine.ts';
import { ensureIssue } from '../issues/issues.queries.ts';
import { requireProject } from '../projects/projects.queries.ts';
import { ingestFile, type UploadFile } from './ingest.ts';
import { addToRun, openRun, requireRun, type RunKeys } from './runs.queries.ts';

type Run = Selectable<TestRunsTable>;

export function createRunService(deps: {
  db: Kysely<DB>;
  config: Pick<Config, 'publicUrl' | 'uploads'>;
}) {
  const { db, config } = deps;
  const limits = config.uploads;

  function runOut(run: Run, slug: string, projectKey: string) {
    return {
      id: run.id,
      project: projectKey,
      commit: run.commit_sha,
      branch: run.branch,
      build: run.build,
      attempt: run.attempt,
      issue: run.issue_number,
      totals: {
        tests: run.tests,
        passed: run.passed,
        failed: run.failed,
        errored: run.errored,
        skipped: run.skipped,
        flaky: run.flaky,
      },
      passRate: passRate(run),
      durationMs: run.duration_ms,
      files: run.files,
      createdAt: run.created_at.toISOString(),
      updatedAt: run.updated_at.toISOString(),
      url: `${config.publicUrl}/api/v1/orgs/${slug}/projects/${projectKey}/runs/${run.id}`,
    };
  }
  type RunSummary = ReturnType<typeof runOut> & { gates?: StoredReport };

  async function drain(files: AsyncIterable<UploadFile>): Promise<void> {
    for await (const file of files) file.stream.resume();
  }

  return {
    /**
     * Stores one upload (one or more files) in one transaction. With an Idempotency-Key, a
     * retry gets the first answer back and stores nothing twice.
     */
    upload(
      caller: Caller,
      slug: string,
      projectKey: string,
      keys: RunKeys,
      idempotencyKey: string | undefined,
      files: AsyncIterable<UploadFile>,
    ): Promise<{ replayed: boolean; run: RunSummary }> {
      return withTenant(db, caller, slug, 'runs:upload', async (trx, ctx) => {
        const project = await requireProject(trx, ctx.orgId, projectKey);
        if (idempotencyKey !== undefined) {
          // A concurrent request with the same key waits here until the first one commits.
          const claimed = await trx
            .insertInto('idempotency_keys')
            .values({ org_id: ctx.orgId, project_id: project.id, key: idempotencyKey })
            .onConflict((oc) => oc.doNothing())
            .returning('key')
            .executeTakeFirst();
          if (claimed === undefined) {
            const prior = await trx
              .selectFrom('idempotency_keys')
              .select('response')
              .where('org_id', '=', ctx.orgId)
              .where('project_id', '=', project.id)
              .where('key', '=', idempotencyKey)
              .executeTakeFirstOrThrow();
            await drain(files);
            return { replayed: true, run: prior.response as RunSummary };
          }
        }
        const run = await openRun(trx, ctx.orgId, project.id, uuidv7(), keys);
        const totals = emptyTotals();
        let count = 0;
        for await (const file of files) {
          const fileId = uuidv7();
          await trx
            .insertInto('run_files')
            .values({
              org_id: ctx.orgId,
              id: fileId,
              run_id: run.id,
              filename: file.filename,
              bytes: 0,
              tests: 0,
            })
            .execute();
          const t = await ingestFile(
            trx,
            { orgId: ctx.orgId, runId: run.id, projectId: project.id, fileId },
            file,
            limits,
          );
          await trx
            .updateTable('run_files')
            .set({ bytes: file.bytes(), tests: t.tests })
            .where('org_id', '=', ctx.orgId)
            .where('id', '=', fileId)
            .execute();
          addTotals(totals, t);
          count++;
        }
        if (count === 0)
          throw new BadInput('The upload has no JUnit XML file', [
            { path: 'body', message: 'has no file' },
          ]);
        const stored = await addToRun(trx, ctx.orgId, run.id, totals, count);
        await ctx.audit({
          action: 'run.uploaded',
          targetType: 'run',
          targetId: run.id,
          data: {
            project: project.key,
            files: count,
            tests: totals.tests,
            build: keys.build,
            attempt: keys.attempt,
          },
        });
        let gates: StoredReport | undefined;
        if (keys.issue !== null) {
          const { issue, created } = await ensureIssue(trx, ctx.orgId, project.id, keys.issue);
          if (created) {
            await ctx.audit({
              action: 'issue.created',
              targetType: 'issue',
              targetId: issue.id,
              data: { project: project.key, number: issue.number, from: 'upload' },
            });
          }
          gates = await recomputeIssue(trx, ctx.orgId, project, {
            id: issue.id,
            number: issue.number,
          });
        }
        const summary: RunSummary = {
          ...runOut(stored, slug, project.key),
          ...(gates === undefined ? {} : { gates }),
        };
        if (idempotencyKey !== undefined) {
          await trx
            .updateTable('idempotency_keys')
            .set({ status: 201, response: JSON.stringify(summary) })
            .where('org_id', '=', ctx.orgId)
            .where('project_id', '=', project.id)
            .where('key', '=', idempotencyKey)
            .execute();
        }
        return { replayed: false, run: summary };
      });
    },

    list(
      caller: Caller,
      slug: string,
      projectKey: string,
      q: {
        limit: number;
        cursor?: string | undefined;
        branch?: string | undefined;
        commit?: string | undefined;
        issue?: number | undefined;
      },
    ) {
      const after = decodeCursor(q.cursor);
      return withTenant(db, caller, slug, 'org:read', async (trx, ctx) => {
        const project = await requireProject(trx, ctx.orgId, projectKey);
        let query = trx
          .selectFrom('test_runs')
          .selectAll()
          .where('org_id', '=', ctx.orgId)
          .where('project_id', '=', project.id)
          .orderBy('id', 'desc')
          .limit(q.limit + 1);
        if (after !== undefined) query = query.where('id', '<', after);
        if (q.branch !== undefined) query = query.where('branch', '=', q.branch);
        if (q.commit !== undefined) query = query.where('commit_sha', '=', q.commit);
        if (q.issue !== undefined) query = query.where('issue_number', '=', q.issue);
        return toPage(
          await query.execute(),
          q.limit,
          (r) => r.id,
          (r) => runOut(r, slug, project.key),
        );
      });
    },

    get(caller: Caller, slug: string, projectKey: string, runId: string) {
      return withTenant(db, caller, slug, 'org:read', async (trx, ctx) => {
        const project = await requireProject(trx, ctx.orgId, projectKey);
        const run = await requireRun(trx, ctx.orgId, project.id, runId);
        const uploads = await trx
          .selectFrom('run_files')
          .select(['id', 'filename', 'bytes', 'tests', 'created_at'])
          .where('org_id', '=', ctx.orgId)
          .where('run_id', '=', run.id)
          .orderBy('id')
          .execute();
        return {
          ...runOut(run, slug, project.key),
          uploads: uploads.map((u) => ({
            id: u.id,
            filename: u.filename,
            bytes: Number(u.bytes),
            tests: u.tests,
            createdAt: u.created_at.toISOString(),
          })),
        };
      });
    },

    results(
      caller: Caller,
      slug: string,
      projectKey: string,
      runId: string,
      q: { limit: number; cursor?: string | undefined; status?: string | undefined },
    ) {
      const after = decodeCursor(q.cursor, 'int');
      return withTenant(db, caller, slug, 'org:read', async (trx, ctx) => {
        const project = await requireProject(trx, ctx.orgId, projectKey);
        const run = await requireRun(trx, ctx.orgId, project.id, runId);
        let query = trx
          .selectFrom('test_results')
          .selectAll()
          .where('org_id', '=', ctx.orgId)
          .where('run_id', '=', run.id)
          .orderBy('id')
          .limit(q.limit + 1);
        if (q.status !== undefined) query = query.where('status', '=', q.status);
        if (after !== undefined) query = query.where('id', '>', after);
        return toPage(
          await query.execute(),
          q.limit,
          (r) => String(r.id),
          (r) => ({
            id: String(r.id),
            testId: r.test_key.toString('hex'),
            suite: r.suite,
            classname: r.classname,
            name: r.name,
            status: r.status,
            durationMs: r.duration_ms,
            failureType: r.failure_type,
            failureMessage: r.failure_message,
            failureText: r.failure_text,
            systemOut: r.system_out,
            systemErr: r.system_err,
            truncated: r.truncated,
            flaky: r.flaky,
            reruns: (r.reruns ?? []) as {
              kind: string;
              type: string | null;
              message: string | null;
            }[],
            properties: (r.properties ?? {}) as Record<string, string>,
          }),
        );
      });
    },
  };
}
