import type { Module } from '../../http/module.ts';
import { callerOf } from '../../http/types.ts';
import { IssueParams } from '../issues/issues.schema.ts';
import {
  ActivitiesOut,
  ActivityOut,
  ActivityParams,
  CreateActivityBody,
  UpdateActivityBody,
} from './activities.schema.ts';
import { createActivityService } from './activities.service.ts';

export const activityRoutes: Module = (app, { database, clock }) => {
  const activities = createActivityService({ db: database.db, clock });
  const tags = ['activities'];
  const base = '/api/v1/orgs/:org/projects/:project/issues/:number/activities';

  app.post(
    base,
    {
      schema: {
        tags,
        summary: 'Plan an activity: owner, duration range in days, dependencies and gates',
        params: IssueParams,
        body: CreateActivityBody,
        response: { 201: ActivityOut },
      },
    },
    async (req, reply) =>
      reply.code(201).send(await activities.create(callerOf(req), req.params, req.body)),
  );
  app.get(
    base,
    {
      schema: {
        tags,
        summary: "The issue's activities, each open one with its schedule, and the forecast",
        params: IssueParams,
        response: { 200: ActivitiesOut },
      },
    },
    (req) => activities.list(callerOf(req), req.params),
  );
  app.get(
    `${base}/:key`,
    {
      schema: {
        summary: 'One activity with its computed earliest and latest finish',
        tags,
        params: ActivityParams,
        response: { 200: ActivityOut },
      },
    },
    (req) => activities.get(callerOf(req), req.params),
  );
  app.patch(
    `${base}/:key`,
    {
      schema: {
        tags,
        summary: 'Change an activity or move its status (send the version it was read at)',
        params: ActivityParams,
        body: UpdateActivityBody,
        response: { 200: ActivityOut },
      },
    },
    (req) => activities.update(callerOf(req), req.params, req.body),
  );
};
