import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { OrdTable } from './ord-table.ts';

const key = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 32);

describe('OrdTable', () => {
  it('answers every ord set, through growth, and nothing for keys never set', () => {
    const table = new OrdTable();
    const keys = Array.from({ length: 50_000 }, (_, i) => key(`test ${i}`));
    keys.forEach((k, i) => table.set(k, i * 3));
    expect(table.size).toBe(50_000);
    keys.forEach((k, i) => expect(table.get(k)).toBe(i * 3));
    for (let i = 0; i < 1000; i++) expect(table.has(key(`other ${i}`))).toBe(false);
  });

  it('replaces the ord of a key set again, keeping one entry', () => {
    const table = new OrdTable();
    const k = key('a');
    table.set(k, 1);
    table.set(k, 7);
    expect(table.get(k)).toBe(7);
    expect(table.size).toBe(1);
  });

  it('tells keys apart that share their first words (the probe start)', () => {
    const table = new OrdTable();
    const a = '0123456789abcdef0123456789abcdef';
    const b = '0123456789abcdef0123456789abcdee';
    const c = '0123456789abcdee0123456789abcdef';
    table.set(a, 1);
    table.set(b, 2);
    expect(table.get(a)).toBe(1);
    expect(table.get(b)).toBe(2);
    expect(table.get(c)).toBeUndefined();
    // Upper-case hex is the same key.
    expect(table.get(a.toUpperCase())).toBe(1);
  });

  it('finds nothing for strings that are not test keys, and refuses to store them', () => {
    const table = new OrdTable();
    table.set('00000000000000000000000000000010', 5);
    // '\u0010' and 'g' are not hex: never read as a digit.
    expect(table.get('0000000000000000000000000000001\u0010')).toBeUndefined();
    expect(table.get('0000000000000000000000000000001g')).toBeUndefined();
    expect(table.get('0000000000000000000000000000000')).toBeUndefined();
    expect(table.get('00000000000000000000000000000010')).toBe(5);
    expect(() => table.set('not a key', 1)).toThrow(/not a test key/);
    expect(() => table.set('0000000000000000000000000000001g', 1)).toThrow(/not a test key/);
    expect(() => table.set(key('x'), -1)).toThrow(/not an ord/);
  });
});
