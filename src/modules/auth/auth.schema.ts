import { Type } from 'typebox';
import { Email, Opaque, Slug, Uuid } from '../../http/schema.ts';

export const Password = Type.String({ minLength: 12, maxLength: 256 });

export const UserOut = Type.Object({
  id: Uuid,
  email: Type.String(),
  name: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
});

export const SignupBody = Type.Object(
  { email: Email, password: Password, name: Type.String({ minLength: 1, maxLength: 200 }) },
  { additionalProperties: false },
);
export const LoginBody = Type.Object(
  {
    email: Email,
    password: Type.String({ minLength: 1, maxLength: 256 }),
    org: Type.Optional(Slug),
  },
  { additionalProperties: false },
);
export const RefreshBody = Type.Object({ refreshToken: Opaque }, { additionalProperties: false });
export const SwitchOrgBody = Type.Object({ org: Slug }, { additionalProperties: false });

export const TokenPair = Type.Object({
  accessToken: Type.String(),
  refreshToken: Type.String(),
  expiresIn: Type.Integer(),
  tokenType: Type.Literal('Bearer'),
});

export const MeOut = Type.Object({
  user: UserOut,
  memberships: Type.Array(
    Type.Object({
      org: Type.Object({ id: Uuid, slug: Type.String(), name: Type.String() }),
      role: Type.String(),
    }),
  ),
  session: Type.Object({ id: Uuid, org: Type.Union([Uuid, Type.Null()]) }),
});
