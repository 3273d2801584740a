import type { Module } from '../../http/module.ts';
import { callerOf } from '../../http/types.ts';
import { Page, PageQuery } from '../../lib/pagination.ts';
import { IssueParams } from '../issues/issues.schema.ts';
import {
  CheckpointOut,
  CheckpointParams,
  CreateCheckpointBody,
  UpdateCheckpointBody,
} from './checkpoints.schema.ts';
import { createCheckpointService } from './checkpoints.service.ts';

export const checkpointRoutes: Module = (app, { database, clock }) => {
  const checkpoints = createCheckpointService({ db: database.db, clock });
  const tags = ['checkpoints'];
  const base = '/api/v1/orgs/:org/projects/:project/issues/:number/checkpoints';

  app.post(
    base,
    {
      schema: {
        tags,
        summary:
          'A recurring check (daily, weekdays, every N days, once, or when an activity is done) at a local time in a time zone',
        params: IssueParams,
        body: CreateCheckpointBody,
        response: { 201: CheckpointOut },
      },
    },
    async (req, reply) =>
      reply.code(201).send(await checkpoints.create(callerOf(req), req.params, req.body)),
  );
  app.get(
    base,
    {
      schema: {
        summary: "List an issue's checkpoints",
        tags,
        params: IssueParams,
        querystring: PageQuery,
        response: { 200: Page(CheckpointOut) },
      },
    },
    (req) => checkpoints.list(callerOf(req), req.params, req.query),
  );
  app.get(
    `${base}/:id`,
    {
      schema: {
        summary: 'One checkpoint',
        tags,
        params: CheckpointParams,
        response: { 200: CheckpointOut },
      },
    },
    (req) => checkpoints.get(callerOf(req), req.params),
  );
  app.patch(
    `${base}/:id`,
    {
      schema: {
        summary: 'Change a checkpoint',
        tags,
        params: CheckpointParams,
        body: UpdateCheckpointBody,
        response: { 200: CheckpointOut },
      },
    },
    (req) => checkpoints.update(callerOf(req), req.params, req.body),
  );
  app.delete(
    `${base}/:id`,
    {
      schema: {
        summary: 'Delete a checkpoint',
        tags,
        params: CheckpointParams,
        response: { 204: {} },
      },
    },
    async (req, reply) => {
      await checkpoints.remove(callerOf(req), req.params);
      return reply.code(204).send();
    },
  );
  app.post(
    `${base}/:id/complete`,
    {
      schema: {
        tags,
        summary:
          'Record that the check was made: acknowledges a due checkpoint, or completes today’s occurrence early',
        params: CheckpointParams,
        response: { 200: CheckpointOut },
      },
    },
    (req) => checkpoints.complete(callerOf(req), req.params),
  );
};
