import { RE2JS, RE2JSSyntaxException } from 're2js';

/** A pattern compiled by RE2 (re2js): matching time is linear in the input, whatever the pattern. */
export interface LinearRegex {
  readonly source: string;
  test(input: string): boolean;
}

/**
 * RE2's time is linear in the input times the compiled program's size, and counted
 * repetition multiplies the program: `((a|b)+){1000}$` is 15 characters, 6,003
 * instructions and 1.5 s per 4 KB field. Measured here: patterns of up to 1,000
 * instructions averaged about 1 ms per 4 KB field (20 ms for the worst single input, under
 * 100 ms for a cold first match).
 */
export const MAX_PROGRAM_SIZE = 1000;

const LOOKAROUND: [string, string][] = [
  ['(?<=', 'lookbehind'],
  ['(?<!', 'negative lookbehind'],
  ['(?=', 'lookahead'],
  ['(?!', 'negative lookahead'],
];

/**
 * The backtracking-only constructs in a pattern (backreferences, lookaround), described
 * for the person who wrote it. RE2 would refuse them too, but with "invalid escape
 * sequence" or "invalid named capture"; this names what the pattern meant.
 */
export function unsupportedSyntax(pattern: string): string[] {
  const found = new Set<string>();
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') {
      const next = pattern[i + 1] ?? '';
      if (next === 'Q') {
        // \Q…\E is literal text in RE2.
        const end = pattern.indexOf('\\E', i + 2);
        i = end === -1 ? pattern.length : end + 1;
        continue;
      }
      if (!inClass && /[1-9]/.test(next)) {
        const digits = /^[0-9]+/.exec(pattern.slice(i + 1))![0];
        found.add(`backreference \\${digits} is not supported (RE2 syntax)`);
        i += digits.length;
        continue;
      }
      if (!inClass && next === 'k' && pattern[i + 2] === '<') {
        const end = pattern.indexOf('>', i + 3);
        const ref = end === -1 ? '\\k<' : pattern.slice(i, end + 1);
        found.add(`named backreference ${ref} is not supported (RE2 syntax)`);
      }
      i++;
      continue;
    }
    if (inClass) {
      if (c === '[' && pattern[i + 1] === ':') {
        // [[:alpha:]]: the inner ] does not close the class.
        const end = pattern.indexOf(':]', i + 2);
        if (end !== -1) i = end + 1;
      } else if (c === ']') inClass = false;
      continue;
    }
    if (c === '[') {
      inClass = true;
      // A ] right after [ or [^ is a literal member, not the end.
      if (pattern[i + 1] === '^') i++;
      if (pattern[i + 1] === ']') i++;
      continue;
    }
    if (c === '(' && pattern.startsWith('(?P=', i)) {
      const end = pattern.indexOf(')', i);
      const ref = end === -1 ? '(?P=' : pattern.slice(i, end + 1);
      found.add(`named backreference ${ref} is not supported (RE2 syntax)`);
    } else if (c === '(') {
      const look = LOOKAROUND.find(([open]) => pattern.startsWith(open, i));
      if (look !== undefined) found.add(`${look[1]} ${look[0]} is not supported (RE2 syntax)`);
    }
  }
  return [...found];
}

const quoted = (pattern: string) =>
  `\`${pattern.length > 80 ? `${pattern.slice(0, 80)}…` : pattern}\``;

function compile(pattern: string): LinearRegex | string {
  const unsupported = unsupportedSyntax(pattern);
  if (unsupported.length > 0) return `${unsupported.join('; ')}: ${quoted(pattern)}`;
  let re: RE2JS;
  try {
    re = RE2JS.compile(pattern);
  } catch (err) {
    const reason =
      err instanceof RE2JSSyntaxException
        ? `${err.getDescription()}${err.getPattern() === null ? '' : `: \`${err.getPattern()}\``}`
        : (err as Error).message;
    return `is not a valid regular expression (RE2 syntax): ${reason}`;
  }
  const size = re.programSize();
  if (size > MAX_PROGRAM_SIZE)
    return `is too complex: it compiles to ${size} instructions, more than ${MAX_PROGRAM_SIZE} (counted repetitions such as {100} multiply); simplify it`;
  return { source: pattern, test: (input) => re.test(input) };
}

/**
 * Enough for one configuration at its largest (100 categories × 5 fields). A compiled
 * pattern keeps its lazily built DFA, so uploads after the first match at full speed.
 */
const CACHE_SIZE = 512;
const cache = new Map<string, LinearRegex | string>();

/**
 * Compiles `pattern` with RE2 semantics (`(?i)` and other inline flags work natively),
 * or says why not: unsupported syntax, invalid syntax or too large a program. Results
 * are cached by pattern (least recently used out first).
 */
export function compileLinear(pattern: string): LinearRegex | string {
  let compiled = cache.get(pattern);
  if (compiled !== undefined) {
    cache.delete(pattern);
  } else {
    compiled = compile(pattern);
    if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value!);
  }
  cache.set(pattern, compiled);
  return compiled;
}
