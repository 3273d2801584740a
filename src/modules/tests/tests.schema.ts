import { Type } from 'typebox';
import { Slug, Uuid } from '../../http/schema.ts';
import { ProjectKey } from '../projects/projects.schema.ts';

const Status = Type.Union([
  Type.Literal('passed'),
  Type.Literal('failed'),
  Type.Literal('error'),
  Type.Literal('skipped'),
]);
const Branch = Type.String({ minLength: 1, maxLength: 255 });
const Limit = (max: number, dflt: number) =>
  Type.Integer({ minimum: 1, maximum: max, default: dflt });
const Cursor = Type.Optional(Type.String({ minLength: 1, maxLength: 200 }));
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) =>
  Type.Union([t, Type.Null()]);

/** A test's id: the hex of its test key (stable across runs, as in results and triage). */
export const TestId = Type.String({ pattern: '^[0-9a-f]{32}$', minLength: 32, maxLength: 32 });

export const TestParams = Type.Object(
  { org: Slug, project: ProjectKey, testId: TestId },
  { additionalProperties: false },
);
export const IssueTrendParams = Type.Object(
  { org: Slug, project: ProjectKey, number: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }) },
  { additionalProperties: false },
);
export const DeleteRunParams = Type.Object(
  { org: Slug, project: ProjectKey, runId: Uuid },
  { additionalProperties: false },
);

export const TestListQuery = Type.Object(
  {
    query: Type.Optional(
      Type.String({ minLength: 1, maxLength: 200, description: 'Part of suite, class or name' }),
    ),
    status: Type.Optional(Status),
    flaky: Type.Optional(Type.Boolean({ description: 'Only tests flaky over history (or not)' })),
    sort: Type.Union(
      [
        Type.Literal('name'),
        Type.Literal('failureRate'),
        Type.Literal('flipRate'),
        Type.Literal('duration'),
        Type.Literal('p95'),
      ],
      { default: 'name' },
    ),
    limit: Limit(200, 50),
    cursor: Cursor,
  },
  { additionalProperties: false },
);

const QuarantineOut = Type.Object({
  reason: Type.String(),
  by: Type.Object({ type: Type.String(), id: Type.String() }),
  at: Type.String({ format: 'date-time' }),
  expiresAt: Nullable(Type.String({ format: 'date-time' })),
});

export const TestOut = Type.Object({
  testId: Type.String(),
  suite: Type.String(),
  classname: Type.String(),
  name: Type.String(),
  lastStatus: Nullable(Status),
  /** Runs of the window where it passed or failed. */
  runs: Type.Integer(),
  failureRate: Type.Number(),
  flipRate: Type.Number(),
  flaky: Type.Boolean(),
  meanMs: Nullable(Type.Number()),
  p95Ms: Nullable(Type.Number()),
  quarantined: Nullable(QuarantineOut),
});

export const TestListOut = Type.Object({
  items: Type.Array(TestOut),
  nextCursor: Nullable(Type.String()),
  /** The runs the rates are computed over: the default branch's latest complete runs. */
  window: Type.Object({ branch: Type.String(), runs: Type.Integer() }),
});

export const HistoryQuery = Type.Object(
  { branch: Type.Optional(Branch), limit: Limit(500, 100), cursor: Cursor },
  { additionalProperties: false },
);

export const HistoryOut = Type.Object({
  test: Type.Object({
    testId: Type.String(),
    suite: Type.String(),
    classname: Type.String(),
    name: Type.String(),
    quarantined: Nullable(QuarantineOut),
  }),
  items: Type.Array(
    Type.Object({
      runId: Type.String(),
      commit: Nullable(Type.String()),
      branch: Nullable(Type.String()),
      build: Nullable(Type.String()),
      issue: Nullable(Type.Integer()),
      runStatus: Type.String(),
      at: Type.String({ format: 'date-time' }),
      status: Status,
      flaky: Type.Boolean(),
      durationMs: Nullable(Type.Number()),
      failureType: Nullable(Type.String()),
      failureMessage: Nullable(Type.String()),
    }),
  ),
  nextCursor: Nullable(Type.String()),
});

const IsoDate = Type.String({ format: 'date-time', maxLength: 40 });

export const TrendsQuery = Type.Object(
  {
    branch: Type.Optional(Branch),
    from: Type.Optional(IsoDate),
    to: Type.Optional(IsoDate),
    bucket: Type.Union([Type.Literal('day'), Type.Literal('week')], { default: 'day' }),
  },
  { additionalProperties: false },
);

export const TrendsOut = Type.Object({
  branch: Type.String(),
  from: Type.String(),
  to: Type.String(),
  bucket: Type.String(),
  items: Type.Array(
    Type.Object({
      start: Type.String(),
      runs: Type.Integer(),
      tests: Type.Integer(),
      passed: Type.Integer(),
      failed: Type.Integer(),
      errored: Type.Integer(),
      skipped: Type.Integer(),
      flaky: Type.Integer(),
      passRate: Nullable(Type.Number()),
      meanDurationMs: Nullable(Type.Number()),
    }),
  ),
  nextCursor: Type.Null(),
});

export const IssueTrendOut = Type.Object({
  items: Type.Array(
    Type.Object({
      runId: Type.String(),
      at: Type.String(),
      commit: Nullable(Type.String()),
      branch: Nullable(Type.String()),
      tests: Type.Integer(),
      passed: Type.Integer(),
      failed: Type.Integer(),
      errored: Type.Integer(),
      skipped: Type.Integer(),
      passRate: Nullable(Type.Number()),
      overall: Type.String(),
      gates: Type.Record(Type.String(), Type.String()),
    }),
  ),
  nextCursor: Type.Null(),
});

export const QuarantineBody = Type.Object(
  {
    reason: Type.String({ minLength: 1, maxLength: 1000 }),
    expiresAt: Type.Optional(Nullable(IsoDate)),
  },
  { additionalProperties: false },
);
export { QuarantineOut };

/** A failure that did not count against the gates: its test is quarantined, or it is known. */
export const ExcusedOut = Type.Object({
  testId: Type.String(),
  test: Type.String({ description: 'classname.name' }),
  why: Type.Union([Type.Literal('quarantine'), Type.Literal('known')]),
  reason: Type.Optional(Type.String({ description: 'Why the test was quarantined' })),
  category: Type.Optional(Type.String({ description: 'The known category it matched' })),
  ticket: Type.Optional(Type.String({ description: "The known category's ticket" })),
});

/** A test flaky over the default branch's history, with the runs where it flipped. */
export const FlakyOverHistoryOut = Type.Object({
  testId: Type.String(),
  test: Type.String(),
  runs: Type.Integer(),
  flips: Type.Integer(),
  flipRate: Type.Number(),
  flippedIn: Type.Array(Type.String()),
});
