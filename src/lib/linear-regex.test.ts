import { describe, expect, it } from 'vitest';
import { compileLinear, MAX_PROGRAM_SIZE, unsupportedSyntax } from './linear-regex.ts';

const compiled = (pattern: string) => {
  const re = compileLinear(pattern);
  if (typeof re === 'string') throw new Error(`${pattern} ${re}`);
  return re;
};

/** The fastest of a few runs, in milliseconds: the least disturbed by the other processes. */
function fastest(fn: () => void): number {
  let best = Infinity;
  for (let i = 0; i < 5; i++) {
    const started = performance.now();
    fn();
    best = Math.min(best, performance.now() - started);
  }
  return best;
}

describe('linear-time matching', () => {
  // Each of these took seconds on a 39-character message with JavaScript's RegExp.
  it.each([
    ['(a|aa)+$', 'a'],
    ['(a|a)+$', 'a'],
    ['.*.*.*.*x', 'a'],
    ['(a+)+$', 'a'],
    ['^(\\w+\\s?)*$', 'word '],
  ])('matches %s against a 10,000-character message in time linear in its length', (p, unit) => {
    const re = compiled(p);
    const message = (n: number) => `${unit.repeat(Math.ceil(n / unit.length)).slice(0, n)}!`;
    const small = message(10_000);
    const large = message(100_000);
    expect(re.test(small)).toBe(false);
    const tSmall = fastest(() => re.test(small));
    const tLarge = fastest(() => re.test(large));
    // Ten times the input: about ten times the time (a backtracking engine never returns).
    expect(tLarge).toBeLessThan(tSmall * 30 + 20);
  });

  it('still finds what the hostile patterns describe', () => {
    expect(compiled('(a|aa)+$').test('xaaaa')).toBe(true);
    expect(compiled('.*.*.*.*x').test('abcx')).toBe(true);
  });
});

describe('RE2 syntax', () => {
  it('names backreferences and lookaround, which RE2 does not support', () => {
    expect(unsupportedSyntax('(a)\\1')).toEqual([
      'backreference \\1 is not supported (RE2 syntax)',
    ]);
    expect(unsupportedSyntax('(?<n>a)\\k<n>|(?P<m>b)(?P=m)')).toEqual([
      'named backreference \\k<n> is not supported (RE2 syntax)',
      'named backreference (?P=m) is not supported (RE2 syntax)',
    ]);
    expect(unsupportedSyntax('(?=a)(?!b)(?<=c)(?<!d)')).toEqual([
      'lookahead (?= is not supported (RE2 syntax)',
      'negative lookahead (?! is not supported (RE2 syntax)',
      'lookbehind (?<= is not supported (RE2 syntax)',
      'negative lookbehind (?<! is not supported (RE2 syntax)',
    ]);
    expect(compileLinear('x(?=y)')).toBe('lookahead (?= is not supported (RE2 syntax): `x(?=y)`');
  });

  it('does not mistake escapes, classes or quoted text for them', () => {
    for (const p of [
      '\\\\1',
      '\\(?=',
      '[(?=]',
      '[]](?:a)',
      '[[:alpha:]]+',
      '\\Q(?=\\1\\E',
      '(?i)a',
    ])
      expect(unsupportedSyntax(p), p).toEqual([]);
    expect(unsupportedSyntax('[[:alpha:]](?=a)')).toHaveLength(1);
  });

  it('explains invalid patterns in RE2 terms', () => {
    expect(compileLinear('([')).toBe(
      'is not a valid regular expression (RE2 syntax): missing closing ]: `[`',
    );
    expect(compileLinear('a++')).toMatch(/invalid nested repetition operator/);
  });

  it('refuses a pattern whose counted repetitions make too large a program', () => {
    expect(compileLinear('((a|b)+){1000}$')).toBe(
      `is too complex: it compiles to 6003 instructions, more than ${MAX_PROGRAM_SIZE} (counted repetitions such as {100} multiply); simplify it`,
    );
    expect(typeof compileLinear('[a-z]{900}')).toBe('object');
  });

  it('matches case-insensitively with (?i) and by code point, as the u flag did', () => {
    expect(compiled('(?i)ärger|σ').test('ÄRGER im Büro')).toBe(true);
    expect(compiled('(?i)σ').test('ς')).toBe(true);
    expect(compiled('ärger').test('ÄRGER')).toBe(false);
    expect(compiled('^.$').test('😀')).toBe(true);
    expect(compiled('\\p{Greek}+').test('λόγος')).toBe(true);
  });

  it('compiles each pattern once', () => {
    expect(compileLinear('(?i)timed? ?out')).toBe(compileLinear('(?i)timed? ?out'));
  });
});
