import { Gauge } from 'prom-client';
import { createAdmission } from '../../http/admission.ts';
import type { Module } from '../../http/module.ts';
import { problems } from '../../http/schema.ts';
import { callerOf } from '../../http/types.ts';
import { Page } from '../../lib/pagination.ts';
import { ProjectParams } from '../projects/projects.schema.ts';
import {
  ListRunsQuery,
  ResultOut,
  ResultsQuery,
  RunDetailOut,
  RunOut,
  RunParams,
  UploadBody,
  UploadHeaders,
  UploadQuery,
} from './runs.schema.ts';
import { createRunService } from './runs.service.ts';
import { tooLarge, uploadFiles } from './upload-stream.ts';

export const runRoutes: Module = (app, { database, config, clock }) => {
  const runs = createRunService({
    db: database.db,
    config,
    clock,
    spareConnections: () => database.spareConnections(),
  });
  const tags = ['runs'];
  const maxBytes = config.uploads.maxBytes;
  // Uploads beyond what the machine works on at once wait in a bounded line, holding no
  // connection and reading no body; past the line, 429 with Retry-After (the CLI retries
  // with the same Idempotency-Key). Reads keep the rest of the pool.
  const admission = createAdmission({
    concurrency: config.uploads.concurrency,
    queue: config.uploads.queue,
    what: 'upload',
  });
  new Gauge({
    name: 'gatehouse_uploads',
    help: 'Uploads being stored (active) and waiting for a slot (waiting)',
    labelNames: ['state'] as const,
    registers: [app.metricsRegistry],
    collect() {
      this.set({ state: 'active' }, admission.active);
      this.set({ state: 'waiting' }, admission.waiting);
    },
  });

  // XML bodies reach the handler as a stream: parsed as they arrive, never buffered whole.
  app.addContentTypeParser(['application/xml', 'text/xml'], (_request, payload, done) =>
    done(null, payload),
  );

  app.post(
    '/api/v1/orgs/:org/projects/:project/runs',
    {
      bodyLimit: maxBytes,
      schema: {
        tags,
        summary:
          'Upload JUnit XML (raw application/xml or text/xml, optionally gzip; or multipart/form-data with several files)',
        description:
          'The run is judged (gates, triage) once complete: at once, or with ?shards=N when N uploads have arrived.',
        consumes: ['application/xml', 'text/xml', 'multipart/form-data'],
        params: ProjectParams,
        querystring: UploadQuery,
        headers: UploadHeaders,
        documentedBody: UploadBody,
        // 429: more uploads than admission control takes at once (Retry-After says when).
        response: { 201: RunOut, ...problems(429) },
      },
    },
    async (req, reply) => {
      const declared = Number(req.headers['content-length'] ?? 0);
      if (declared > maxBytes) throw tooLarge(maxBytes);
      // A client that goes away while waiting leaves the line.
      const gone = new AbortController();
      const onClose = () => gone.abort();
      req.raw.once('close', onClose);
      const release = await admission
        .enter(gone.signal)
        .finally(() => req.raw.off('close', onClose));
      try {
        const q = req.query;
        const { run } = await runs.upload(
          callerOf(req),
          req.params,
          {
            commit: q.commit ?? null,
            branch: q.branch ?? null,
            build: q.build ?? null,
            attempt: q.attempt,
            issue: q.issue ?? null,
            shards: q.shards ?? null,
          },
          req.headers['idempotency-key'],
          uploadFiles(req, q.filename, maxBytes),
        );
        return reply.code(201).send(run);
      } finally {
        release();
      }
    },
  );

  app.get(
    '/api/v1/orgs/:org/projects/:project/runs',
    {
      schema: {
        summary: "List the project's runs, newest first",
        tags,
        params: ProjectParams,
        querystring: ListRunsQuery,
        response: { 200: Page(RunOut) },
      },
    },
    (req) => runs.list(callerOf(req), req.params, req.query),
  );
  app.get(
    '/api/v1/orgs/:org/projects/:project/runs/:runId',
    {
      schema: {
        summary: 'One run with its totals and uploads',
        tags,
        params: RunParams,
        response: { 200: RunDetailOut },
      },
    },
    (req) => runs.get(callerOf(req), req.params, req.params.runId),
  );
  app.post(
    '/api/v1/orgs/:org/projects/:project/runs/:runId/complete',
    {
      schema: {
        tags,
        summary:
          'Close an open (sharded) run now and judge its gates; a complete run is answered unchanged',
        params: RunParams,
        response: { 200: RunOut },
      },
    },
    (req) => runs.complete(callerOf(req), req.params, req.params.runId),
  );
  app.get(
    '/api/v1/orgs/:org/projects/:project/runs/:runId/results',
    {
      schema: {
        summary: "A run's test results, optionally of one status",
        tags,
        params: RunParams,
        querystring: ResultsQuery,
        response: { 200: Page(ResultOut) },
      },
    },
    async (req, reply) => {
      const page = await runs.results(callerOf(req), req.params, req.params.runId, req.query);
      // The page is JSON text already (a page of failures is rendered by PostgreSQL): a string
      // with a JSON content type is sent as it is, not serialized again.
      return reply.type('application/json; charset=utf-8').send(page as never);
    },
  );
};
