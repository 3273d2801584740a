import { Type } from 'typebox';
import { Slug, Uuid } from '../../http/schema.ts';
import { PageQuery } from '../../lib/pagination.ts';

export const AuditParams = Type.Object({ org: Slug }, { additionalProperties: false });
export const AuditQuery = Type.Object(
  { ...PageQuery.properties, action: Type.Optional(Type.String({ maxLength: 100 })) },
  { additionalProperties: false },
);
export const AuditEventOut = Type.Object({
  id: Uuid,
  actorType: Type.String(),
  actorId: Uuid,
  action: Type.String(),
  targetType: Type.String(),
  targetId: Type.Union([Type.String(), Type.Null()]),
  data: Type.Record(Type.String(), Type.Unknown()),
  requestId: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
});
