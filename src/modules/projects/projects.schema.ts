import { Type } from 'typebox';
import { Slug, Uuid } from '../../http/schema.ts';

export const ProjectKey = Type.String({
  pattern: '^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?$',
  minLength: 1,
  maxLength: 64,
});
const GithubRepo = Type.String({
  pattern: '^[A-Za-z0-9-]{1,39}/[A-Za-z0-9._-]{1,100}$',
  maxLength: 140,
});
const Branch = Type.String({ minLength: 1, maxLength: 255 });

export const ProjectParams = Type.Object(
  { org: Slug, project: ProjectKey },
  { additionalProperties: false },
);
export const CreateProjectBody = Type.Object(
  {
    key: ProjectKey,
    name: Type.String({ minLength: 1, maxLength: 200 }),
    githubRepo: Type.Optional(Type.Union([GithubRepo, Type.Null()])),
    defaultBranch: Type.Optional(Branch),
  },
  { additionalProperties: false },
);
const Days = (description: string) => Type.Integer({ minimum: 1, maximum: 36500, description });
const Retention = Type.Object(
  {
    detailsDays: Days(
      'Days result details (failure messages, captured output) are kept after a run completes (default 30)',
    ),
    resultsDays: Days(
      "Days per-result history (each test's status and duration per run) is kept (default 400); run totals, trends and gate history are kept for good",
    ),
  },
  { additionalProperties: false },
);

export const UpdateProjectBody = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    githubRepo: Type.Optional(Type.Union([GithubRepo, Type.Null()])),
    defaultBranch: Type.Optional(Branch),
    retention: Type.Optional(Type.Partial(Retention, { minProperties: 1 })),
  },
  { additionalProperties: false, minProperties: 1 },
);
export const ProjectOut = Type.Object({
  id: Uuid,
  key: Type.String(),
  name: Type.String(),
  githubRepo: Type.Union([Type.String(), Type.Null()]),
  defaultBranch: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
  retention: Type.Optional(Retention),
  badgeToken: Type.Optional(
    Type.String({
      description:
        'Only to members who may edit the project: the read-only token of its issue badges (.../issues/:number/badge.svg?token=)',
    }),
  ),
});
