import { Type } from 'typebox';
import { Uuid } from '../../http/schema.ts';
import { CHANNELS } from './communications.queries.ts';

export const RecordCommunicationBody = Type.Object(
  {
    channel: Type.Enum(CHANNELS),
    externalId: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 200,
        description: "the notification's id where it was made (e.g. a GitHub comment id)",
      }),
    ),
    audience: Type.String({ minLength: 1, maxLength: 300, description: 'who was told' }),
    summary: Type.String({ minLength: 1, maxLength: 2000, description: 'what they were told' }),
    status: Type.Optional(Type.String({ minLength: 1, maxLength: 50 })),
    at: Type.Optional(
      Type.String({ format: 'date-time', description: 'when it was made (default now)' }),
    ),
  },
  { additionalProperties: false },
);

export const CommunicationOut = Type.Object({
  id: Uuid,
  channel: Type.String(),
  externalId: Type.Union([Type.String(), Type.Null()]),
  audience: Type.String(),
  summary: Type.String(),
  status: Type.Union([Type.String(), Type.Null()]),
  /** What it was about, e.g. { type: 'checkpoint', id }. */
  ref: Type.Union([Type.Object({ type: Type.String(), id: Type.String() }), Type.Null()]),
  /** A user id, `token:<id>`, or `system`. */
  recordedBy: Type.String(),
  at: Type.String({ format: 'date-time' }),
});
