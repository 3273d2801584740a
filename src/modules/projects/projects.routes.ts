import type { Module } from '../../http/module.ts';
import { callerOf } from '../../http/types.ts';
import { Page, PageQuery } from '../../lib/pagination.ts';
import { OrgParams } from '../orgs/orgs.schema.ts';
import {
  CreateProjectBody,
  ProjectOut,
  ProjectParams,
  UpdateProjectBody,
} from './projects.schema.ts';
import { createProjectService } from './projects.service.ts';

export const projectRoutes: Module = (app, { database, box, clock }) => {
  const projects = createProjectService({ db: database.db, box, clock });
  const tags = ['projects'];

  app.post(
    '/api/v1/orgs/:org/projects',
    {
      schema: {
        summary: 'Create a project',
        tags,
        params: OrgParams,
        body: CreateProjectBody,
        response: { 201: ProjectOut },
      },
    },
    async (req, reply) =>
      reply.code(201).send(await projects.create(callerOf(req), req.params.org, req.body)),
  );
  app.get(
    '/api/v1/orgs/:org/projects',
    {
      schema: {
        summary: "List the organization's projects",
        tags,
        params: OrgParams,
        querystring: PageQuery,
        response: { 200: Page(ProjectOut) },
      },
    },
    (req) => projects.list(callerOf(req), req.params.org, req.query),
  );
  app.get(
    '/api/v1/orgs/:org/projects/:project',
    {
      schema: {
        summary: 'One project',
        tags,
        params: ProjectParams,
        response: { 200: ProjectOut },
      },
    },
    (req) => projects.get(callerOf(req), req.params.org, req.params.project),
  );
  app.patch(
    '/api/v1/orgs/:org/projects/:project',
    {
      schema: {
        summary: 'Change a project',
        tags,
        params: ProjectParams,
        body: UpdateProjectBody,
        response: { 200: ProjectOut },
      },
    },
    (req) => projects.update(callerOf(req), req.params.org, req.params.project, req.body),
  );
};
