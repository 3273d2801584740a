import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import {
  boolArray,
  byteaArray,
  hexByteaArray,
  float8Array,
  int4Array,
  textArray,
} from '../../src/db/binary-array.ts';

// The arrays are read by PostgreSQL itself (array_recv): what it answers back is what it read.
let client: pg.Client;
beforeAll(async () => {
  client = new pg.Client({ connectionString: inject('adminUrl') });
  await client.connect();
});
afterAll(() => client.end());

const roundTrip = async (param: Buffer, type: string) =>
  (await client.query(`SELECT $1::${type} AS v, cardinality($1::${type}) AS n`, [param])).rows[0];

describe('binary array parameters', () => {
  it('are read by PostgreSQL as the text arrays they encode, NULLs and any Unicode included', async () => {
    const values = [
      'handles request 7',
      '',
      null,
      'quote " comma , brace } backslash \\',
      'ünïcødé 测试 🚀',
    ];
    const { v, n } = await roundTrip(textArray(values), 'text[]');
    expect(v).toEqual(values);
    expect(n).toBe(5);
  });

  it('carry bytes as they are in bytea arrays, zero bytes included', async () => {
    const values = [Buffer.from([0, 1, 2, 255]), Buffer.alloc(0), null, Buffer.alloc(1024, 0xab)];
    const { v } = await roundTrip(byteaArray(values), 'bytea[]');
    expect(v).toEqual(values);
  });

  it('carry hex strings as their bytes in bytea arrays, and refuse what is not hex', async () => {
    const values = ['00ff10ab', '', null, 'AbCdEf'];
    const { v } = await roundTrip(hexByteaArray(values), 'bytea[]');
    expect(v).toEqual([
      Buffer.from([0, 255, 16, 171]),
      Buffer.alloc(0),
      null,
      Buffer.from([171, 205, 239]),
    ]);
    expect(() => hexByteaArray(['0g'])).toThrow(/not hex/);
    expect(() => hexByteaArray(['abc'])).toThrow(/not hex/);
  });

  it('carry integers, doubles and booleans exactly', async () => {
    const ints = [0, -1, 2_147_483_647, -2_147_483_648, null];
    expect((await roundTrip(int4Array(ints), 'int[]')).v).toEqual(ints);
    const doubles = [0, 0.001, 1234.5678, -3.25, 1e300, null];
    expect((await roundTrip(float8Array(doubles), 'float8[]')).v).toEqual(doubles);
    const bools = [true, false, null, true];
    expect((await roundTrip(boolArray(bools), 'bool[]')).v).toEqual(bools);
  });

  it('send an empty array as one, unnested to no rows', async () => {
    expect((await roundTrip(textArray([]), 'text[]')).v).toEqual([]);
    const { rows } = await client.query('SELECT count(*)::int AS n FROM unnest($1::int[])', [
      int4Array([]),
    ]);
    expect(rows[0].n).toBe(0);
  });

  it('are refused when cast to another element type, never misread', async () => {
    await expect(roundTrip(int4Array([1, 2]), 'text[]')).rejects.toThrow(
      /element type 23 \(integer\) instead of expected 25 \(text\)/,
    );
  });

  it('unnest side by side in step, as the upload statements read them', async () => {
    const { rows } = await client.query(
      'SELECT u.* FROM unnest($1::int[], $2::text[], $3::bytea[]) WITH ORDINALITY AS u(ord, name, key, i)',
      [int4Array([5, 6]), textArray(['a', 'b']), byteaArray([Buffer.from('x'), Buffer.from('y')])],
    );
    expect(rows).toEqual([
      { ord: 5, name: 'a', key: Buffer.from('x'), i: '1' },
      { ord: 6, name: 'b', key: Buffer.from('y'), i: '2' },
    ]);
  });
});
