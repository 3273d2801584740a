import { Type } from 'typebox';
import { Uuid } from '../../http/schema.ts';
import { MEMBER_ROLES } from '../../domain/permissions.ts';
import { ACTIVITY_STATUSES } from '../../domain/schedule.ts';
import { IssueParams } from '../issues/issues.schema.ts';

/** An issue holds at most this many activities (the schedule is answered whole). */
export const MAX_ACTIVITIES = 200;

const Key = Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,49}$', maxLength: 50 });
const Status = Type.Union(ACTIVITY_STATUSES.map((s) => Type.Literal(s)));
const OwnerRole = Type.Union(MEMBER_ROLES.map((r) => Type.Literal(r)));
const Days = Type.Number({ minimum: 0, maximum: 3650 });
const Title = Type.String({ minLength: 1, maxLength: 300 });
const Deliverable = Type.Union([Type.String({ maxLength: 2000 }), Type.Null()]);
const Keys = Type.Array(Key, { maxItems: 50 });
const GateKeys = Type.Array(Key, { maxItems: 20 });

export const DurationDays = Type.Object(
  { min: Days, max: Days, likely: Type.Optional(Days) },
  { additionalProperties: false },
);

export const ActivityParams = Type.Object(
  { ...IssueParams.properties, key: Key },
  { additionalProperties: false },
);

export const CreateActivityBody = Type.Object(
  {
    key: Key,
    title: Title,
    ownerRole: OwnerRole,
    ownerUserId: Type.Optional(Type.Union([Uuid, Type.Null()])),
    status: Type.Optional(Status),
    durationDays: DurationDays,
    deliverable: Type.Optional(Deliverable),
    dependsOn: Type.Optional(Keys),
    gates: Type.Optional(GateKeys),
  },
  { additionalProperties: false },
);

export const UpdateActivityBody = Type.Object(
  {
    /** The version the change was made on: a stale one is a 409. */
    version: Type.Integer({ minimum: 1, maximum: 2_000_000_000 }),
    title: Type.Optional(Title),
    ownerRole: Type.Optional(OwnerRole),
    ownerUserId: Type.Optional(Type.Union([Uuid, Type.Null()])),
    status: Type.Optional(Status),
    durationDays: Type.Optional(DurationDays),
    deliverable: Type.Optional(Deliverable),
    dependsOn: Type.Optional(Keys),
    gates: Type.Optional(GateKeys),
  },
  { additionalProperties: false, minProperties: 2 },
);

const Time = Type.String({ format: 'date-time' });

export const ScheduleOut = Type.Object({
  earliestStart: Time,
  earliestFinish: Time,
  latestStart: Time,
  latestFinish: Time,
  expectedDays: Type.Number(),
  stdDevDays: Type.Number(),
  slackDays: Type.Number(),
  critical: Type.Boolean(),
  overdue: Type.Boolean(),
});

export const ActivityOut = Type.Object({
  key: Type.String(),
  title: Type.String(),
  ownerRole: Type.String(),
  ownerUserId: Type.Union([Uuid, Type.Null()]),
  status: Type.String(),
  durationDays: Type.Object({
    min: Type.Number(),
    max: Type.Number(),
    likely: Type.Optional(Type.Number()),
  }),
  deliverable: Type.Union([Type.String(), Type.Null()]),
  dependsOn: Type.Array(Type.String()),
  gates: Type.Array(Type.String()),
  version: Type.Integer(),
  startedAt: Type.Union([Time, Type.Null()]),
  doneAt: Type.Union([Time, Type.Null()]),
  createdAt: Time,
  updatedAt: Time,
  /** Computed for an open activity; null once done. */
  schedule: Type.Union([ScheduleOut, Type.Null()]),
});

export const ForecastOut = Type.Object({
  expectedFinish: Type.Union([Time, Type.Null()]),
  stdDevDays: Type.Number(),
  criticalPath: Type.Array(Type.String()),
  targetDate: Type.Optional(Type.String({ format: 'date' })),
  probabilityByTarget: Type.Optional(Type.Union([Type.Number(), Type.Null()])),
});

export const ActivitiesOut = Type.Object({
  items: Type.Array(ActivityOut),
  forecast: ForecastOut,
});
