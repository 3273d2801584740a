import { Validator, type OutputUnit } from '@cfworker/json-schema';

export interface SchemaError {
  /** JSON Pointer of the offending value ('' for the document itself). */
  pointer: string;
  message: string;
}

// Keywords that only say "something inside did not match": the errors inside say what.
const WRAPPERS = new Set([
  'properties',
  'items',
  'prefixItems',
  'allOf',
  '$ref',
  'additionalItems',
]);

const pointerOf = (e: OutputUnit) => e.instanceLocation.replace(/^#/, '');

function messageOf(e: OutputUnit): string {
  if (e.keyword === 'additionalProperties') {
    const field = /^Property "(.*)" does not match/.exec(e.error)?.[1];
    if (field !== undefined) return `has an unknown field "${field}"`;
  }
  return e.error;
}

/**
 * Checks a value against the served JSON Schema with @cfworker/json-schema, a validator
 * that interprets the schema instead of compiling code: the page's CSP forbids eval, which
 * rules out Ajv in the browser. The server validates again on save. Its output is made
 * readable: wrappers and the `false` schema of an unknown field are dropped, and a value
 * outside a list of constants is one message naming the allowed values.
 */
export function checkSchema(schema: Record<string, unknown>, value: unknown): SchemaError[] {
  const result = new Validator(schema, '7', false).validate(value);
  if (result.valid) return [];
  const units = result.errors.filter((e) => !WRAPPERS.has(e.keyword) && e.keyword !== 'false');
  const out: SchemaError[] = [];
  const seen = new Set<string>();
  const add = (pointer: string, message: string) => {
    const key = `${pointer}\n${message}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push({ pointer, message });
  };
  for (const e of units) {
    const pointer = pointerOf(e);
    const here = units.filter((u) => pointerOf(u) === pointer);
    const consts = here.filter((u) => u.keyword === 'const');
    if (e.keyword === 'anyOf' || e.keyword === 'oneOf') {
      if (consts.length > 0) {
        const allowed = consts.map((u) => /does not match (.*)\.$/.exec(u.error)?.[1] ?? '?');
        add(
          pointer,
          `${JSON.stringify(valueAt(value, pointer))} is not allowed; use one of ${allowed.join(', ')}`,
        );
      } else if (!units.some((u) => u !== e && pointerOf(u).startsWith(pointer))) {
        add(pointer, messageOf(e));
      }
      continue;
    }
    if (e.keyword === 'const' && here.some((u) => u.keyword === 'anyOf' || u.keyword === 'oneOf'))
      continue;
    add(pointer, messageOf(e));
  }
  return out.length > 0
    ? out
    : result.errors.map((e) => ({ pointer: pointerOf(e), message: e.error }));
}

function valueAt(root: unknown, pointer: string): unknown {
  let node = root;
  for (const part of pointer.split('/').slice(1)) {
    const key = decodeURIComponent(part).replace(/~1/g, '/').replace(/~0/g, '~');
    node = (node as Record<string, unknown> | undefined)?.[key];
  }
  return node;
}
