import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createJUnitParser } from '../modules/runs/junit-parser.ts';
import {
  compareWithBaseline,
  createCategorizer,
  findFlaky,
  normalizeMessage,
  signatureOf,
  triage,
  type Failure,
} from './triage.ts';

const corpus = path.resolve(import.meta.dirname, '../../../shared/junit-corpus/files');

function failuresIn(file: string): Failure[] {
  const out: Failure[] = [];
  const p = createJUnitParser(file, (tc) => {
    if (tc.status === 'failed' || tc.status === 'error') {
      out.push({
        id: String(out.length),
        testKey: `${tc.classname}.${tc.name}`,
        classname: tc.classname,
        name: tc.name,
        type: tc.failureType,
        message: tc.failureMessage,
        text: tc.failureText,
      });
    }
  });
  p.write(fs.readFileSync(path.join(corpus, file), 'utf8'));
  p.close();
  return out;
}

describe('signature masking on real failure messages from the corpus', () => {
  it('masks the values that vary between occurrences', () => {
    expect(normalizeMessage('expected:<99> but was:<98>')).toBe('expected:<val> but was:<val>');
    expect(normalizeMessage('Always fails assertion ==> expected: <1> but was: <2>')).toBe(
      'Always fails assertion ==> expected: <val> but was: <val>',
    );
    expect(normalizeMessage('expected [1.2.1] but found [1.2.0]')).toBe(
      'expected [<n>] but found [<n>]',
    );
    expect(normalizeMessage('\nExpected: <100.10>\n     but: was <100.11>')).toBe(
      'Expected: <val> but: was <val>',
    );
    expect(normalizeMessage('Expected 2 Was 0')).toBe('Expected <n> Was <n>');
    expect(normalizeMessage('exited with error code 1')).toBe('exited with error code <n>');
  });

  it('masks ids, UUIDs, timestamps, quoted values, paths and line numbers', () => {
    expect(
      normalizeMessage(
        'tenant 3f2a9c1e-4b5d-4e6f-8a9b-0c1d2e3f4a5b not found at 2025-08-12T10:15:30.123Z',
      ),
    ).toBe('tenant <uuid> not found at <time>');
    expect(normalizeMessage('object 0x7ffd5e8c and commit deadbeef1234 failed')).toBe(
      'object <hex> and commit <hex> failed',
    );
    expect(normalizeMessage(`key "org-42" missing in '/srv/app/config/tenants.yml'`)).toBe(
      'key <str> missing in <str>',
    );
    expect(
      normalizeMessage('at /home/ci/work/src/db/pool.ts:118:7 ECONNREFUSED 127.0.0.1:5432'),
    ).toBe('at <path>:<n> ECONNREFUSED <n>:<n>');
  });

  it('gives the same signature to failures that differ only in such values, across corpus files', () => {
    const files = fs
      .readdirSync(corpus, { recursive: true })
      .map(String)
      .filter((f) => f.endsWith('.xml'));
    let failures = 0;
    for (const file of files) {
      let all: Failure[];
      try {
        all = failuresIn(file);
      } catch {
        continue; // the invalid files
      }
      failures += all.length;
      for (const f of all) expect(signatureOf(f).length).toBeLessThanOrEqual(500);
    }
    expect(failures).toBeGreaterThan(100);
    const a = signatureOf({
      type: 'AssertionError',
      message: 'expected:<99> but was:<98>',
      text: null,
    });
    const b = signatureOf({
      type: 'AssertionError',
      message: 'expected:<3> but was:<4>',
      text: null,
    });
    expect(a).toBe(b);
    expect(
      signatureOf({
        type: null,
        message: '',
        text: '\n  java.lang.NullPointerException at Foo.java:12\n more',
      }),
    ).toBe('java.lang.NullPointerException at Foo.java:<n>');
  });
});

describe('triage', () => {
  const categorize = createCategorizer({
    categories: [
      { name: 'jwt', match: { message: '(?i)jwt|token (structure|claim)' } },
      { name: 'database', match: { message: '(?i)ECONNREFUSED|connection (pool|terminated)' } },
      { name: 'security-db', match: { classname: '(?i)security', message: 'ECONNREFUSED' } },
    ],
  });
  const f = (id: number, classname: string, message: string): Failure => ({
    id: String(id),
    testKey: `k${id}`,
    classname,
    name: `t${id}`,
    type: 'Error',
    message,
    text: null,
  });

  it('groups by first matching category, then by signature; uncategorized last', () => {
    const groups = triage(
      [
        f(1, 'AuthTest', 'JWT token structure invalid: missing claim "org" at offset 17'),
        f(2, 'AuthTest', 'JWT token structure invalid: missing claim "role" at offset 9'),
        f(3, 'DbTest', 'connect ECONNREFUSED 127.0.0.1:5432'),
        f(4, 'SecurityTest', 'connect ECONNREFUSED 127.0.0.1:6543'),
        f(5, 'UiTest', 'expected:<1> but was:<2>'),
      ],
      categorize,
    );
    expect(groups.map((g) => [g.category, g.count])).toEqual([
      ['jwt', 2],
      ['database', 2],
      [null, 1],
    ]);
    expect(groups[0]!.clusters).toEqual([
      {
        signature: 'Error: JWT token structure invalid: missing claim <str> at offset <n>',
        count: 2,
        samples: [expect.objectContaining({ id: '1' }), expect.objectContaining({ id: '2' })],
      },
    ]);
    expect(groups[1]!.clusters).toHaveLength(1);
  });

  it('requires every given field of a category to match', () => {
    const only = createCategorizer({
      categories: [
        { name: 'security-db', match: { classname: '(?i)security', message: 'ECONNREFUSED' } },
      ],
    });
    expect(only(f(1, 'SecurityTest', 'ECONNREFUSED'))).toBe('security-db');
    expect(only(f(2, 'DbTest', 'ECONNREFUSED'))).toBeNull();
  });

  it('categorizes 10,000-character messages with backtracking-prone patterns at once', () => {
    const hostile = createCategorizer({
      categories: [
        { name: 'alt', match: { message: '(a|aa)+$' } },
        { name: 'dup', match: { message: '(a|a)+$' } },
        { name: 'stars', match: { message: '.*.*.*.*x' } },
      ],
    });
    // 10,000 characters; the backtracking happens within the first 4,096 that are read.
    const message = `${'a'.repeat(4_000)}!${'b'.repeat(5_999)}`;
    const started = performance.now();
    for (let i = 0; i < 100; i++) expect(hostile(f(i, 'T', message))).toBeNull();
    // A backtracking engine would not finish the first; RE2 takes milliseconds for all.
    expect(performance.now() - started).toBeLessThan(5000);
    expect(hostile(f(1, 'T', 'xaaaa'))).toBe('alt');
    expect(hostile(f(2, 'T', 'abcx!'))).toBe('stars');
    // Matching reads the first MATCH_INPUT_LIMIT (4,096) characters only.
    expect(hostile(f(3, 'T', `${message}x`))).toBeNull();
  });

  it('matches case-insensitively across scripts with (?i)', () => {
    const byScript = createCategorizer({
      categories: [{ name: 'de', match: { message: '(?i)ärger|straße' } }],
    });
    expect(byScript(f(1, 'T', 'ÄRGER mit dem Server'))).toBe('de');
    expect(byScript(f(2, 'T', 'STRAßE'))).toBe('de');
  });

  it('refuses to build from a pattern RE2 cannot run, rather than skip its category', () => {
    expect(() =>
      createCategorizer({ categories: [{ name: 'old', match: { message: '(a)\\1' } }] }),
    ).toThrow('category old: message backreference \\1 is not supported (RE2 syntax)');
  });
});

describe('flaky and regression detection', () => {
  it('finds tests that passed and failed on one commit across attempts, and rerun-marked ones', () => {
    const flaky = findFlaky([
      { testKey: 'a', runId: 'attempt1', status: 'failed', flakyMarker: false },
      { testKey: 'a', runId: 'attempt2', status: 'passed', flakyMarker: false },
      { testKey: 'b', runId: 'attempt1', status: 'failed', flakyMarker: false },
      { testKey: 'b', runId: 'attempt2', status: 'failed', flakyMarker: false },
      { testKey: 'c', runId: 'attempt2', status: 'passed', flakyMarker: true },
      { testKey: 'd', runId: 'attempt1', status: 'passed', flakyMarker: false },
    ]);
    expect(flaky).toEqual([
      { testKey: 'a', reason: 'same_commit', passedIn: ['attempt2'], failedIn: ['attempt1'] },
      { testKey: 'c', reason: 'rerun', passedIn: ['attempt2'], failedIn: ['attempt2'] },
    ]);
  });

  it('splits failures into new ones and ones still failing since the baseline', () => {
    const baseline = new Map([
      ['a', 'passed'],
      ['b', 'failed'],
      ['c', 'error'],
    ]);
    expect(compareWithBaseline(['a', 'b', 'c', 'new-test'], baseline)).toEqual({
      newFailures: ['a'],
      stillFailing: ['b', 'c'],
    });
  });
});
