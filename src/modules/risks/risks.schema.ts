import { Type } from 'typebox';
import { Slug, Uuid } from '../../http/schema.ts';
import { OwnerRole } from '../checkpoints/checkpoints.schema.ts';
import { ProjectKey } from '../projects/projects.schema.ts';

const IssueNumber = Type.Integer({ minimum: 1, maximum: 2_000_000_000 });
const strict = { additionalProperties: false } as const;

export const SEVERITIES = ['high', 'medium', 'low'] as const;
export const RISK_STATUSES = ['open', 'mitigated', 'closed'] as const;
export const MITIGATION_STATUSES = ['planned', 'in_progress', 'done', 'blocked'] as const;

const Severity = Type.Enum(SEVERITIES);
const RiskStatus = Type.Enum(RISK_STATUSES);
const Key = Type.String({ minLength: 1, maxLength: 50 });

export const RiskLinksSchema = Type.Object(
  {
    categories: Type.Optional(
      Type.Array(Key, { maxItems: 20, uniqueItems: true, description: 'category names' }),
    ),
    gates: Type.Optional(
      Type.Array(Key, { maxItems: 20, uniqueItems: true, description: 'gate keys' }),
    ),
    tests: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 500 }), {
        maxItems: 50,
        uniqueItems: true,
        description: 'tests as "classname.name" (as the flaky list names them) or test ids',
      }),
    ),
  },
  strict,
);

export const MitigationSchema = Type.Object(
  {
    text: Type.String({ minLength: 1, maxLength: 1000 }),
    status: Type.Enum(MITIGATION_STATUSES),
    ownerRole: Type.Optional(OwnerRole),
  },
  strict,
);

export const RiskParams = Type.Object(
  { org: Slug, project: ProjectKey, number: IssueNumber, id: Uuid },
  strict,
);

const fields = {
  severity: Severity,
  title: Type.String({ minLength: 1, maxLength: 300 }),
  description: Type.String({ maxLength: 5000 }),
  links: RiskLinksSchema,
  status: RiskStatus,
  mitigations: Type.Array(MitigationSchema, { maxItems: 50 }),
};

export const CreateRiskBody = Type.Object(
  {
    severity: fields.severity,
    title: fields.title,
    description: Type.Optional(fields.description),
    links: Type.Optional(fields.links),
    status: Type.Optional(fields.status),
    mitigations: Type.Optional(fields.mitigations),
  },
  strict,
);

export const UpdateRiskBody = Type.Object(
  {
    version: Type.Integer({
      minimum: 1,
      maximum: 2_000_000_000,
      description: 'the version read; a risk changed since answers 409',
    }),
    severity: Type.Optional(fields.severity),
    title: Type.Optional(fields.title),
    description: Type.Optional(fields.description),
    links: Type.Optional(fields.links),
    status: Type.Optional(fields.status),
    mitigations: Type.Optional(fields.mitigations),
  },
  { ...strict, minProperties: 2 },
);

const Level = Type.Union([
  Type.Literal('red'),
  Type.Literal('amber'),
  Type.Literal('green'),
  Type.Literal('none'),
]);
export const SignalOut = Type.Object({
  level: Level,
  text: Type.String(),
  parts: Type.Array(
    Type.Object({ kind: Type.String(), ref: Type.String(), level: Level, text: Type.String() }),
  ),
});

export const RiskOut = Type.Object({
  id: Uuid,
  severity: Type.String(),
  title: Type.String(),
  description: Type.String(),
  links: Type.Object({
    categories: Type.Array(Type.String()),
    gates: Type.Array(Type.String()),
    tests: Type.Array(Type.String()),
  }),
  status: Type.String(),
  mitigations: Type.Array(
    Type.Object({
      text: Type.String(),
      status: Type.String(),
      ownerRole: Type.Optional(Type.String()),
    }),
  ),
  version: Type.Integer(),
  /** What the live data says about the risk now; null when it links nothing. */
  signal: Type.Union([SignalOut, Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});
