import { Type } from 'typebox';
import { Email, Opaque, Slug, Uuid } from '../../http/schema.ts';
import { MemberRole } from '../members/members.schema.ts';

export const CreateInvitationBody = Type.Object(
  {
    email: Email,
    role: MemberRole,
    expiresInDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 30 })),
  },
  { additionalProperties: false },
);
export const InvitationParams = Type.Object(
  { org: Slug, id: Uuid },
  { additionalProperties: false },
);
export const AcceptInvitationBody = Type.Object({ token: Opaque }, { additionalProperties: false });

export const InvitationOut = Type.Object({
  id: Uuid,
  email: Type.String(),
  role: Type.String(),
  invitedBy: Uuid,
  createdAt: Type.String({ format: 'date-time' }),
  expiresAt: Type.String({ format: 'date-time' }),
  state: Type.Union([
    Type.Literal('pending'),
    Type.Literal('accepted'),
    Type.Literal('revoked'),
    Type.Literal('expired'),
  ]),
});
export const CreatedInvitationOut = Type.Object({
  ...InvitationOut.properties,
  token: Type.String({ description: 'Shown once; send it to the invitee' }),
});
export const AcceptedOut = Type.Object({
  org: Type.Object({ id: Uuid, slug: Type.String(), name: Type.String() }),
  role: Type.String(),
});
