import { Type } from 'typebox';
import { Uuid } from '../../http/schema.ts';

/**
 * What a note records: a lesson learned, a decision, a process improvement, the
 * coordinator's status or priority statement (the report's closing lines), or other.
 */
export const NOTE_KINDS = ['lesson', 'decision', 'process', 'status', 'priority', 'other'] as const;
const NoteKind = Type.Enum(NOTE_KINDS);

export const CreateNoteBody = Type.Object(
  {
    kind: NoteKind,
    text: Type.String({ minLength: 1, maxLength: 10_000 }),
    author: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 200,
        description: "who wrote it; the signed-in user's name when left out",
      }),
    ),
  },
  { additionalProperties: false },
);

export const ListNotesQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    kind: Type.Optional(NoteKind),
  },
  { additionalProperties: false },
);

export const NoteOut = Type.Object({
  id: Uuid,
  kind: Type.String(),
  text: Type.String(),
  author: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
});
