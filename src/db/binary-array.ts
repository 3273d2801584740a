/**
 * One-dimensional PostgreSQL arrays in the binary wire format, for the large array
 * parameters of the upload's statements (a batch's test keys and names, its blocks).
 *
 * node-postgres sends a Buffer parameter in the binary format and every other value as
 * text; a JavaScript array goes as an array literal (`{"\\x0a1b…","handles request 7",…}`)
 * that PostgreSQL scans character by character for quotes and escapes, with bytea doubled
 * in size as hex. The same values as a Buffer in array_recv's format are read by length.
 * Measured on PostgreSQL 15 (5,000 tests registered: a bytea and three text arrays, 15
 * runs): the statement took 68.6 ms as text, 47.4 ms as binary (medians); the arrays alone
 * (unnested and counted) 29.6 and 11.7 ms.
 *
 * The parameter must be cast to the array's type in the statement (`$1::text[]`):
 * PostgreSQL reads a binary parameter with the receive function of the type it infers,
 * and array_recv refuses data whose element type is another one.
 *
 * Format (array_send in PostgreSQL's arrayfuncs.c): int32 dimensions (1, or 0 when empty),
 * int32 has-nulls flag, element type oid, then per dimension its length and lower bound
 * (1); then each element as an int32 length (-1 for NULL) and its binary form, all
 * big-endian.
 */

/** How an element type is written: its oid, and each value's length and binary form. */
interface Element<T> {
  oid: number;
  length(v: T): number;
  put(out: Buffer, at: number, v: T): void;
}

function encode<T>(type: Element<T>, values: readonly (T | null)[]): Buffer {
  if (values.length === 0) {
    const empty = Buffer.alloc(12);
    empty.writeUInt32BE(type.oid, 8);
    return empty;
  }
  const lengths = values.map((v) => (v === null ? -1 : type.length(v)));
  let size = 20;
  for (const n of lengths) size += 4 + Math.max(n, 0);
  const out = Buffer.allocUnsafe(size);
  out.writeInt32BE(1, 0);
  out.writeInt32BE(lengths.includes(-1) ? 1 : 0, 4);
  out.writeUInt32BE(type.oid, 8);
  out.writeInt32BE(values.length, 12);
  out.writeInt32BE(1, 16);
  let at = 20;
  values.forEach((v, i) => {
    const n = lengths[i]!;
    out.writeInt32BE(n, at);
    at += 4;
    if (v === null) return;
    type.put(out, at, v);
    at += n;
  });
  return out;
}

const fixed = <T>(oid: number, n: number, put: (out: Buffer, at: number, v: T) => void) => ({
  oid,
  length: () => n,
  put,
});

const TEXT: Element<string> = {
  oid: 25,
  length: (v) => Buffer.byteLength(v, 'utf8'),
  put: (out, at, v) => void out.write(v, at, 'utf8'),
};
const BYTEA: Element<Buffer> = {
  oid: 17,
  length: (v) => v.length,
  put: (out, at, v) => void v.copy(out, at),
};
const INT4 = fixed<number>(23, 4, (out, at, v) => void out.writeInt32BE(v, at));
const FLOAT8 = fixed<number>(701, 8, (out, at, v) => void out.writeDoubleBE(v, at));
const BOOL = fixed<boolean>(16, 1, (out, at, v) => void out.writeUInt8(v ? 1 : 0, at));

/** A text[] parameter (cast it: `::text[]`). The connection's client encoding is UTF-8. */
export const textArray = (values: readonly (string | null)[]): Buffer => encode(TEXT, values);

/** A bytea[] parameter (cast it: `::bytea[]`). */
export const byteaArray = (values: readonly (Buffer | null)[]): Buffer => encode(BYTEA, values);

const HEX_BYTEA: Element<string> = {
  oid: 17,
  length: (v) => {
    if (v.length % 2 !== 0) throw new Error(`not hex: ${v}`);
    return v.length / 2;
  },
  put: (out, at, v) => {
    // Buffer#write stops at the first character that is not hex.
    if (out.write(v, at, v.length / 2, 'hex') !== v.length / 2) throw new Error(`not hex: ${v}`);
  },
};

/**
 * A bytea[] parameter from hex strings (cast it: `::bytea[]`): written straight into the
 * array, without a Buffer per value.
 */
export const hexByteaArray = (values: readonly (string | null)[]): Buffer =>
  encode(HEX_BYTEA, values);

/** An int4[] parameter (cast it: `::int[]`); each value must be a 32-bit integer. */
export const int4Array = (values: readonly (number | null)[]): Buffer => encode(INT4, values);

/** A float8[] parameter (cast it: `::float8[]`). */
export const float8Array = (values: readonly (number | null)[]): Buffer => encode(FLOAT8, values);

/** A bool[] parameter (cast it: `::bool[]`). */
export const boolArray = (values: readonly (boolean | null)[]): Buffer => encode(BOOL, values);
