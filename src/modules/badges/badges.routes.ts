import { makeBadge } from 'badge-maker';
import { Type } from 'typebox';
import type { Module } from '../../http/module.ts';
import { callerOf } from '../../http/types.ts';
import { IssueParams } from '../issues/issues.schema.ts';
import { ProjectParams } from '../projects/projects.schema.ts';
import { createBadgeService } from './badges.service.ts';

const COLORS: Record<string, string> = {
  passed: 'brightgreen',
  blocked: 'red',
  pending: 'yellow',
  none: 'lightgrey',
};

/** The badge's picture: the state in words (colour is never the only signal). */
export function badgeSvg(overall: string): string {
  return makeBadge({
    label: 'quality gates',
    message: overall,
    color: COLORS[overall] ?? 'lightgrey',
  });
}

export const badgeRoutes: Module = (app, { database, box, clock }) => {
  const badges = createBadgeService({ db: database.db, box, clock });
  const tags = ['projects'];

  app.post(
    '/api/v1/orgs/:org/projects/:project/badge-token',
    {
      schema: {
        tags,
        summary: 'Rotate the project badge token (the old one stops working)',
        params: ProjectParams,
        response: { 200: Type.Object({ badgeToken: Type.String() }) },
      },
    },
    (req) => badges.rotate(callerOf(req), req.params.org, req.params.project),
  );

  app.get(
    '/api/v1/orgs/:org/projects/:project/issues/:number/badge.svg',
    {
      // The badge token is the only credential: a read-only capability for one project's badges.
      config: { auth: false },
      schema: {
        tags,
        summary: "The issue's overall gate state as an SVG badge",
        params: IssueParams,
        querystring: Type.Object(
          { token: Type.Optional(Type.String({ maxLength: 200 })) },
          { additionalProperties: false },
        ),
      },
    },
    async (req, reply) => {
      const { org, project, number } = req.params;
      const overall = await badges.overall(org, project, number, req.query.token);
      return (
        reply
          .header('content-type', 'image/svg+xml; charset=utf-8')
          .header('cache-control', 'no-cache')
          // Embedded as an image by other sites (READMEs): helmet's same-origin default would
          // have browsers refuse it there.
          .header('cross-origin-resource-policy', 'cross-origin')
          .send(badgeSvg(overall))
      );
    },
  );
};
