import { Type } from 'typebox';
import { Slug, Uuid } from '../../http/schema.ts';
import { ProjectKey } from '../projects/projects.schema.ts';

export const PHASES = [
  'development',
  'code_review',
  'qa',
  'escalated',
  'ready_for_release',
  'done',
] as const;
const Phase = Type.Union(PHASES.map((p) => Type.Literal(p)));
const IssueNumber = Type.Integer({ minimum: 1, maximum: 2_000_000_000 });
const GithubUrl = Type.String({
  pattern: '^https://github\\.com/[A-Za-z0-9-]{1,39}/[A-Za-z0-9._-]{1,100}/issues/\\d{1,10}$',
  maxLength: 300,
});

export const IssueParams = Type.Object(
  { org: Slug, project: ProjectKey, number: IssueNumber },
  { additionalProperties: false },
);
export const CriterionParams = Type.Object(
  {
    org: Slug,
    project: ProjectKey,
    number: IssueNumber,
    key: Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,49}$', maxLength: 50 }),
  },
  { additionalProperties: false },
);

export const CreateIssueBody = Type.Object(
  {
    number: IssueNumber,
    title: Type.String({ minLength: 1, maxLength: 300 }),
    phase: Type.Optional(Phase),
    githubIssueUrl: Type.Optional(Type.Union([GithubUrl, Type.Null()])),
  },
  { additionalProperties: false },
);
export const UpdateIssueBody = Type.Object(
  {
    title: Type.Optional(Type.String({ minLength: 1, maxLength: 300 })),
    phase: Type.Optional(Phase),
    githubIssueUrl: Type.Optional(Type.Union([GithubUrl, Type.Null()])),
    /** When the issue should be done (YYYY-MM-DD, UTC); the activities' forecast gives the
     *  probability of finishing by the end of that day. */
    targetDate: Type.Optional(
      Type.Union([Type.String({ format: 'date', maxLength: 10 }), Type.Null()]),
    ),
  },
  { additionalProperties: false, minProperties: 1 },
);
export const IssueOut = Type.Object({
  id: Uuid,
  number: Type.Integer(),
  title: Type.String(),
  phase: Type.String(),
  githubIssueUrl: Type.Union([Type.String(), Type.Null()]),
  overall: Type.Union([Type.String(), Type.Null()]),
  targetDate: Type.Union([Type.String({ format: 'date' }), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});

const ReviewCondition = Type.Object(
  {
    text: Type.String({ minLength: 1, maxLength: 500 }),
    status: Type.Union([Type.Literal('open'), Type.Literal('met')]),
  },
  { additionalProperties: false },
);
export const ReviewBody = Type.Object(
  {
    verdict: Type.Union([
      Type.Literal('pass'),
      Type.Literal('conditional_pass'),
      Type.Literal('fail'),
    ]),
    conditions: Type.Optional(Type.Array(ReviewCondition, { maxItems: 50 })),
    notes: Type.Optional(Type.String({ maxLength: 10_000 })),
    reviewer: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 200,
        description: 'Who reviewed; defaults to the signed-in user. A CI token must name one.',
      }),
    ),
  },
  { additionalProperties: false },
);
export const ReviewOut = Type.Object({
  id: Uuid,
  verdict: Type.String(),
  conditions: Type.Array(Type.Object({ text: Type.String(), status: Type.String() })),
  notes: Type.Union([Type.String(), Type.Null()]),
  reviewer: Type.String(),
  recordedBy: Uuid,
  createdAt: Type.String({ format: 'date-time' }),
});
export const CheckBody = Type.Object({ checked: Type.Boolean() }, { additionalProperties: false });
