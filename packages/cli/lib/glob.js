// @ts-check
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import process from 'node:process';

/**
 * The files that shell-style patterns name: `*` and `?` within a name, `[abc]`, `{a,b}`,
 * and `**` for any number of folders. Names that start with a dot match only a pattern
 * part that starts with one. Written here because Node 20 has no `fs.glob` and the
 * uploader depends on nothing but Node.
 * @param {string[]} patterns
 * @param {string} [cwd] the folder relative patterns start from
 * @returns {Promise<string[]>} paths as the patterns spell them (relative stays relative)
 */
export async function glob(patterns, cwd = process.cwd()) {
  /** @type {Set<string>} */
  const found = new Set();
  for (const pattern of patterns.flatMap(expandBraces)) {
    const slashed = path.sep === '\\' ? pattern.replaceAll('\\', '/') : pattern;
    const parts = slashed.split('/');
    let literal = 0;
    while (literal < parts.length - 1 && !isMagic(/** @type {string} */ (parts[literal])))
      literal++;
    const base = parts.slice(0, literal).join('/') || (slashed.startsWith('/') ? '/' : '.');
    const rest = parts.slice(literal).filter((p) => p !== '' && p !== '.');
    await walk(path.resolve(cwd, base), base, rest, found);
  }
  return [...found];
}

/**
 * @param {string} dir where to look, resolved
 * @param {string} shown the same folder as the pattern spells it
 * @param {string[]} rest the pattern's parts still to match
 * @param {Set<string>} found
 * @returns {Promise<void>}
 */
async function walk(dir, shown, rest, found) {
  const [head, ...tail] = rest;
  if (head === undefined) return;
  if (head === '**') {
    // A trailing ** means every file below.
    const after = tail.length === 0 ? ['*'] : tail;
    await walk(dir, shown, after, found);
    for (const entry of await entries(dir))
      if (!entry.name.startsWith('.') && (await isDirectory(dir, entry)))
        await walk(path.join(dir, entry.name), path.join(shown, entry.name), rest, found);
    return;
  }
  if (!isMagic(head)) {
    const next = path.join(dir, head);
    if (tail.length > 0) await walk(next, path.join(shown, head), tail, found);
    else if ((await stat(next).catch(() => null))?.isFile() === true)
      found.add(path.join(shown, head));
    return;
  }
  const matches = segmentRegExp(head);
  for (const entry of await entries(dir)) {
    if (entry.name.startsWith('.') && !head.startsWith('.')) continue;
    if (!matches.test(entry.name)) continue;
    const next = path.join(dir, entry.name);
    if (tail.length > 0) {
      if (await isDirectory(dir, entry))
        await walk(next, path.join(shown, entry.name), tail, found);
    } else if (
      entry.isFile() ||
      (entry.isSymbolicLink() && (await stat(next).catch(() => null))?.isFile() === true)
    ) {
      found.add(path.join(shown, entry.name));
    }
  }
}

/** @param {string} dir */
async function entries(dir) {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch {
    return []; // missing, not a folder, or unreadable: nothing matches there
  }
}

/**
 * Folders, and links to folders outside a `**` walk's own descent.
 * @param {string} dir
 * @param {import('node:fs').Dirent} entry
 */
async function isDirectory(dir, entry) {
  if (entry.isDirectory()) return true;
  if (!entry.isSymbolicLink()) return false;
  return (await stat(path.join(dir, entry.name)).catch(() => null))?.isDirectory() === true;
}

/** @param {string} part */
const isMagic = (part) => /[*?[{]/.test(part);

/**
 * One path part as an anchored regular expression.
 * @param {string} part
 */
export function segmentRegExp(part) {
  let source = '';
  for (let i = 0; i < part.length; i++) {
    const c = /** @type {string} */ (part[i]);
    if (c === '*') source += '[^/]*';
    else if (c === '?') source += '[^/]';
    else if (c === '[') {
      const end = part.indexOf(']', i + 2);
      if (end === -1) {
        source += '\\[';
        continue;
      }
      let set = part.slice(i + 1, end);
      const negate = set.startsWith('!') || set.startsWith('^');
      if (negate) set = set.slice(1);
      source += `[${negate ? '^' : ''}${set.replace(/[\\\]^]/g, '\\$&')}]`;
      i = end;
    } else source += c.replace(/[.+^${}()|\\\]]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

/**
 * `a{b,c}d` as `abd` and `acd` (nested braces too); a brace without a comma is literal.
 * @param {string} pattern
 * @returns {string[]}
 */
export function expandBraces(pattern) {
  let depth = 0;
  let open = -1;
  /** @type {number[]} */
  let commas = [];
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '{') {
      if (depth++ === 0) {
        open = i;
        commas = [];
      }
    } else if (c === '}' && depth > 0) {
      if (--depth === 0 && commas.length > 0) {
        const head = pattern.slice(0, open);
        const tail = pattern.slice(i + 1);
        const cuts = [open, ...commas, i];
        return cuts
          .slice(1)
          .flatMap((cut, k) =>
            expandBraces(
              `${head}${pattern.slice(/** @type {number} */ (cuts[k]) + 1, cut)}${tail}`,
            ),
          );
      }
    } else if (c === ',' && depth === 1) commas.push(i);
  }
  return [pattern];
}
