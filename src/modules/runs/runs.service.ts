import type { Kysely } from 'kysely';
import { uuidv7 } from 'uuidv7';
import type { Config } from '../../config.ts';
import { addTotals, emptyTotals, passRate } from '../../domain/junit.ts';
import { readAsTenant, type Caller } from '../../db/tenant.ts';
import type { DB } from '../../db/types.ts';
import { BadInput, Conflict } from '../../errors.ts';
import type { Clock } from '../../lib/clock.ts';
import { decodeCursor, toPage } from '../../lib/pagination.ts';
import type { StoredReport } from '../gates/gate-engine.ts';
import { inProject, type ProjectScope } from '../scope.ts';
import {
  closeRunWriter,
  ingestFile,
  openRunWriter,
  releaseRunWriter,
  type UploadFile,
} from './ingest.ts';
import { KnownOrds } from './known-ords.ts';
import { isProblem, problemsPage, problemsStatement, resultsPage } from './run-results.ts';
import { completeRun, isCompleteAfterUpload, keepOpen, type Run } from './run-lifecycle.ts';
import {
  addToRun,
  claimIdempotencyKey,
  filesOfRun,
  finishRunFile,
  insertRunFile,
  listRuns,
  openRun,
  requireRun,
  storeIdempotentResponse,
  type RunKeys,
} from './runs.queries.ts';

export function createRunService(deps: {
  db: Kysely<DB>;
  clock: Clock;
  config: Pick<Config, 'publicUrl' | 'uploads' | 'runs'>;
  /** Connections the pool could give right now (Database.spareConnections). */
  spareConnections: () => number;
}) {
  const { db, clock, config } = deps;
  // An upload's registrar keeps a transaction open for its next registration only while
  // that leaves a connection for the reads as well.
  const preOpen = () => deps.spareConnections() >= 2;
  const limits = config.uploads;
  const known = new KnownOrds();

  function runOut(run: Run, slug: string, projectKey: string) {
    return {
      id: run.id,
      project: projectKey,
      commit: run.commit_sha,
      branch: run.branch,
      build: run.build,
      attempt: run.attempt,
      issue: run.issue_number,
      status: run.status,
      shards: run.shards,
      uploadsReceived: run.uploads,
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
      lastUploadAt: run.last_upload_at.toISOString(),
      completedAt: run.completed_at?.toISOString() ?? null,
      url: `${config.publicUrl}/api/v1/orgs/${slug}/projects/${projectKey}/runs/${run.id}`,
    };
  }
  type RunSummary = ReturnType<typeof runOut> & { gates?: StoredReport };

  async function drain(files: AsyncIterable<UploadFile>): Promise<void> {
    for await (const file of files) file.stream.resume();
  }

  /** Refuses an upload that cannot join the run it names (before anything is stored). */
  function checkJoinable(run: Run, keys: RunKeys): void {
    if (run.uploads === 0) return; // a new run
    if (run.status === 'complete' && (run.shards !== null || keys.shards !== null)) {
      throw new Conflict(
        run.shards !== null
          ? `Run ${run.id} (build ${run.build}, attempt ${run.attempt}) is complete: it received ${run.uploads} of ${run.shards} shards and was judged. Upload a new attempt (attempt=${run.attempt + 1}) to run again`
          : `Run ${run.id} (build ${run.build}, attempt ${run.attempt}) was uploaded without shards and is complete; a later upload cannot declare shards for it. Use a new attempt`,
      );
    }
    if (run.shards !== null && keys.shards !== null && run.shards !== keys.shards) {
      throw new Conflict(
        `Run ${run.id} expects ${run.shards} shards; this upload declares ${keys.shards}. Every shard of a run must declare the same number`,
      );
    }
  }

  return {
    /**
     * Stores one upload (one or more files) in one transaction. A run is judged when it is
     * complete: at once without shards, else when the last shard arrives. With an
     * Idempotency-Key, a retry gets the first answer back and stores nothing twice.
     */
    upload(
      caller: Caller,
      scope: ProjectScope,
      keys: RunKeys,
      idempotencyKey: string | undefined,
      files: AsyncIterable<UploadFile>,
    ): Promise<{ replayed: boolean; run: RunSummary }> {
      return inProject(db, caller, scope, 'runs:upload', async (trx, ctx, project) => {
        if (idempotencyKey !== undefined) {
          const prior = await claimIdempotencyKey(trx, ctx.orgId, project.id, idempotencyKey);
          if (!prior.claimed) {
            await drain(files);
            return { replayed: true, run: prior.response as RunSummary };
          }
        }
        const now = clock.now();
        const joined = await openRun(trx, ctx.orgId, project.id, uuidv7(), keys);
        checkJoinable(joined, keys);
        const writer = await openRunWriter(
          trx,
          db,
          { orgId: ctx.orgId, runId: joined.id, projectId: project.id },
          joined,
          { known, preOpen },
        );
        const totals = emptyTotals();
        let count = 0;
        try {
          for await (const file of files) {
            const fileId = uuidv7();
            await insertRunFile(trx, ctx.orgId, {
              id: fileId,
              runId: joined.id,
              filename: file.filename,
            });
            const t = await ingestFile(trx, writer, fileId, file, limits);
            await finishRunFile(trx, ctx.orgId, fileId, { bytes: file.bytes(), tests: t.tests });
            addTotals(totals, t);
            count++;
          }
          await closeRunWriter(trx, writer);
        } finally {
          await releaseRunWriter(writer);
        }
        if (count === 0)
          throw new BadInput('The upload has no JUnit XML file', [
            { path: 'body', message: 'has no file' },
          ]);
        const added = await addToRun(trx, ctx.orgId, joined.id, {
          totals,
          files: count,
          shards: keys.shards,
          at: now,
        });
        await ctx.audit({
          action: 'run.uploaded',
          targetType: 'run',
          targetId: added.id,
          data: {
            project: project.key,
            files: count,
            tests: totals.tests,
            build: keys.build,
            attempt: keys.attempt,
            ...(added.shards === null ? {} : { upload: added.uploads, shards: added.shards }),
          },
        });
        let stored: Run;
        let gates: StoredReport | undefined;
        if (isCompleteAfterUpload(added)) {
          ({ run: stored, gates } = await completeRun(trx, ctx, added, {
            now,
            by: added.shards === null ? 'upload' : 'shards',
            project,
          }));
        } else {
          stored = await keepOpen(trx, ctx, added, {
            now,
            quietSeconds: config.runs.quietSeconds,
            project,
          });
        }
        const summary: RunSummary = {
          ...runOut(stored, scope.org, project.key),
          ...(gates === undefined ? {} : { gates }),
        };
        if (idempotencyKey !== undefined)
          await storeIdempotentResponse(trx, ctx.orgId, project.id, idempotencyKey, summary);
        return { replayed: false, run: summary };
      });
    },

    /** Closes an open run now and judges it; a complete run is answered as it is. */
    complete(caller: Caller, scope: ProjectScope, runId: string) {
      return inProject(db, caller, scope, 'runs:upload', async (trx, ctx, project) => {
        const run = await requireRun(trx, ctx.orgId, project.id, runId, { lock: true });
        if (run.status !== 'open') return runOut(run, scope.org, project.key);
        const { run: done, gates } = await completeRun(trx, ctx, run, {
          now: clock.now(),
          by: 'request',
          project,
        });
        return {
          ...runOut(done, scope.org, project.key),
          ...(gates === undefined ? {} : { gates }),
        };
      });
    },

    list(
      caller: Caller,
      scope: ProjectScope,
      q: {
        limit: number;
        cursor?: string | undefined;
        branch?: string | undefined;
        commit?: string | undefined;
        issue?: number | undefined;
      },
    ) {
      const after = decodeCursor(q.cursor);
      return inProject(db, caller, scope, 'org:read', async (trx, ctx, project) => {
        return toPage(
          await listRuns(trx, ctx.orgId, project.id, { ...q, after }),
          q.limit,
          (r) => r.id,
          (r) => runOut(r, scope.org, project.key),
        );
      });
    },

    get(caller: Caller, scope: ProjectScope, runId: string) {
      return inProject(db, caller, scope, 'org:read', async (trx, ctx, project) => {
        const run = await requireRun(trx, ctx.orgId, project.id, runId);
        const uploads = await filesOfRun(trx, ctx.orgId, run.id);
        return {
          ...runOut(run, scope.org, project.key),
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
      scope: ProjectScope,
      runId: string,
      q: { limit: number; cursor?: string | undefined; status?: string | undefined },
    ): Promise<string> {
      const status = q.status;
      if (isProblem(status))
        return readAsTenant(
          db,
          caller,
          scope.org,
          'org:read',
          (orgId) => problemsStatement(db, orgId, scope.project, runId, { ...q, status }),
          (rows) => problemsPage(rows, q),
        );
      return inProject(db, caller, scope, 'org:read', async (trx, ctx, project) => {
        const run = await requireRun(trx, ctx.orgId, project.id, runId);
        return resultsPage(trx, ctx.orgId, project.id, run.id, q);
      });
    },
  };
}
