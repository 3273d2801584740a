import { Type, type Static } from 'typebox';
import { BadInput } from '../errors.ts';
import { isUuid } from './tokens.ts';

export const PageQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  },
  { additionalProperties: false },
);
export type PageQuery = Static<typeof PageQuery>;

export function Page<T extends Parameters<typeof Type.Array>[0]>(item: T) {
  return Type.Object({
    items: Type.Array(item),
    nextCursor: Type.Union([Type.String(), Type.Null()]),
  });
}

/** Cursors are opaque to clients: base64url of the last key seen. */
export function encodeCursor(key: string): string {
  return Buffer.from(JSON.stringify({ k: key })).toString('base64url');
}

const CURSOR_KEYS = {
  uuid: isUuid,
  int: (k: string) => /^\d{1,19}$/.test(k),
  text: (k: string) => k.length >= 1 && k.length <= 200,
} as const;

/** The key a cursor carries, checked to be of the list's key type (never a database error). */
export function decodeCursor(
  cursor: string | undefined,
  kind: keyof typeof CURSOR_KEYS = 'uuid',
): string | undefined {
  if (cursor === undefined) return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { k?: unknown };
    if (typeof parsed.k === 'string' && CURSOR_KEYS[kind](parsed.k)) return parsed.k;
  } catch {
    // fall through
  }
  throw new BadInput('querystring/cursor is not a cursor this API issued', [
    { path: 'querystring/cursor', message: 'is not a valid cursor' },
  ]);
}

/** Fetch `limit + 1` rows, then call this to split off the next cursor. */
export function toPage<R, O>(
  rows: R[],
  limit: number,
  key: (row: R) => string,
  map: (row: R) => O,
) {
  const more = rows.length > limit;
  const items = more ? rows.slice(0, limit) : rows;
  const last = items[items.length - 1];
  return {
    items: items.map(map),
    nextCursor: more && last !== undefined ? encodeCursor(key(last)) : null,
  };
}
