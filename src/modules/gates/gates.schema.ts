import { Type, type Static } from 'typebox';

const Key = Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,49}$', maxLength: 50 });
const Pattern = Type.String({ minLength: 1, maxLength: 500 });
const Scalar = Type.Union([Type.Number(), Type.String({ maxLength: 100 })]);
const CategoryRef = Type.Union([Key, Type.Array(Key, { minItems: 1, maxItems: 20 })]);

export const ConditionSchema = Type.Object(
  {
    metric: Type.String({ minLength: 1, maxLength: 50 }),
    op: Type.Union([
      Type.Literal('>='),
      Type.Literal('>'),
      Type.Literal('<='),
      Type.Literal('<'),
      Type.Literal('=='),
      Type.Literal('!='),
      Type.Literal('in'),
    ]),
    value: Type.Union([Scalar, Type.Array(Scalar, { maxItems: 20 })]),
    category: Type.Optional(CategoryRef),
    activity: Type.Optional(
      Type.String({ minLength: 1, maxLength: 50, description: 'For activity_status: the key' }),
    ),
    severity: Type.Optional(
      Type.Union([Type.Literal('high'), Type.Literal('medium'), Type.Literal('low')], {
        description: 'For open_risks: count only open risks of this severity',
      }),
    ),
  },
  { additionalProperties: false },
);

const QualityConfigShape = Type.Object(
  {
    categories: Type.Array(
      Type.Object(
        {
          name: Key,
          label: Type.Optional(Type.String({ maxLength: 200 })),
          blocking: Type.Optional(Type.Boolean()),
          match: Type.Object(
            {
              type: Type.Optional(Pattern),
              message: Type.Optional(Pattern),
              text: Type.Optional(Pattern),
              classname: Type.Optional(Pattern),
              name: Type.Optional(Pattern),
            },
            { additionalProperties: false },
          ),
        },
        { additionalProperties: false },
      ),
      { maxItems: 100, default: [] },
    ),
    gates: Type.Array(
      Type.Object(
        {
          key: Key,
          name: Type.String({ minLength: 1, maxLength: 200 }),
          requires: Type.Optional(Type.Array(Key, { maxItems: 50 })),
          conditions: Type.Array(ConditionSchema, { maxItems: 30 }),
        },
        { additionalProperties: false },
      ),
      { maxItems: 50 },
    ),
    criteria: Type.Array(
      Type.Object(
        {
          key: Key,
          text: Type.String({ minLength: 1, maxLength: 500 }),
          gate: Type.Optional(Key),
          condition: Type.Optional(ConditionSchema),
          manual: Type.Optional(Type.Boolean()),
        },
        { additionalProperties: false },
      ),
      { maxItems: 100, default: [] },
    ),
  },
  { additionalProperties: false },
);

/**
 * The body of `PUT .../quality-config`. `categories` and `criteria` may be left out: the
 * validator fills in their default (`[]`, Ajv `useDefaults`), so past validation they are
 * always there and the type says so. `gates: []` is a project without gates.
 */
export const QualityConfigBody = Type.Unsafe<Static<typeof QualityConfigShape>>({
  ...QualityConfigShape,
  required: ['gates'],
});

export const QualityConfigOut = Type.Object({
  config: QualityConfigShape,
  custom: Type.Boolean(),
  version: Type.Integer(),
  recomputedIssues: Type.Optional(Type.Integer()),
});

const GateOut = Type.Object({
  key: Type.String(),
  name: Type.String(),
  state: Type.String(),
  reasons: Type.Array(Type.String()),
  requires: Type.Array(Type.String()),
});

export const CriterionResultOut = Type.Object({
  key: Type.String(),
  text: Type.String(),
  state: Type.String(),
  kind: Type.String(),
  checkedBy: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  checkedAt: Type.Optional(Type.Union([Type.String(), Type.Null()])),
});

export const GateReportOut = Type.Object({
  issue: Type.Integer(),
  runId: Type.Union([Type.String(), Type.Null()]),
  overall: Type.String({ description: 'blocked, pending, passed, or none without gates' }),
  gates: Type.Array(GateOut),
  criteria: Type.Array(CriterionResultOut),
  evaluatedAt: Type.String(),
  flaky: Type.Optional(
    Type.Array(
      Type.Object({
        testId: Type.String(),
        test: Type.String(),
        reason: Type.String(),
        passedIn: Type.Array(Type.String()),
        failedIn: Type.Array(Type.String()),
      }),
    ),
  ),
});

/** `GET .../issues/:number/gates`: the last judged report, its history, and any run still open. */
export const IssueGatesOut = Type.Object({
  ...GateReportOut.properties,
  history: Type.Array(
    Type.Object({
      gate: Type.String(),
      from: Type.Union([Type.String(), Type.Null()]),
      to: Type.String(),
      reason: Type.String(),
      runId: Type.Union([Type.String(), Type.Null()]),
      at: Type.String(),
    }),
    { description: 'Gate state changes, newest first (at most 100)' },
  ),
  openRun: Type.Union(
    [
      Type.Object({
        runId: Type.String(),
        uploads: Type.Integer({ description: 'Uploads received so far' }),
        shards: Type.Union([Type.Integer(), Type.Null()], {
          description: 'Uploads expected, when the uploader declared them',
        }),
      }),
      Type.Null(),
    ],
    {
      description:
        "The issue's newest run while it is still open (not yet judged: gates show the last complete run); null otherwise",
    },
  ),
});

const Sample = Type.Object({ id: Type.String(), classname: Type.String(), name: Type.String() });
const TestRef = Type.Object({
  testId: Type.String(),
  classname: Type.String(),
  name: Type.String(),
});

export const TriageOut = Type.Object({
  runId: Type.String(),
  failures: Type.Integer(),
  categories: Type.Array(
    Type.Object({
      category: Type.Union([Type.String(), Type.Null()]),
      label: Type.Union([Type.String(), Type.Null()]),
      blocking: Type.Boolean(),
      count: Type.Integer(),
      clusters: Type.Array(
        Type.Object({
          signature: Type.String(),
          count: Type.Integer(),
          samples: Type.Array(Sample),
          firstSeenRunId: Type.Union([Type.String(), Type.Null()]),
        }),
      ),
    }),
  ),
  flaky: Type.Array(
    Type.Object({
      ...TestRef.properties,
      reason: Type.String(),
      passedIn: Type.Array(Type.String()),
      failedIn: Type.Array(Type.String()),
    }),
  ),
  regressions: Type.Object({
    baselineRunId: Type.Union([Type.String(), Type.Null()]),
    newFailures: Type.Array(TestRef),
    stillFailing: Type.Array(TestRef),
  }),
});
