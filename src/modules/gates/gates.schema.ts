import { Type, type Static } from 'typebox';
import { METRIC_KINDS } from '../../domain/gates.ts';
import { ExcusedOut, FlakyOverHistoryOut } from '../tests/tests.schema.ts';

const KEY = { pattern: '^[a-z0-9][a-z0-9_-]{0,49}$', maxLength: 50 };
const Key = Type.String({
  ...KEY,
  description: 'Lower-case letters, digits, - and _, starting with a letter or digit; at most 50',
});
const Pattern = Type.String({
  minLength: 1,
  maxLength: 500,
  description:
    'A regular expression in RE2 syntax (linear-time: no backreferences or lookaround); prefix (?i) for case-insensitive; at most 500 characters',
});
const Scalar = Type.Union([Type.Number(), Type.String({ maxLength: 100 })]);
const CategoryRef = Type.Union([Key, Type.Array(Key, { minItems: 1, maxItems: 20 })], {
  description:
    'failed_in_category (required) and regressions (optional): the name of a category, or several (their failures are added up)',
});

const metricList = Object.entries(METRIC_KINDS)
  .map(([name, kind]) => `${name} (${kind})`)
  .join(', ');

export const ConditionSchema = Type.Object(
  {
    metric: Type.String({
      minLength: 1,
      maxLength: 50,
      description: `What is measured: ${metricList}. A rate is a fraction from 0 to 1 (0.9 for 90%), a count a whole number from 0, a verdict pass, conditional_pass or fail, a status an activity status.`,
      examples: Object.keys(METRIC_KINDS),
    }),
    op: Type.Union(
      [
        Type.Literal('>='),
        Type.Literal('>'),
        Type.Literal('<='),
        Type.Literal('<'),
        Type.Literal('=='),
        Type.Literal('!='),
        Type.Literal('in'),
      ],
      {
        description:
          'How the metric is compared with value; verdicts and statuses take ==, != or in; in takes a list',
      },
    ),
    value: Type.Union([Scalar, Type.Array(Scalar, { maxItems: 20 })], {
      description:
        "What the metric is compared with, in the metric's kind: a fraction for a rate, a whole number for a count, a word for a verdict or status; a list with in",
    }),
    category: Type.Optional(CategoryRef),
    activity: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 50,
        description:
          "activity_status (required): the key of the issue's activity whose status is read",
      }),
    ),
    severity: Type.Optional(
      Type.Union([Type.Literal('high'), Type.Literal('medium'), Type.Literal('low')], {
        description: 'open_risks (optional): count only open risks of this severity',
      }),
    ),
  },
  {
    additionalProperties: false,
    title: 'Condition',
    description:
      'One check: metric op value, e.g. {"metric": "pass_rate", "op": ">=", "value": 0.9}',
  },
);

const CategorySchema = Type.Object(
  {
    name: Key,
    label: Type.Optional(
      Type.String({ maxLength: 200, description: 'How the category reads in reports' }),
    ),
    blocking: Type.Optional(
      Type.Boolean({
        description: 'Failures in a blocking category count in the blocking_failures metric',
      }),
    ),
    match: Type.Object(
      {
        type: Type.Optional(Pattern),
        message: Type.Optional(Pattern),
        text: Type.Optional(Pattern),
        classname: Type.Optional(Pattern),
        name: Type.Optional(Pattern),
      },
      {
        additionalProperties: false,
        title: 'Match',
        description:
          "Which failures belong to the category: patterns on the failure's type, message and text and the test's classname and name; every pattern given must match (at least one); each field's first 4096 characters are read",
      },
    ),
    known: Type.Optional(
      Type.Boolean({
        description:
          'Known failures: failures in this category are excused (left out of pass rate, failure counts and blocking conditions as if skipped, and listed as excused) until the mark is removed',
      }),
    ),
    ticket: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 500,
        description: 'With known: true, where the known failure is tracked (a link or ticket id)',
      }),
    ),
  },
  {
    additionalProperties: false,
    title: 'Category',
    description: 'A root cause that failures are sorted into; the first category that matches wins',
  },
);

const GateSchema = Type.Object(
  {
    key: Key,
    name: Type.String({ minLength: 1, maxLength: 200, description: 'How the gate reads' }),
    requires: Type.Optional(
      Type.Array(Key, {
        maxItems: 50,
        description:
          'Keys of gates that must pass first: until they have, this gate is pending (no cycles)',
      }),
    ),
    conditions: Type.Array(ConditionSchema, {
      maxItems: 30,
      description: 'Every condition must hold for the gate to pass',
    }),
  },
  {
    additionalProperties: false,
    title: 'Gate',
    description: 'A quality gate: passed, blocked or pending, with reasons',
  },
);

const CriterionSchema = Type.Object(
  {
    key: Key,
    text: Type.String({ minLength: 1, maxLength: 500, description: 'What the criterion says' }),
    gate: Type.Optional(
      Type.String({ ...KEY, description: 'Met when this gate (its key) has passed' }),
    ),
    condition: Type.Optional(ConditionSchema),
    manual: Type.Optional(
      Type.Boolean({ description: 'true: checked off by hand (a qa_lead or admin)' }),
    ),
  },
  {
    additionalProperties: false,
    title: 'Criterion',
    description: 'A success criterion: exactly one of gate, condition or manual: true',
  },
);

const FlakinessSchema = Type.Object(
  {
    flipRate: Type.Optional(
      Type.Number({
        minimum: 0,
        maximum: 1,
        description:
          'A test is flaky over history when it flips between pass and fail in more than this fraction of consecutive runs of the default branch (default 0.1)',
      }),
    ),
    minRuns: Type.Optional(
      Type.Integer({
        minimum: 2,
        maximum: 1000,
        description: 'Only over at least this many runs that passed or failed (default 10)',
      }),
    ),
    window: Type.Optional(
      Type.Integer({
        minimum: 2,
        maximum: 1000,
        description:
          "How many of the default branch's latest complete runs are read, at least minRuns (default 30)",
      }),
    ),
  },
  {
    additionalProperties: false,
    title: 'Flakiness',
    description:
      'Flakiness over history: read by the flaky_over_history metric, the test list and automatic quarantine',
  },
);

const QuarantineSchema = Type.Object(
  {
    auto: Type.Optional(
      Type.Boolean({
        description: 'Quarantine tests flaky over history automatically (default false)',
      }),
    ),
    afterDays: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 365,
        description: 'Once they have been flaky over history for this many days (default 3)',
      }),
    ),
  },
  {
    additionalProperties: false,
    title: 'Quarantine',
    description:
      'Automatic quarantine: a daily job quarantines tests flaky over history for afterDays (audited as the system); people quarantine with PUT .../tests/:testId/quarantine',
  },
);

/**
 * The quality configuration's fields. Titles and descriptions are what editors show:
 * the served JSON Schema (`GET /schemas/quality-config.json`) is this schema.
 */
const QualityConfigShape = Type.Object(
  {
    $schema: Type.Optional(
      Type.String({
        maxLength: 2000,
        description:
          'The JSON Schema the file follows, for editors (e.g. https://gatehouse.example/schemas/quality-config.json); not stored',
      }),
    ),
    categories: Type.Array(CategorySchema, {
      maxItems: 100,
      default: [],
      description: 'Root-cause categories failures are sorted into (may be left out)',
    }),
    gates: Type.Array(GateSchema, {
      maxItems: 50,
      description: 'The quality gates; [] is a project with no gates',
    }),
    criteria: Type.Array(CriterionSchema, {
      maxItems: 100,
      default: [],
      description: 'Success criteria shown as a checklist (may be left out)',
    }),
    flakiness: Type.Optional(FlakinessSchema),
    quarantine: Type.Optional(QuarantineSchema),
  },
  {
    additionalProperties: false,
    title: 'Gatehouse quality configuration',
    description:
      'Categories, gates and success criteria of one project (PUT .../projects/:project/quality-config). Documented in docs/quality-config.md.',
  },
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

/**
 * The quality configuration's JSON Schema as served for editors: the body schema above
 * (the one requests are validated with), with `$schema` and `$id`. `metric` names the known
 * metrics in `examples` only; the server checks them (and values per metric) itself.
 */
export function qualityConfigJsonSchema(publicUrl: string): Record<string, unknown> {
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: `${publicUrl}/schemas/quality-config.json`,
    ...(JSON.parse(JSON.stringify(QualityConfigBody)) as Record<string, unknown>),
  };
}

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
  excused: Type.Optional(
    Type.Array(ExcusedOut, {
      description:
        'Failures of the judged run left out of pass rate, failure counts and blocking conditions (as if skipped): quarantined tests and known failures',
    }),
  ),
  flakyOverHistory: Type.Optional(
    Type.Array(FlakyOverHistoryOut, {
      description:
        'When a gate reads flaky_over_history: the tests flaky over the default branch history (not quarantined), with the runs where they flipped',
    }),
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
  excused: Type.Array(ExcusedOut, {
    description: 'Failures not counted: quarantined tests and known failures',
  }),
});
