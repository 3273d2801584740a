import { Type } from 'typebox';

export const StreamQuery = Type.Object(
  {
    ticket: Type.Optional(
      Type.String({
        maxLength: 200,
        description:
          'A one-time ticket from POST .../events/ticket, for clients that cannot send headers',
      }),
    ),
  },
  { additionalProperties: false },
);

export const TicketOut = Type.Object({
  ticket: Type.String({ description: 'Opens one stream, once, within expiresIn seconds' }),
  expiresIn: Type.Integer(),
});
