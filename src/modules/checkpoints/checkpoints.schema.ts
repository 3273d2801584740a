import { Type } from 'typebox';
import { Slug, Uuid } from '../../http/schema.ts';
import { MEMBER_ROLES } from '../../domain/permissions.ts';
import { ProjectKey } from '../projects/projects.schema.ts';

const IssueNumber = Type.Integer({ minimum: 1, maximum: 2_000_000_000 });
const LocalTime = Type.String({
  pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$',
  maxLength: 5,
  description: 'local time of day in the checkpoint time zone, HH:MM (24 h)',
});
const LocalDate = Type.String({
  pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$',
  maxLength: 10,
  description: 'local date, YYYY-MM-DD',
});
const ActivityKey = Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,49}$', maxLength: 50 });
/** A role of the org's members; who the reminder is for. */
export const OwnerRole = Type.Enum(MEMBER_ROLES);
const TimeZone = Type.String({
  minLength: 1,
  maxLength: 64,
  pattern: '^[A-Za-z0-9_+/-]+$',
  description: 'IANA time zone name, e.g. Europe/Berlin (default UTC)',
});

const strict = { additionalProperties: false } as const;
export const RecurrenceSchema = Type.Union([
  Type.Object({ kind: Type.Literal('activity_done'), activity: ActivityKey }, strict),
  Type.Object({ kind: Type.Literal('daily'), at: LocalTime }, strict),
  Type.Object({ kind: Type.Literal('weekdays'), at: LocalTime }, strict),
  Type.Object(
    {
      kind: Type.Literal('every_n_days'),
      days: Type.Integer({ minimum: 1, maximum: 366 }),
      at: LocalTime,
      from: Type.Optional(LocalDate),
    },
    strict,
  ),
  Type.Object({ kind: Type.Literal('once'), date: LocalDate, at: LocalTime }, strict),
]);

export const CheckpointParams = Type.Object(
  { org: Slug, project: ProjectKey, number: IssueNumber, id: Uuid },
  strict,
);

export const CreateCheckpointBody = Type.Object(
  {
    title: Type.String({ minLength: 1, maxLength: 300 }),
    recurrence: RecurrenceSchema,
    ownerRole: Type.Optional(Type.Union([OwnerRole, Type.Null()])),
    timeZone: Type.Optional(TimeZone),
  },
  strict,
);

export const UpdateCheckpointBody = Type.Object(
  {
    title: Type.Optional(Type.String({ minLength: 1, maxLength: 300 })),
    recurrence: Type.Optional(RecurrenceSchema),
    ownerRole: Type.Optional(Type.Union([OwnerRole, Type.Null()])),
    timeZone: Type.Optional(TimeZone),
  },
  { ...strict, minProperties: 1 },
);

const Instant = Type.Union([Type.String({ format: 'date-time' }), Type.Null()]);
export const CheckpointOut = Type.Object({
  id: Uuid,
  title: Type.String(),
  recurrence: RecurrenceSchema,
  /** In words, e.g. "weekdays at 09:00 Europe/Berlin". */
  schedule: Type.String(),
  ownerRole: Type.Union([Type.String(), Type.Null()]),
  timeZone: Type.String(),
  state: Type.Union([
    Type.Literal('scheduled'),
    Type.Literal('due'),
    Type.Literal('waiting'),
    Type.Literal('done'),
  ]),
  nextDueAt: Instant,
  lastDueAt: Instant,
  lastCompletedAt: Instant,
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});
