import { Type } from 'typebox';
import { Slug, Uuid } from '../../http/schema.ts';

export const OrgName = Type.String({ minLength: 1, maxLength: 200 });
export const OrgParams = Type.Object({ org: Slug }, { additionalProperties: false });

export const OrgOut = Type.Object({
  id: Uuid,
  slug: Type.String(),
  name: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
  role: Type.String(),
});

export const CreateOrgBody = Type.Object(
  { name: OrgName, slug: Slug },
  { additionalProperties: false },
);
export const UpdateOrgBody = Type.Object({ name: OrgName }, { additionalProperties: false });
