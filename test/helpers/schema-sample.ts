/** Builds a minimal valid value for a JSON schema, using `ids` for uuid-typed fields. */
export function sample(
  schema: Record<string, unknown> | undefined,
  pickId: (name: string) => string,
  name = '',
): unknown {
  if (schema === undefined) return undefined;
  if ('const' in schema) return schema['const'];
  const anyOf = (schema['anyOf'] ?? schema['oneOf']) as Record<string, unknown>[] | undefined;
  if (anyOf !== undefined) {
    // Prefer a low role where the union is of role names.
    const consts = anyOf.map((s) => s['const']).filter((c) => c !== undefined);
    if (consts.includes('viewer')) return 'viewer';
    return sample(anyOf[0], pickId, name);
  }
  if (Array.isArray(schema['enum'])) return (schema['enum'] as unknown[])[0];
  switch (schema['type']) {
    case 'object': {
      const out: Record<string, unknown> = {};
      const props = (schema['properties'] ?? {}) as Record<string, Record<string, unknown>>;
      for (const key of (schema['required'] ?? []) as string[])
        out[key] = sample(props[key], pickId, key);
      // Fill optional fields too where the schema wants more than the required ones.
      const min = (schema['minProperties'] as number | undefined) ?? 0;
      for (const key of Object.keys(props)) {
        if (Object.keys(out).length >= min) break;
        out[key] ??= sample(props[key], pickId, key);
      }
      return out;
    }
    case 'array':
      return [];
    case 'integer':
    case 'number':
      return schema['minimum'] ?? 1;
    case 'boolean':
      return false;
    case 'string': {
      if (schema['format'] === 'uuid') return pickId(name);
      if (schema['format'] === 'email') return 'someone@example.test';
      if (schema['format'] === 'date-time') return new Date(Date.now() + 86_400_000).toISOString();
      const min = (schema['minLength'] as number | undefined) ?? 1;
      return 'a'.repeat(Math.max(min, 3));
    }
    default:
      return null;
  }
}
