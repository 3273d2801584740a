import { ExcusedOut } from '../tests/tests.schema.ts';
import { Type, type TSchema } from 'typebox';

// The report's model as report.json answers it (src/domain/report.ts ReportModel): the
// serializer writes exactly these fields, so a field missing here would silently vanish.

const Str = Type.String();
const Time = Type.String({ format: 'date-time' });
const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const Strings = Type.Array(Str);

const Activity = Type.Object({
  key: Str,
  title: Str,
  ownerRole: Str,
  status: Str,
  minDays: Type.Number(),
  maxDays: Type.Number(),
  likelyDays: Nullable(Type.Number()),
  deliverable: Nullable(Str),
  dependsOn: Strings,
  gates: Strings,
  startedAt: Nullable(Time),
  doneAt: Nullable(Time),
  window: Nullable(
    Type.Object({
      earliestFinish: Time,
      latestFinish: Time,
      expectedFinish: Time,
      critical: Type.Boolean(),
    }),
  ),
});

const NextStep = Type.Object({
  kind: Type.Union([Type.Literal('activity'), Type.Literal('checkpoint')]),
  title: Str,
  detail: Str,
  ownerRole: Nullable(Str),
  by: Nullable(Time),
});

const Checked = Type.Object({ key: Str, text: Str, met: Type.Boolean(), state: Str });

export const ReportOut = Type.Object({
  generatedAt: Time,
  org: Type.Object({ slug: Str, name: Str }),
  project: Type.Object({ key: Str, name: Str }),
  issue: Type.Object({
    number: Type.Integer(),
    title: Str,
    phase: Str,
    githubIssueUrl: Nullable(Str),
    targetDate: Nullable(Type.String({ format: 'date' })),
  }),
  orchestrators: Strings,
  review: Nullable(
    Type.Object({
      verdict: Str,
      conditions: Type.Array(Type.Object({ text: Str, status: Str })),
      notes: Nullable(Str),
      reviewer: Str,
      at: Time,
    }),
  ),
  run: Nullable(
    Type.Object({
      id: Str,
      tests: Type.Integer(),
      passed: Type.Integer(),
      failed: Type.Integer(),
      errored: Type.Integer(),
      skipped: Type.Integer(),
      completedAt: Nullable(Time),
    }),
  ),
  failuresByCategory: Type.Array(
    Type.Object({ category: Nullable(Str), label: Str, count: Type.Integer() }),
  ),
  requiredPassRate: Nullable(
    Type.Object({ rate: Type.Number(), op: Type.Union([Type.Literal('>='), Type.Literal('>')]) }),
  ),
  passRate: Nullable(
    Type.Object({
      rate: Nullable(Type.Number()),
      passed: Type.Integer(),
      ran: Type.Integer(),
      required: Nullable(Type.Number()),
      needed: Nullable(Type.Integer()),
      met: Nullable(Type.Boolean()),
    }),
  ),
  gates: Type.Object({
    overall: Str,
    evaluatedAt: Nullable(Time),
    gates: Type.Array(Type.Object({ key: Str, name: Str, state: Str, reasons: Strings })),
    criteria: Type.Array(Type.Object({ key: Str, text: Str, state: Str })),
    excused: Type.Optional(Type.Array(ExcusedOut)),
  }),
  successMetrics: Type.Array(Checked),
  validationCriteria: Type.Array(Checked),
  githubComment: Nullable(Type.Object({ id: Str, url: Nullable(Str), at: Time })),
  escalations: Type.Array(
    Type.Object({
      role: Str,
      reason: Str,
      request: Str,
      status: Str,
      questions: Type.Array(Type.Object({ topic: Str, text: Str })),
      createdAt: Time,
      ackDueAt: Nullable(Time),
      answerDueAt: Nullable(Time),
      breachedAt: Nullable(Time),
      answer: Nullable(Str),
    }),
  ),
  activities: Type.Array(Activity),
  forecast: Nullable(
    Type.Object({
      expectedFinish: Time,
      earliestFinish: Time,
      latestFinish: Time,
      sdDays: Type.Number(),
      onTimeProbability: Nullable(Type.Number()),
      criticalPath: Strings,
    }),
  ),
  nextSteps: Type.Object({
    within48Hours: Type.Array(NextStep),
    within5Days: Type.Array(NextStep),
    later: Type.Array(NextStep),
  }),
  risks: Type.Array(
    Type.Object({
      severity: Str,
      title: Str,
      description: Str,
      status: Str,
      signal: Nullable(
        Type.Object({
          level: Type.Union([
            Type.Literal('red'),
            Type.Literal('amber'),
            Type.Literal('green'),
            Type.Literal('none'),
          ]),
          text: Str,
        }),
      ),
      mitigations: Type.Array(
        Type.Object({ text: Str, status: Str, ownerRole: Type.Optional(Str) }),
      ),
    }),
  ),
  communications: Type.Array(
    Type.Object({
      channel: Str,
      audience: Str,
      summary: Str,
      externalId: Nullable(Str),
      status: Nullable(Str),
      at: Time,
    }),
  ),
  checkpoints: Type.Array(
    Type.Object({
      title: Str,
      schedule: Str,
      ownerRole: Nullable(Str),
      nextDueAt: Nullable(Time),
      lastCompletedAt: Nullable(Time),
    }),
  ),
  notes: Type.Array(Type.Object({ kind: Str, text: Str, author: Str, at: Time })),
  phaseChanges: Type.Array(Type.Object({ from: Str, to: Str, reason: Str, by: Str, at: Time })),
});
