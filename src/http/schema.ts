import { Type } from 'typebox';

// Schema primitives shared by every module's request and response schemas.

export const Slug = Type.String({
  pattern: '^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$',
  minLength: 1,
  maxLength: 63,
});
export const Uuid = Type.String({ format: 'uuid', maxLength: 36 });
export const Email = Type.String({ format: 'email', minLength: 3, maxLength: 254 });
/** An opaque secret handed back by the client (refresh token, invitation token). */
export const Opaque = Type.String({ minLength: 1, maxLength: 200 });

/**
 * Error answers a route gives beyond the ones /openapi.json derives from what it is (see
 * src/http/openapi.ts), spread into its `response`: `{ 200: Out, ...problems(429) }`.
 */
export function problems(...statuses: number[]): Record<number, { $ref: 'Problem#' }> {
  return Object.fromEntries(statuses.map((s) => [s, { $ref: 'Problem#' as const }]));
}
