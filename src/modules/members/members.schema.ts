import { Type } from 'typebox';
import { MEMBER_ROLES } from '../../domain/permissions.ts';
import { Slug, Uuid } from '../../http/schema.ts';

export const MemberRole = Type.Union(MEMBER_ROLES.map((r) => Type.Literal(r)));
export const MemberParams = Type.Object(
  { org: Slug, userId: Uuid },
  { additionalProperties: false },
);
export const UpdateMemberBody = Type.Object({ role: MemberRole }, { additionalProperties: false });
export const MemberOut = Type.Object({
  userId: Uuid,
  email: Type.String(),
  name: Type.String(),
  role: Type.String(),
  joinedAt: Type.String({ format: 'date-time' }),
});
