import { Type } from 'typebox';
import { ROLES } from '../../domain/permissions.ts';
import { Slug, Uuid } from '../../http/schema.ts';

export const TokenRole = Type.Union(ROLES.map((r) => Type.Literal(r)));
export const CreateApiTokenBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    role: Type.Optional(TokenRole),
    expiresAt: Type.Optional(Type.String({ format: 'date-time', maxLength: 40 })),
  },
  { additionalProperties: false },
);
export const ApiTokenParams = Type.Object({ org: Slug, id: Uuid }, { additionalProperties: false });
export const ApiTokenOut = Type.Object({
  id: Uuid,
  name: Type.String(),
  role: Type.String(),
  createdBy: Uuid,
  createdAt: Type.String({ format: 'date-time' }),
  expiresAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  lastUsedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  revokedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});
export const CreatedApiTokenOut = Type.Object({
  ...ApiTokenOut.properties,
  token: Type.String({ description: 'Shown once; store it as a CI secret' }),
});

export const CurrentTokenOut = Type.Object({
  id: Uuid,
  name: Type.String(),
  role: Type.String(),
  org: Type.Object({ id: Uuid, slug: Type.String(), name: Type.String() }),
});
