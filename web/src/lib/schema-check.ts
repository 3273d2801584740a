/**
 * A small JSON Schema checker for the quality configuration editor: the keywords that schema
 * uses (type, properties, required, additionalProperties, items, enum, const, anyOf, oneOf,
 * allOf, min/max lengths and values, pattern, $ref within the document). The page's CSP
 * forbids eval, which rules out compiling validators in the browser; the server validates
 * again on save.
 */
type Schema = Record<string, unknown> | boolean;

export interface SchemaError {
  pointer: string;
  message: string;
}

const typeOf = (v: unknown): string =>
  v === null
    ? 'null'
    : Array.isArray(v)
      ? 'array'
      : typeof v === 'number' && Number.isInteger(v)
        ? 'integer'
        : typeof v;

function resolve(root: Schema, ref: string): Schema {
  if (!ref.startsWith('#')) return true;
  let node: unknown = root;
  for (const part of ref.slice(1).split('/').filter(Boolean)) {
    node = (node as Record<string, unknown> | undefined)?.[
      part.replace(/~1/g, '/').replace(/~0/g, '~')
    ];
  }
  return (node as Schema | undefined) ?? true;
}

export function checkSchema(root: Schema, value: unknown): SchemaError[] {
  const errors: SchemaError[] = [];
  const walk = (schema: Schema, v: unknown, ptr: string, out: SchemaError[]) => {
    if (schema === true) return;
    if (schema === false) {
      out.push({ pointer: ptr, message: 'is not allowed here' });
      return;
    }
    if (typeof schema.$ref === 'string') walk(resolve(root, schema.$ref), v, ptr, out);
    const t = typeOf(v);
    const types = schema.type === undefined ? null : ([] as unknown[]).concat(schema.type);
    if (types && !types.some((x) => x === t || (x === 'number' && t === 'integer'))) {
      out.push({ pointer: ptr, message: `should be ${types.join(' or ')}, not ${t}` });
      return;
    }
    if (
      Array.isArray(schema.enum) &&
      !schema.enum.some((e) => JSON.stringify(e) === JSON.stringify(v))
    )
      out.push({
        pointer: ptr,
        message: `should be one of ${schema.enum.map((e) => JSON.stringify(e)).join(', ')}`,
      });
    if ('const' in schema && JSON.stringify(schema.const) !== JSON.stringify(v))
      out.push({ pointer: ptr, message: `should be ${JSON.stringify(schema.const)}` });
    if (typeof v === 'string') {
      if (typeof schema.minLength === 'number' && v.length < schema.minLength)
        out.push({ pointer: ptr, message: `should have at least ${schema.minLength} characters` });
      if (typeof schema.maxLength === 'number' && v.length > schema.maxLength)
        out.push({ pointer: ptr, message: `should have at most ${schema.maxLength} characters` });
      if (typeof schema.pattern === 'string') {
        try {
          if (!new RegExp(schema.pattern, 'u').test(v))
            out.push({ pointer: ptr, message: `should match ${schema.pattern}` });
        } catch {
          // a pattern JavaScript cannot read is left to the server
        }
      }
    }
    if (typeof v === 'number') {
      if (typeof schema.minimum === 'number' && v < schema.minimum)
        out.push({ pointer: ptr, message: `should be at least ${schema.minimum}` });
      if (typeof schema.maximum === 'number' && v > schema.maximum)
        out.push({ pointer: ptr, message: `should be at most ${schema.maximum}` });
    }
    if (Array.isArray(v)) {
      if (typeof schema.maxItems === 'number' && v.length > schema.maxItems)
        out.push({ pointer: ptr, message: `should have at most ${schema.maxItems} items` });
      if (typeof schema.minItems === 'number' && v.length < schema.minItems)
        out.push({ pointer: ptr, message: `should have at least ${schema.minItems} items` });
      if (schema.items !== undefined && !Array.isArray(schema.items))
        v.forEach((item, i) => walk(schema.items as Schema, item, `${ptr}/${i}`, out));
    }
    if (t === 'object') {
      const obj = v as Record<string, unknown>;
      const props = (schema.properties ?? {}) as Record<string, Schema>;
      for (const key of (schema.required as string[] | undefined) ?? [])
        if (!(key in obj)) out.push({ pointer: ptr, message: `is missing "${key}"` });
      for (const [key, item] of Object.entries(obj)) {
        const p = `${ptr}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
        if (key in props) walk(props[key]!, item, p, out);
        else if (schema.additionalProperties === false)
          out.push({ pointer: p, message: `"${key}" is not a known field` });
        else if (typeof schema.additionalProperties === 'object')
          walk(schema.additionalProperties as Schema, item, p, out);
      }
    }
    for (const key of ['anyOf', 'oneOf'] as const) {
      const options = schema[key];
      if (!Array.isArray(options)) continue;
      const results = options.map((o) => {
        const e: SchemaError[] = [];
        walk(o as Schema, v, ptr, e);
        return e;
      });
      const passing = results.filter((e) => e.length === 0).length;
      if (passing === 0) {
        // The closest option's complaints say most.
        const best = results.reduce((a, b) => (b.length < a.length ? b : a));
        out.push(...best);
      } else if (key === 'oneOf' && passing > 1)
        out.push({ pointer: ptr, message: 'matches more than one allowed shape' });
    }
    if (Array.isArray(schema.allOf)) for (const s of schema.allOf) walk(s as Schema, v, ptr, out);
  };
  walk(root, value, '', errors);
  return errors;
}
