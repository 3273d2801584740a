import { Type } from 'typebox';
import { Slug, Uuid } from '../../http/schema.ts';
import { MEMBER_ROLES } from '../../domain/permissions.ts';
import { IssueParams } from '../issues/issues.schema.ts';
import { ProjectKey } from '../projects/projects.schema.ts';

/** Roles an escalation can go to: any member role but viewer (who cannot act on it). */
export const ESCALATION_ROLES = MEMBER_ROLES.filter((r) => r !== 'viewer');
const Role = Type.Union(ESCALATION_ROLES.map((r) => Type.Literal(r)));
/** A response target in hours: more than nothing, at most a year. */
const Hours = Type.Number({ exclusiveMinimum: 0, maximum: 8760 });
const Status = Type.Union(
  ['open', 'acknowledged', 'answered', 'resolved'].map((s) => Type.Literal(s)),
);
const Timestamp = Type.String({ format: 'date-time' });
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) =>
  Type.Union([t, Type.Null()]);

export const EscalationParams = Type.Object(
  {
    org: Slug,
    project: ProjectKey,
    number: IssueParams.properties.number,
    id: Uuid,
  },
  { additionalProperties: false },
);

const Question = Type.Object(
  {
    topic: Type.String({ minLength: 1, maxLength: 200 }),
    text: Type.String({ minLength: 1, maxLength: 4000 }),
  },
  { additionalProperties: false },
);

export const EscalateBody = Type.Object(
  {
    role: Role,
    member: Type.Optional(Uuid),
    reason: Type.String({ minLength: 1, maxLength: 2000 }),
    /** The request document, in Markdown. */
    request: Type.String({ maxLength: 100_000 }),
    questions: Type.Array(Question, { maxItems: 100 }),
    ackWithinHours: Type.Optional(Hours),
    answerWithinHours: Type.Optional(Hours),
    /** The issue's activity that is the response (linked when it exists, else created). */
    activity: Type.Optional(Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,49}$', maxLength: 50 })),
  },
  { additionalProperties: false },
);

export const EscalationActionBody = Type.Object(
  {
    action: Type.Union(
      ['acknowledge', 'answer', 'resolve', 'pause', 'resume'].map((a) => Type.Literal(a)),
    ),
    /** The answer (required to answer), or a note on the move. */
    text: Type.Optional(Type.String({ minLength: 1, maxLength: 100_000 })),
  },
  { additionalProperties: false },
);

export const ListEscalationsQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    status: Type.Optional(Status),
  },
  { additionalProperties: false },
);

export const EscalationOut = Type.Object({
  id: Uuid,
  issue: Type.Integer(),
  status: Type.String(),
  /** Position of the current role on the project's chain (0 = first level). */
  level: Type.Integer(),
  role: Type.String(),
  member: Nullable(Uuid),
  reason: Type.String(),
  request: Type.String(),
  questions: Type.Array(Type.Object({ topic: Type.String(), text: Type.String() })),
  ackWithinHours: Type.Number(),
  answerWithinHours: Type.Number(),
  ackDueAt: Timestamp,
  answerDueAt: Timestamp,
  acknowledgedAt: Nullable(Timestamp),
  answeredAt: Nullable(Timestamp),
  resolvedAt: Nullable(Timestamp),
  breachedAt: Nullable(Timestamp),
  paused: Type.Boolean(),
  pausedAt: Nullable(Timestamp),
  pausedSeconds: Type.Number(),
  /** Seconds left to each target still awaited; negative once past it; frozen while paused. */
  remaining: Type.Object({
    ackSeconds: Type.Optional(Type.Integer()),
    answerSeconds: Type.Optional(Type.Integer()),
  }),
  answer: Nullable(Type.String()),
  /** Key of the response activity. */
  activity: Nullable(Type.String()),
  createdBy: Type.String(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

const ChainLevel = Type.Object(
  { role: Role, ackWithinHours: Hours },
  { additionalProperties: false },
);
export const ChainBody = Type.Object(
  { levels: Type.Array(ChainLevel, { maxItems: 10 }) },
  { additionalProperties: false },
);
export const ChainOut = Type.Object({
  levels: Type.Array(Type.Object({ role: Type.String(), ackWithinHours: Type.Number() })),
  updatedAt: Nullable(Timestamp),
});
